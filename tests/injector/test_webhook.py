"""The injector as the API server sees it: `strongroom injector serve` over TLS (a self-signed certificate made
here with strongroom.crypto), real AdmissionReview v1 requests, and the returned JSON patch applied with an
independent RFC 6902 implementation (jsonpatch)."""

from __future__ import annotations

import base64
import copy
import json
import os
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonpatch
import pytest
from click.testing import CliRunner

from strongroom.cli.injector import cli
from strongroom.crypto import _primitives as prim
from strongroom.injector.app import review
from strongroom.injector.mutate import InjectorConfig
from tests.harness import STRONGROOM
from tests.services import free_port

SA_MOUNT = {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": True}


def pod(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "prod", **({"annotations": annotations} if annotations else {})},
            "spec": {"serviceAccountName": "web",
                     "containers": [{"name": "app", "image": "nginx", "volumeMounts": [dict(SA_MOUNT)]}],
                     "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": []}}], **spec}}


def admission(obj: dict[str, Any], *, kind: str = "Pod", operation: str = "CREATE") -> dict[str, Any]:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": kind},
                        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "prod",
                        "operation": operation, "userInfo": {"username": "system:serviceaccount:kube-system:rs"},
                        "object": obj, "oldObject": None, "dryRun": False}}


ANN = {"strongroom.io/agent-inject": "true", "strongroom.io/role": "web",
       "strongroom.io/agent-inject-secret-db.json": "secret/data/db",
       "strongroom.io/agent-inject-template-config.env":
           '{{ with secret "secret/data/app" }}KEY={{ .Data.data.key }}{{ end }}',
       "strongroom.io/agent-inject-perms-config.env": "0440"}


class Webhook:
    def __init__(self, tmp: str, *extra: str) -> None:
        key = prim.generate_asymmetric("ecdsa-p256")
        cert = prim.self_signed_certificate(key, "strongroom-injector", dns_names=["localhost"],
                                            ip_addresses=["127.0.0.1"], days=1)
        self.ca = os.path.join(tmp, "tls.crt")
        with open(self.ca, "wb") as f:
            f.write(prim.certificate_to_pem(cert))
        keyfile = os.path.join(tmp, "tls.key")
        with open(keyfile, "wb") as f:
            f.write(prim.private_key_to_pem(key))
        self.port = free_port()
        self.proc = subprocess.Popen([STRONGROOM, "injector", "serve", "--listen", f"127.0.0.1:{self.port}",
                                      "--tls-cert", self.ca, "--tls-key", keyfile, "--agent-image", "sr:test",
                                      "--store-address", "https://store:8200", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=f"https://127.0.0.1:{self.port}", timeout=10,
                                   verify=ssl.create_default_context(cafile=self.ca))
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.proc.stdout.read().decode() if self.proc.stdout else "") from None
                time.sleep(0.1)

    def mutate(self, body: Any) -> httpx.Response:
        return self.client.post("/mutate", json=body)

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def hook(tmp_path_factory) -> Iterator[Webhook]:
    w = Webhook(str(tmp_path_factory.mktemp("tls")))
    yield w
    w.close()


def apply(obj: dict[str, Any], resp: dict[str, Any]) -> dict[str, Any]:
    assert resp["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(resp["patch"]))
    return jsonpatch.apply_patch(copy.deepcopy(obj), ops)


def test_plain_http_is_refused(hook: Webhook) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{hook.port}/healthz", timeout=5)


def test_annotated_pod_gets_init_sidecar_and_memory_volume(hook: Webhook) -> None:
    p = pod(ANN)
    req = admission(p)
    r = hook.mutate(req)
    assert r.status_code == 200
    out = r.json()
    assert out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview"
    resp = out["response"]
    assert resp["uid"] == req["request"]["uid"] and resp["allowed"] is True
    m = apply(p, resp)
    vols = {v["name"]: v for v in m["spec"]["volumes"]}
    assert vols["strongroom-secrets"] == {"name": "strongroom-secrets", "emptyDir": {"medium": "Memory"}}
    assert vols["strongroom-agent-cache"]["emptyDir"] == {"medium": "Memory"}
    init = m["spec"]["initContainers"][0]
    side = m["spec"]["containers"][-1]
    assert init["name"] == "strongroom-agent-init" and "--once" in init["command"] and init["image"] == "sr:test"
    assert side["name"] == "strongroom-agent" and "--once" not in side["command"]
    app = m["spec"]["containers"][0]
    assert {"name": "strongroom-secrets", "mountPath": "/strongroom/secrets", "readOnly": True} in \
        app["volumeMounts"]
    assert "strongroom-agent-cache" not in json.dumps(app)  # the app never sees the agent's cache or token
    assert "strongroom-token" not in json.dumps(app)
    assert vols["strongroom-token"]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 3600
    for c in (init, side):
        assert {"name": "strongroom-token", "mountPath": "/var/run/secrets/strongroom", "readOnly": True} in \
            c["volumeMounts"]
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == ["ALL"]
        cfg = json.loads(c["env"][0]["value"])
        assert cfg["auth"] == {"method": "kubernetes", "role": "web", "mount": "kubernetes",
                               "jwt_path": "/var/run/secrets/strongroom/token"}
        assert cfg["address"] == "https://store:8200" and cfg["cache_dir"] == "/strongroom/cache"
        dests = {t["destination"]: t for t in cfg["templates"]}
        assert dests["/strongroom/secrets/config.env"]["perms"] == "0440"
        assert 'secret "secret/data/db"' in dests["/strongroom/secrets/db.json"]["contents"]
    assert json.loads(side["env"][0]["value"])["once"] is False
    assert m["metadata"]["annotations"]["strongroom.io/agent-inject-status"] == "injected"
    # the agent accepts the config the injector wrote
    from strongroom.agent.config import from_dict

    from_dict(json.loads(side["env"][0]["value"])).validate()
    # idempotent: a pod that was already injected is left alone
    again = hook.mutate(admission(m)).json()["response"]
    assert again["allowed"] is True and "patch" not in again


@pytest.mark.parametrize("p", [
    pod(),
    pod({"strongroom.io/agent-inject": "false", "strongroom.io/role": "web"}),
    pod({"vault.hashicorp.com/agent-inject": "true"}),
], ids=["no-annotations", "inject-false", "other-injector"])
def test_pods_that_do_not_ask_are_untouched(hook: Webhook, p: dict[str, Any]) -> None:
    resp = hook.mutate(admission(p)).json()["response"]
    assert resp["allowed"] is True and "patch" not in resp and "patchType" not in resp


def test_non_pod_and_update_are_untouched(hook: Webhook) -> None:
    assert "patch" not in hook.mutate(admission(pod(ANN), operation="UPDATE")).json()["response"]
    assert "patch" not in hook.mutate(admission({"kind": "ConfigMap"}, kind="ConfigMap")).json()["response"]


def test_pod_without_volumes_or_annotations_lists(hook: Webhook) -> None:
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": dict(ANN)},
         "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    p["metadata"]["annotations"]["strongroom.io/agent-inject-containers"] = "b"
    p["metadata"]["annotations"]["strongroom.io/agent-pre-populate-only"] = "true"
    m = apply(p, hook.mutate(admission(p)).json()["response"])
    names = [c["name"] for c in m["spec"]["containers"]]
    assert names == ["a", "b"]  # pre-populate-only: no sidecar
    assert "volumeMounts" not in m["spec"]["containers"][0]
    assert m["spec"]["containers"][1]["volumeMounts"][0]["name"] == "strongroom-secrets"
    assert [c["name"] for c in m["spec"]["initContainers"]] == ["strongroom-agent-init"]


@pytest.mark.parametrize(("ann", "want"), [
    ({"strongroom.io/role": ""}, "strongroom.io/role is required"),
    ({"strongroom.io/agent-inject-secret-../etc": "x"}, "file name must match"),
    ({"strongroom.io/agent-inject-perms-db.json": "rwx"}, "must be an octal mode"),
    ({"strongroom.io/agent-inject-containers": "nope"}, "unknown container(s): nope"),
    ({"strongroom.io/agent-pre-populate": "maybe"}, "must be true or false"),
])
def test_bad_annotations_deny_with_a_clear_message(hook: Webhook, ann: dict[str, str], want: str) -> None:
    resp = hook.mutate(admission(pod({**ANN, **ann}))).json()["response"]
    assert resp["allowed"] is False and resp["status"]["code"] == 400
    assert want in resp["status"]["message"]


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"kind": "AdmissionReview"}',
                                  b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}'])
def test_malformed_requests_get_400(hook: Webhook, body: bytes) -> None:
    r = hook.client.post("/mutate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "bad AdmissionReview" in r.json()["error"]


def test_routes(hook: Webhook) -> None:
    assert hook.client.get("/mutate").status_code == 405
    assert hook.client.get("/nope").status_code == 404
    assert hook.client.get("/metrics").json()["reviewed"] >= 1


def _broken_pod() -> dict[str, Any]:
    p = pod(ANN)
    p["spec"]["containers"] = 5  # never sent by a real API server: drives the handler's internal-error path
    return p


def test_internal_error_fails_open_over_https(hook: Webhook) -> None:
    out = hook.mutate(admission(_broken_pod())).json()["response"]
    assert out["allowed"] is True and "patch" not in out and "internal error" in out["warnings"][0]


def test_internal_error_fails_closed_when_configured() -> None:
    out = review(admission(_broken_pod()), InjectorConfig(), fail_open=False)["response"]
    assert out["allowed"] is False and out["status"]["code"] == 500 and "patch" not in out


def test_patch_preview_cli(tmp_path) -> None:
    f = tmp_path / "pod.yaml"
    import yaml

    f.write_text(yaml.safe_dump(pod(ANN)))
    out = CliRunner().invoke(cli, ["patch", str(f), "--format", "json"])
    assert out.exit_code == 0, out.output
    ops = json.loads(out.output)
    assert any(op["path"] == "/spec/initContainers/0" for op in ops)
    f.write_text(yaml.safe_dump(pod({**ANN, "strongroom.io/role": ""})))
    out = CliRunner().invoke(cli, ["patch", str(f)])
    assert out.exit_code == 1 and "would deny" in out.output


def test_ca_configmap_and_audience_are_projected_for_the_agent_only() -> None:
    p = pod({**ANN, "strongroom.io/auth-audience": "strongroom"})
    ops = review(admission(p), InjectorConfig(ca_configmap="strongroom-ca"), fail_open=False)["response"]
    m = apply(p, ops)
    sources = next(v for v in m["spec"]["volumes"] if v["name"] == "strongroom-token")["projected"]["sources"]
    assert sources[0]["serviceAccountToken"]["audience"] == "strongroom"
    assert sources[1]["configMap"] == {"name": "strongroom-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    side = m["spec"]["containers"][-1]
    assert json.loads(side["env"][0]["value"])["ca_cert"] == "/var/run/secrets/strongroom/ca.crt"


def test_name_clash_is_denied_clearly() -> None:
    p = pod(ANN)
    p["spec"]["volumes"].append({"name": "strongroom-secrets", "emptyDir": {}})
    out = review(admission(p), InjectorConfig(), fail_open=True)["response"]
    assert out["allowed"] is False and "already has strongroom-secrets" in out["status"]["message"]
