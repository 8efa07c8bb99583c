"""The aws provider against moto's server mode on loopback (a real AWS-compatible HTTP endpoint we did not write),
data written with boto3; driven directly and through the controller."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from strongroom.operator.externalsecret.providers.aws import AwsProvider
from strongroom.operator.externalsecret.providers.base import (
    NoSecretError,
    ProviderError,
    Ref,
    StoreConfigError,
    StoreContext,
)
from strongroom.operator.kube import Kube
from tests.externalsecret.harness import ESO, b64, es_obj, eventually, ready, start, store_obj, unb64
from tests.fakekube import FakeKube

REGION = "eu-central-1"
ENDPOINT_VARS = ("AWS_SECRETSMANAGER_ENDPOINT", "AWS_SSM_ENDPOINT", "AWS_STS_ENDPOINT")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the provider (ESO's endpoint variables) and boto3 at moto; isolate from any local AWS config."""
    for var in ENDPOINT_VARS:
        monkeypatch.setenv(var, moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_url


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


def _boto(url: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id="AKIATEST",
                        aws_secret_access_key="test")


def _ctx(kube: Any = None, ns: str = "app", **aws_spec: Any) -> StoreContext:
    spec = {"provider": {"aws": {"region": REGION, **aws_spec}}}
    return StoreContext("SecretStore", "store", ns, spec, kube)


async def _with(ctx: StoreContext, body: Any) -> Any:
    provider = AwsProvider(ctx)
    try:
        return await body(provider)
    finally:
        await provider.close()


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def test_secretsmanager_values_versions_properties_binary_and_tags(aws: str) -> None:
    sm, p = _boto(aws, "secretsmanager"), f"app-{_uid()}/"
    first = sm.create_secret(Name=p + "db", SecretString=json.dumps(
        {"user": "app", "password": "p4ss", "port": 5432, "nested": {"a": "b"}, "dot.key": "d"}),
        Tags=[{"Key": "owner", "Value": "team-a"}])
    sm.put_secret_value(SecretId=p + "db", SecretString=json.dumps({"user": "app", "password": "n3w"}))
    sm.create_secret(Name=p + "token", SecretString="t0k3n")
    sm.create_secret(Name=p + "blob", SecretBinary=b"\x00\x01\xffraw")

    async def body(aws_p: AwsProvider) -> None:
        await aws_p.validate()
        assert await aws_p.get_secret(Ref(p + "token")) == b"t0k3n"
        assert await aws_p.get_secret(Ref(p + "blob")) == b"\x00\x01\xffraw"
        assert await aws_p.get_secret(Ref(p + "db", "password")) == b"n3w"  # AWSCURRENT by default
        assert await aws_p.get_secret(Ref(p + "db", "password", "AWSPREVIOUS")) == b"p4ss"
        old = f"uuid/{first['VersionId']}"
        assert await aws_p.get_secret(Ref(p + "db", "nested.a", old)) == b"b"
        assert await aws_p.get_secret(Ref(p + "db", "nested", old)) == b'{"a":"b"}'
        assert await aws_p.get_secret(Ref(p + "db", "port", old)) == b"5432"
        assert await aws_p.get_secret(Ref(p + "db", "dot.key", old)) == b"d"
        assert await aws_p.get_secret_map(Ref(p + "db", version=old)) == {
            "user": b"app", "password": b"p4ss", "port": b"5432", "nested": b'{"a":"b"}', "dot.key": b"d"}
        assert await aws_p.get_secret_map(Ref(p + "db", "nested", old)) == {"a": b"b"}
        assert await aws_p.get_secret(Ref(p + "db", "owner", metadata_policy="Fetch")) == b"team-a"
        with pytest.raises(NoSecretError) as err:
            await aws_p.get_secret(Ref(p + "db", "missing"))
        assert "n3w" not in str(err.value)
        with pytest.raises(NoSecretError):
            await aws_p.get_secret(Ref(p + "nope"))
        with pytest.raises(NoSecretError):
            await aws_p.get_secret(Ref(p + "db", version="uuid/00000000-0000-0000-0000-000000000000"))
        with pytest.raises(NoSecretError):
            await aws_p.get_secret(Ref(p + "token", "x"))  # not JSON
        with pytest.raises(NoSecretError):
            await aws_p.get_secret_map(Ref(p + "token"))
        assert aws_p.sessions == 1  # one client for all reads

    _run(_with(_ctx(service="SecretsManager"), body))


def test_prefix_and_find_by_regexp_path_and_tags(aws: str) -> None:
    sm, p = _boto(aws, "secretsmanager"), f"find-{_uid()}/"
    sm.create_secret(Name=p + "svc/a", SecretString="A", Tags=[{"Key": "env", "Value": "prod"}])
    sm.create_secret(Name=p + "svc/b", SecretString="B", Tags=[{"Key": "env", "Value": "dev"}])
    sm.create_secret(Name=p + "other", SecretString="O", Tags=[{"Key": "env", "Value": "prod"}])
    gone = sm.create_secret(Name=p + "svc/gone", SecretString="G")
    sm.delete_secret(SecretId=gone["ARN"])

    async def body(aws_p: AwsProvider) -> None:
        assert await aws_p.get_secret(Ref("svc/a")) == b"A"  # prefix prepended
        assert await aws_p.find("svc/", "", {}) == {f"{p}svc/a".replace("/", "_"): b"A",
                                                   f"{p}svc/b".replace("/", "_"): b"B"}
        assert await aws_p.find("", "", {"env": "prod"}) == {f"{p}svc_a".replace("/", "_"): b"A",
                                                            f"{p}other".replace("/", "_"): b"O"}
        assert await aws_p.find("", r"/b$", {}) == {f"{p}svc_b".replace("/", "_"): b"B"}
        with pytest.raises(StoreConfigError):
            await aws_p.find("", "([", {})
        with pytest.raises(NoSecretError, match="marked for deletion"):
            await aws_p.get_secret(Ref("svc/gone"))

    _run(_with(_ctx(service="SecretsManager", prefix=p), body))


def test_parameterstore_decrypts_versions_properties_and_find(aws: str) -> None:
    ssm, p = _boto(aws, "ssm"), f"/ps-{_uid()}"
    ssm.put_parameter(Name=f"{p}/db", Value=json.dumps({"user": "u", "password": "v1"}), Type="SecureString",
                      Tags=[{"Key": "team", "Value": "a"}])
    ssm.put_parameter(Name=f"{p}/db", Value=json.dumps({"user": "u", "password": "v2"}), Type="SecureString",
                      Overwrite=True)
    ssm.put_parameter(Name=f"{p}/plain", Value="hello", Type="String")
    ssm.put_parameter(Name=f"{p}/list", Value="a,b", Type="StringList", Tags=[{"Key": "team", "Value": "a"}])

    async def body(aws_p: AwsProvider) -> None:
        await aws_p.validate()
        assert await aws_p.get_secret(Ref(f"{p}/plain")) == b"hello"
        assert await aws_p.get_secret(Ref(f"{p}/list")) == b"a,b"
        assert await aws_p.get_secret(Ref(f"{p}/db", "password")) == b"v2"  # decrypted SecureString
        assert await aws_p.get_secret(Ref(f"{p}/db", "password", "1")) == b"v1"
        assert await aws_p.get_secret_map(Ref(f"{p}/db")) == {"user": b"u", "password": b"v2"}
        assert await aws_p.get_secret(Ref(f"{p}/db", "team", metadata_policy="Fetch")) == b"a"
        with pytest.raises(NoSecretError):
            await aws_p.get_secret(Ref(f"{p}/nope"))
        with pytest.raises(NoSecretError):
            await aws_p.get_secret(Ref(f"{p}/db", version="9"))
        found = await aws_p.find(p, "", {})
        assert set(found) == {f"{p}/db".replace("/", "_"), f"{p}/plain".replace("/", "_"),
                              f"{p}/list".replace("/", "_")}
        assert json.loads(found[f"{p}/db".replace("/", "_")]) == {"user": "u", "password": "v2"}
        assert await aws_p.find(p, "plain$", {}) == {f"{p}/plain".replace("/", "_"): b"hello"}
        assert set(await aws_p.find(p, "", {"team": "a"})) == {f"{p}/db".replace("/", "_"),
                                                               f"{p}/list".replace("/", "_")}

    _run(_with(_ctx(service="ParameterStore"), body))


def test_secretref_credentials_and_assume_role_chain(aws: str, fake: FakeKube) -> None:
    fake.put("secrets", {"metadata": {"name": "awscreds", "namespace": "app"},
                         "data": {"id": b64("AKIAFROMSECRET"), "key": b64("from-secret"), "tok": b64("session")}})
    role = "arn:aws:iam::123456789012:role/reader"
    auth = {"secretRef": {"accessKeyIDSecretRef": {"name": "awscreds", "key": "id"},
                          "secretAccessKeySecretRef": {"name": "awscreds", "key": "key"},
                          "sessionTokenSecretRef": {"name": "awscreds", "key": "tok"}}}

    async def scenario() -> None:
        kube = Kube(fake.config("app"))
        try:
            async def body(aws_p: AwsProvider) -> None:
                arn = await aws_p.whoami()
                assert arn.endswith(":assumed-role/reader/strongroom-externalsecrets"), arn
                assert aws_p._boto.get_credentials().access_key != "AKIAFROMSECRET"

            await _with(_ctx(kube, service="SecretsManager", auth=auth, role=role, externalID="ext-1",
                             additionalRoles=["arn:aws:iam::123456789012:role/hop"],
                             sessionTags=[{"key": "team", "value": "a"}], transitiveTagKeys=["team"]), body)
            with pytest.raises(StoreConfigError, match="sessionTags"):
                AwsProvider(_ctx(kube, service="SecretsManager", role=role, sessionTags=[{"value": "x"}]))

            bad = {"secretRef": {"accessKeyIDSecretRef": {"name": "awscreds", "key": "missing"},
                                 "secretAccessKeySecretRef": {"name": "awscreds", "key": "key"}}}
            with pytest.raises(StoreConfigError) as err:
                await AwsProvider(_ctx(kube, service="SecretsManager", auth=bad)).validate()
            assert "from-secret" not in str(err.value) and "missing" in str(err.value)
        finally:
            await kube.close()

    _run(scenario())


def test_bad_config_and_unreachable_endpoint(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for spec, words in [({}, "service"), ({"service": "KMS"}, "service"),
                        ({"service": "SecretsManager", "auth": {"jwt": {"serviceAccountRef": {"name": "x"}}}},
                         "jwt"),
                        ({"service": "SecretsManager", "auth": {"secretRef": {}}}, "accessKeyIDSecretRef")]:
        with pytest.raises(StoreConfigError, match=words):
            p = AwsProvider(_ctx(**spec))
            _run(p.validate())
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(StoreConfigError, match="region"):
        AwsProvider(StoreContext("SecretStore", "s", "app", {"provider": {"aws": {"service": "ParameterStore"}}},
                                 None))  # type: ignore[arg-type]

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("AWS_SECRETSMANAGER_ENDPOINT", dead)
    with pytest.raises(ProviderError) as err:
        _run(_with(_ctx(service="SecretsManager"), lambda p: p.get_secret(Ref("x"))))
    assert not isinstance(err.value, NoSecretError)
    assert "operator-secret" not in str(err.value)


def test_end_to_end_externalsecret(aws: str, fake: FakeKube) -> None:
    sm, ssm, p = _boto(aws, "secretsmanager"), _boto(aws, "ssm"), f"e2e-{_uid()}"
    sm.create_secret(Name=f"{p}/db", SecretString=json.dumps({"user": "app", "password": "s3cr3t"}))
    ssm.put_parameter(Name=f"/{p}/api-key", Value="k3y", Type="SecureString")

    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "awscreds", "namespace": "app"},
                                 "data": {"id": b64("AKIAE2E"), "key": b64("e2e-secret")}})
            auth = {"secretRef": {"accessKeyIDSecretRef": {"name": "awscreds", "key": "id"},
                                  "secretAccessKeySecretRef": {"name": "awscreds", "key": "key"}}}
            fake.put("secretstores", store_obj("sm", provider={"aws": {
                "service": "SecretsManager", "region": REGION, "auth": auth}}), group=ESO)
            fake.put("secretstores", store_obj("ps", provider={"aws": {
                "service": "ParameterStore", "region": REGION, "auth": auth}}), group=ESO)
            fake.put("externalsecrets", es_obj("db", store="sm", dataFrom=[{"extract": {"key": f"{p}/db"}}],
                                               data=[{"secretKey": "pw", "remoteRef": {"key": f"{p}/db",
                                                                                        "property": "password"}}]),
                     group=ESO)
            fake.put("externalsecrets", es_obj("api", store="ps", data=[
                {"secretKey": "key", "remoteRef": {"key": f"/{p}/api-key"}}]), group=ESO)
            fake.put("externalsecrets", es_obj("missing", store="sm", data=[
                {"secretKey": "x", "remoteRef": {"key": f"{p}/absent"}}]), group=ESO)
            db = await eventually(lambda: fake.get("secrets", "db", "app"), what="db Secret")
            assert {k: unb64(v) for k, v in db["data"].items()} == {"user": "app", "password": "s3cr3t",
                                                                    "pw": "s3cr3t"}
            api = await eventually(lambda: fake.get("secrets", "api", "app"), what="api Secret")
            assert unb64(api["data"]["key"]) == "k3y"
            cond = await eventually(lambda: ready(fake, "db"), what="Ready")
            assert cond["reason"] == "SecretSynced"
            bad = await eventually(lambda: (c := ready(fake, "missing")) and c["status"] == "False" and c,
                                   what="missing Ready=False")
            assert bad["reason"] == "SecretSyncedError" and "s3cr3t" not in json.dumps(bad)
            store = await eventually(lambda: (fake.get("secretstores", "sm", "app", group=ESO) or {}).get(
                "status", {}).get("conditions"), what="store status")
            assert store[0]["reason"] == "Valid"
        finally:
            await op.stop()

    _run(scenario())


def test_concurrent_reads_of_one_key_cost_one_call(aws: str) -> None:
    sm, name = _boto(aws, "secretsmanager"), f"hot-{_uid()}"
    sm.create_secret(Name=name, SecretString=json.dumps({"a": "1", "b": "2"}))

    async def body(aws_p: AwsProvider) -> None:
        await aws_p.validate()
        refs = [Ref(name, "a"), Ref(name, "b"), Ref(name)] * 30
        values = await asyncio.gather(*(aws_p.get_secret(r) for r in refs))
        assert values[:3] == [b"1", b"2", b'{"a": "1", "b": "2"}']
        assert aws_p.calls == 1
        aws_p._cache.clear()
        sm.put_secret_value(SecretId=name, SecretString=json.dumps({"a": "9"}))
        assert await aws_p.get_secret(Ref(name, "a")) == b"9"  # a new read after the cache window
        assert aws_p.calls == 2

    _run(_with(_ctx(service="SecretsManager"), body))


@pytest.fixture(scope="module")
def moto_iam() -> Iterator[str]:
    """A separate moto_server process that enforces IAM auth (signatures, users, policies) after 4 setup calls."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_real_iam_auth_rotated_keys_and_access_denied(moto_iam: str, fake: FakeKube,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    iam, sm = _boto(moto_iam, "iam"), _boto(moto_iam, "secretsmanager")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    sm.create_secret(Name="app/db", SecretString="s3cr3t")  # the 4th unauthenticated call; IAM enforced from here
    for var in ENDPOINT_VARS:
        monkeypatch.setenv(var, moto_iam)
    secret = {"metadata": {"name": "awscreds", "namespace": "app"},
              "data": {"id": b64(key["AccessKeyId"]), "key": b64("wrong-secret-key")}}
    fake.put("secrets", secret)
    auth = {"secretRef": {"accessKeyIDSecretRef": {"name": "awscreds", "key": "id"},
                          "secretAccessKeySecretRef": {"name": "awscreds", "key": "key"}}}

    async def scenario() -> None:
        kube = Kube(fake.config("app"))
        try:
            async def body(aws_p: AwsProvider) -> None:
                with pytest.raises(ProviderError) as err:
                    await aws_p.get_secret(Ref("app/db"))
                assert not isinstance(err.value, NoSecretError)
                assert "wrong-secret-key" not in str(err.value) and key["SecretAccessKey"] not in str(err.value)
                fake.store.merge_patch(fake.resource("secrets"), "app", "awscreds",  # rotated: no store edit
                                       {"data": {"key": b64(key["SecretAccessKey"])}}, "test")
                assert await aws_p.get_secret(Ref("app/db")) == b"s3cr3t"
                assert aws_p.sessions == 2
                with pytest.raises(ProviderError) as err:  # least privilege: no ListSecrets for find
                    await aws_p.find("app/", "", {})
                assert "ListSecrets" in str(err.value) and not isinstance(err.value, NoSecretError)

            await _with(_ctx(kube, service="SecretsManager", auth=auth), body)
        finally:
            await kube.close()

    _run(scenario())
