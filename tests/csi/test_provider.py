"""The CSI provider as the Secrets Store CSI Driver drives it: gRPC over a unix socket, the driver's Mount
requests (SecretProviderClass parameters + pod info + the service-account token from tokenRequests), against a
real Strongroom server with Kubernetes auth backed by a TokenReview server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import hvac
import pytest
import yaml

from strongroom.csi._proto import csi_provider_pb2 as pb2
from strongroom.csi._proto import csi_provider_pb2_grpc as pb2_grpc
from strongroom.csi.server import ProviderServer
from tests.auth import kubeapi
from tests.harness import STRONGROOM, Server, strongroom_server

AUD = "strongroom"
POLICY = 'path "secret/data/app/*" { capabilities = ["read"] }'


@pytest.fixture(scope="module")
def kube() -> Iterator[kubeapi.KubeAPI]:
    k = kubeapi.start()
    yield k
    k.close()


@pytest.fixture(scope="module")
def store(kube: kubeapi.KubeAPI) -> Iterator[tuple[Server, hvac.Client]]:
    with strongroom_server() as s:
        root = hvac.Client(url=s.addr, token=s.root_token)
        root.sys.enable_auth_method("kubernetes")
        root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem,
                                       token_reviewer_jwt=kube.reviewer_jwt)
        root.sys.create_or_update_policy("app", POLICY)
        root.auth.kubernetes.create_role("app", ["app"], ["prod"], policies=["app"], audience=AUD, ttl="1h")
        kube.cluster.add_sa("prod", "app")
        kube.cluster.add_pod("prod", "app-0")
        root.secrets.kv.v2.create_or_update_secret("app/db", secret={"username": "dbuser", "password": "pw-one",
                                                                     "cert": base64.b64encode(b"\x00\x01bin").decode()},
                                                   mount_point="secret")
        yield s, root


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[tuple[ProviderServer, pb2_grpc.CSIDriverProviderStub]]:
    sock = str(tmp_path_factory.mktemp("providers") / "strongroom.sock")
    server = ProviderServer(sock)
    server.start()
    channel = grpc.insecure_channel(f"unix://{sock}")
    yield server, pb2_grpc.CSIDriverProviderStub(channel)
    channel.close()
    server.stop()


OBJECTS = [{"objectName": "db-password", "secretPath": "secret/data/app/db", "secretKey": "password"},
           {"objectName": "conf/db.json", "secretPath": "secret/data/app/db", "filePermission": "0600"},
           {"objectName": "tls.bin", "secretPath": "secret/data/app/db", "secretKey": "cert", "encoding": "base64"}]


def request(kube: kubeapi.KubeAPI, addr: str, *, objects: list[dict[str, Any]] | None = None,
            current: list[pb2.ObjectVersion] | None = None, token: str | None = None, **params: str
            ) -> pb2.MountRequest:
    """What the driver sends: parameters + csi.storage.k8s.io/* keys, nodePublishSecretRef data, mode 0644."""
    jwt = token if token is not None else kube.cluster.token("prod", "app", aud=[AUD], pod="app-0")
    attrs = {"roleName": "app", "strongroomAddress": addr, "objects": yaml.safe_dump(objects or OBJECTS),
             "csi.storage.k8s.io/pod.name": "app-0", "csi.storage.k8s.io/pod.namespace": "prod",
             "csi.storage.k8s.io/pod.uid": str(uuid.uuid4()), "csi.storage.k8s.io/serviceAccount.name": "app",
             "csi.storage.k8s.io/ephemeral": "false", "secretProviderClass": "app-secrets", **params}
    if jwt:
        attrs["csi.storage.k8s.io/serviceAccount.tokens"] = json.dumps(
            {AUD: {"token": jwt, "expirationTimestamp": "2030-01-01T00:00:00Z"}})
    return pb2.MountRequest(attributes=json.dumps(attrs), secrets="{}", target_path="/var/lib/kubelet/pods/x/vol",
                            permission="420", current_object_version=current or [])


def test_version(provider) -> None:
    _, stub = provider
    v = stub.Version(pb2.VersionRequest(version="v1.4.0"))
    assert v.version == "v1alpha1" and v.runtime_name == "strongroom" and v.runtime_version


def test_mount_returns_files_and_versions(provider, store, kube) -> None:
    _, stub = provider
    resp = stub.Mount(request(kube, store[0].addr))
    files = {f.path: f for f in resp.files}
    assert files["db-password"].contents == b"pw-one" and files["db-password"].mode == 0o644
    assert json.loads(files["conf/db.json"].contents)["username"] == "dbuser" and files["conf/db.json"].mode == 0o600
    assert files["tls.bin"].contents == b"\x00\x01bin"
    assert {(o.id, o.version) for o in resp.object_version} == {("db-password", "1"), ("conf/db.json", "1"),
                                                                ("tls.bin", "1")}


def test_rotation_returns_new_versions_and_reuses_the_token(provider, store, kube) -> None:
    server, stub = provider
    srv, root = store
    jwt = kube.cluster.token("prod", "app", aud=[AUD], pod="app-0")  # the driver resends the same pod token
    first = stub.Mount(request(kube, srv.addr, token=jwt))
    logins = server.service.tokens.logins
    root.secrets.kv.v2.create_or_update_secret("app/db", secret={"username": "dbuser", "password": "pw-two",
                                                                 "cert": base64.b64encode(b"x").decode()},
                                               mount_point="secret")
    second = stub.Mount(request(kube, srv.addr, current=list(first.object_version), token=jwt))
    assert {f.path: f.contents for f in second.files}["db-password"] == b"pw-two"
    old = {o.id: o.version for o in first.object_version}
    new = {o.id: o.version for o in second.object_version}
    assert all(new[k] != old[k] for k in old)
    third = stub.Mount(request(kube, srv.addr, current=list(second.object_version), token=jwt))
    assert {o.id: o.version for o in third.object_version} == new  # nothing changed, same versions
    assert server.service.tokens.logins == logins  # same pod token: the store token is reused, no re-login


def _abort(stub, req: pb2.MountRequest) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        stub.Mount(req)
    return info.value


@pytest.mark.parametrize(("change", "code", "want"), [
    ({"roleName": ""}, grpc.StatusCode.INVALID_ARGUMENT, "roleName is required"),
    ({"objects": "not: [valid"}, grpc.StatusCode.INVALID_ARGUMENT, "objects is not valid YAML"),
    ({"objects": yaml.safe_dump([{"objectName": "../etc/passwd", "secretPath": "secret/data/app/db"}])},
     grpc.StatusCode.INVALID_ARGUMENT, "without '..'"),
    ({"objects": yaml.safe_dump([{"objectName": "x", "secretPath": "secret/data/app/nope"}])},
     grpc.StatusCode.NOT_FOUND, "no secret at secret/data/app/nope"),
    ({"objects": yaml.safe_dump([{"objectName": "x", "secretPath": "secret/data/app/db", "secretKey": "zz"}])},
     grpc.StatusCode.NOT_FOUND, "key zz not found"),
    ({"objects": yaml.safe_dump([{"objectName": "x", "secretPath": "secret/data/other"}])},
     grpc.StatusCode.PERMISSION_DENIED, "permission denied reading secret/data/other"),
    ({"roleName": "nobody"}, grpc.StatusCode.PERMISSION_DENIED, "login denied for role nobody"),
    ({"audience": "vault"}, grpc.StatusCode.INVALID_ARGUMENT, "no service-account token for audience"),
])
def test_errors_are_clear_and_leak_nothing(provider, store, kube, change: dict[str, str], code, want: str) -> None:
    _, stub = provider
    req = request(kube, store[0].addr)
    attrs = json.loads(req.attributes)
    attrs.update(change)
    req.attributes = json.dumps(attrs)
    err = _abort(stub, req)
    assert err.code() == code and want in err.details()
    assert "pw-" not in err.details() and "eyJ" not in err.details()  # no secret value, no JWT


def test_no_token_from_driver(provider, store, kube) -> None:
    err = _abort(provider[1], request(kube, store[0].addr, token=""))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "tokenRequests" in err.details()


def test_store_unreachable(provider, kube) -> None:
    err = _abort(provider[1], request(kube, "http://127.0.0.1:9"))
    assert err.code() == grpc.StatusCode.UNAVAILABLE and "unreachable" in err.details()


def test_vault_parameter_names_work(provider, store, kube) -> None:
    req = request(kube, "")
    attrs = json.loads(req.attributes)
    attrs.pop("strongroomAddress")
    attrs.update(vaultAddress=store[0].addr, vaultKubernetesMountPath="kubernetes")
    req.attributes = json.dumps(attrs)
    assert len(provider[1].Mount(req).files) == 3


def test_cli_serves_on_a_unix_socket(tmp_path) -> None:
    sock = str(tmp_path / "strongroom.sock")
    proc = subprocess.Popen([STRONGROOM, "csi-provider", "--endpoint", sock], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(sock):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        with grpc.insecure_channel(f"unix://{sock}") as ch:
            v = pb2_grpc.CSIDriverProviderStub(ch).Version(pb2.VersionRequest(version="v1.4.0"), timeout=10)
        assert v.runtime_name == "strongroom"
    finally:
        proc.terminate()
        proc.wait(10)
    assert not os.path.exists(sock)  # cleaned up on SIGTERM
