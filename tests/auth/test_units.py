"""Backend-level tests (no server): JWT parsing and signatures, globs, selectors, token fields, and the
renew_login hooks that the core calls on token renewal."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from strongroom.auth import approle, kubernetes, userpass
from strongroom.auth.kubernetes import jwt as sajwt
from strongroom.auth.kubernetes.api import selector_matches
from strongroom.auth.kubernetes.path_role import glob_any
from strongroom.sdk import Auth, Connection, InvalidRequest, MemoryStorage, Operation, PermissionDenied, Request
from strongroom.sdk.errors import Unavailable
from strongroom.sdk.framework import BackendConfig, Field, FieldData
from strongroom.sdk.tokenfields import fill_auth, parse_token_fields, token_fields
from tests.auth import kubeapi
from tests.services import free_port


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


RS256 = b64(b'{"alg":"RS256"}')


def projected(ns: str = "prod", name: str = "app", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "https://kubernetes.default.svc", "aud": ["x"], "exp": now + 600, "iat": now, "nbf": now,
            "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": "u-1"}}, **extra}


def es256(key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]) -> str:
    h = b64(json.dumps({"alg": "ES256"}).encode())
    p = b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{h}.{p}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def pub_pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def parse(token: str, **kw: Any) -> tuple[dict[str, Any], sajwt.ServiceAccount]:
    args = {"pem_keys": [], "issuer": "", "check_issuer": False, "audience": ""} | kw
    return sajwt.parse(token, **args)


def test_es256_and_eddsa_signatures_with_pem_keys():
    key = ec.generate_private_key(ec.SECP256R1())
    token = es256(key, projected())
    _, sa = parse(token, pem_keys=[pub_pem(key)])
    assert (sa.namespace, sa.name, sa.uid) == ("prod", "app", "u-1")
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(PermissionDenied):
        parse(token, pem_keys=[pub_pem(other)])
    parse(token, pem_keys=[pub_pem(other), pub_pem(key)])  # any configured key may match
    ed = ed25519.Ed25519PrivateKey.generate()
    h, p = b64(b'{"alg":"EdDSA"}'), b64(json.dumps(projected()).encode())
    parse(f"{h}.{p}.{b64(ed.sign(f'{h}.{p}'.encode()))}", pem_keys=[pub_pem(ed)])
    with pytest.raises(PermissionDenied):  # alg confusion: an EC key does not verify an "RS256" header
        parse(f"{RS256}.{p}.{token.split('.')[2]}", pem_keys=[pub_pem(key)])


@pytest.mark.parametrize("header", [{"alg": "none"}, {"alg": "HS256"}, {}, []])
def test_disallowed_algorithms(header):
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(projected()).encode())}.c2ln"
    with pytest.raises(PermissionDenied):
        parse(token)


def test_claim_checks():
    def tok(claims: dict[str, Any]) -> str:
        return f"{RS256}.{b64(json.dumps(claims).encode())}.c2ln"

    parse(tok(projected()))
    for bad in (projected(exp=int(time.time()) - 3600), projected(nbf=int(time.time()) + 3600),
                projected(exp="soon"), {"sub": "x"}, projected(ns=""), projected(ns="../../api"),
                projected(ns="a?labelSelector=x"), projected(name="a/b"), projected(name="A"),
                projected(ns="x" * 64)):
        with pytest.raises(PermissionDenied):
            parse(tok(bad))
    with pytest.raises(PermissionDenied):
        parse(tok(projected()), audience="y")
    parse(tok(projected(aud="y")), audience="y")
    with pytest.raises(PermissionDenied):
        parse(tok(projected()), check_issuer=True, issuer="https://other")
    parse(tok(projected()), check_issuer=True, issuer="https://kubernetes.default.svc")


@given(st.text(max_size=30))
def test_garbage_jwts_are_denied_never_crash(text):
    with pytest.raises(PermissionDenied):
        parse(text + ".." if text.count(".") != 2 else text + "!")


def test_globs_are_go_glob():
    assert glob_any(["*"], "anything")
    assert glob_any(["web-*"], "web-1") and not glob_any(["web-*"], "api-1")
    assert glob_any(["*-prod"], "team-prod") and glob_any(["a*b*c"], "a-x-b-y-c")
    assert not glob_any(["web-?"], "web-1")  # only '*' is special
    assert glob_any(["web-?"], "web-?") and glob_any(["a.b"], "a.b") and not glob_any(["a.b"], "axb")


def test_label_selector():
    labels = {"team": "blue", "env": "prod"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchLabels": {"team": "blue"}}, labels)
    assert not selector_matches({"matchLabels": {"team": "red"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
                                labels)
    assert selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)


def test_token_fields_and_deprecated_aliases():
    schema = {"name": Field(), **token_fields(("policies", "period"))}
    stored = parse_token_fields(FieldData({"policies": "B,a", "period": "1h", "token_ttl": "5m"}, schema), {},
                                create=True)
    assert stored["token_policies"] == ["a", "b"] and stored["token_period"] == 3600
    auth = fill_auth(stored)
    assert (auth.ttl, auth.period, auth.token_policies) == (300, 3600, ["a", "b"])
    with pytest.raises(InvalidRequest, match="cannot both"):
        parse_token_fields(FieldData({"policies": "a", "token_policies": "b"}, schema), {}, create=True)
    kept = parse_token_fields(FieldData({"token_num_uses": 3}, schema), stored, create=False)
    assert kept["token_policies"] == ["a", "b"] and kept["token_num_uses"] == 3


# --- renew_login hooks, as the core will call them ----------------------------------------------------------

def backend(factory: Any, storage: MemoryStorage) -> Any:
    return factory(BackendConfig(storage=storage, mount_path="auth/x/", mount_type="x"))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_userpass_renew_hook():
    async def go() -> None:
        b = backend(userpass.factory, MemoryStorage())
        await b.handle(Request(Operation.UPDATE, "users/amy", {"password": "pw", "token_policies": "a",
                                                                 "token_ttl": 60}))
        resp = await b.handle(Request(Operation.UPDATE, "login/amy", {"password": "pw"}))
        auth = resp.auth
        auth.ttl = 5
        renewed = await b.renew_login(Request(Operation.RENEW, "login"), auth)
        assert renewed.ttl == 60
        await b.handle(Request(Operation.UPDATE, "users/amy/policies", {"token_policies": "a,b"}))
        with pytest.raises(PermissionDenied, match="policies have changed"):
            await b.renew_login(Request(Operation.RENEW, "login"), auth)
        await b.handle(Request(Operation.DELETE, "users/amy"))
        with pytest.raises(PermissionDenied):
            await b.renew_login(Request(Operation.RENEW, "login"), auth)
    run(go())


def test_approle_renew_hook():
    async def go() -> None:
        b = backend(approle.factory, MemoryStorage())
        await b.handle(Request(Operation.CREATE, "role/r", {"token_ttl": 60, "token_period": 0}))
        with pytest.raises(PermissionDenied):
            await b.renew_login(Request(Operation.RENEW, "login"), Auth(internal={"role_name": "gone"}))
        renewed = await b.renew_login(Request(Operation.RENEW, "login"), Auth(internal={"role_name": "r"}))
        assert renewed.ttl == 60
    run(go())


@pytest.fixture(scope="module")
def kube_api():
    api = kubeapi.start()
    yield api
    api.close()


def test_kubernetes_renew_hook_rechecks_the_workload(kube_api):
    uid = kube_api.cluster.add_sa("prod", "renewer")
    pod_uid = kube_api.cluster.add_pod("prod", "renewer-pod")

    async def go() -> None:
        b = backend(kubernetes.factory, MemoryStorage())
        await b.handle(Request(Operation.UPDATE, "config", {
            "kubernetes_host": kube_api.url, "kubernetes_ca_cert": kube_api.ca_pem,
            "token_reviewer_jwt": kube_api.reviewer_jwt}))
        await b.handle(Request(Operation.UPDATE, "role/r", {
            "bound_service_account_names": "renewer", "bound_service_account_namespaces": "prod", "ttl": 90}))
        jwt = kube_api.cluster.token("prod", "renewer", pod="renewer-pod")
        resp = await b.handle(Request(Operation.UPDATE, "login", {"role": "r", "jwt": jwt},
                                      connection=Connection("127.0.0.1")))
        auth = resp.auth
        assert auth.internal == {"role": "r", "namespace": "prod", "name": "renewer", "uid": uid,
                                 "pod_name": "renewer-pod", "pod_uid": pod_uid}
        assert (await b.renew_login(Request(Operation.RENEW, "login"), auth)).ttl == 90
        with kube_api.cluster.lock:
            del kube_api.cluster.pods[("prod", "renewer-pod")]
        with pytest.raises(PermissionDenied, match="pod"):
            await b.renew_login(Request(Operation.RENEW, "login"), auth)
        kube_api.cluster.add_pod("prod", "renewer-pod")  # same name, new pod: still not the token's pod
        with pytest.raises(PermissionDenied, match="pod"):
            await b.renew_login(Request(Operation.RENEW, "login"), auth)
        auth.internal["pod_name"] = ""
        with kube_api.cluster.lock:
            del kube_api.cluster.service_accounts[("prod", "renewer")]
        with pytest.raises(PermissionDenied, match="service account"):
            await b.renew_login(Request(Operation.RENEW, "login"), auth)
        # an unreachable API fails the renewal without claiming the workload is gone
        await b.handle(Request(Operation.UPDATE, "config", {"kubernetes_host": f"https://127.0.0.1:{free_port()}"}))
        with pytest.raises(Unavailable):
            await b.renew_login(Request(Operation.RENEW, "login"), auth)
        await b.clean()
    run(go())
