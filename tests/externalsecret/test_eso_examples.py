"""ESO's own documentation examples apply unchanged (only the server address differs) and validate against our
CRD schemas, which carry no server-side defaults (ESO#6797)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import jsonschema
import pytest
import yaml

from tests.externalsecret.harness import ESO, eventually, ready, start, unb64
from tests.fakekube import FakeKube

HERE = Path(__file__).parent
CRDS = HERE.parents[1] / "deploy" / "crds" / "external-secrets"
PLURALS = {"ExternalSecret": "externalsecrets", "SecretStore": "secretstores",
           "ClusterSecretStore": "clustersecretstores", "ClusterExternalSecret": "clusterexternalsecrets",
           "PushSecret": "pushsecrets"}


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _crds() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        out[crd["spec"]["names"]["kind"]] = crd
    return out


def _schema(crd: dict[str, Any]) -> dict[str, Any]:
    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: clean(v) for k, v in node.items() if not k.startswith("x-kubernetes") and k != "nullable"}
            if node.get("x-kubernetes-int-or-string"):
                out["type"] = ["integer", "string"]
            return out
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return clean(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def test_crds_have_eso_names_and_no_defaults() -> None:
    crds = _crds()
    assert set(crds) == set(PLURALS)
    for kind, crd in crds.items():
        spec = crd["spec"]
        assert spec["group"] == "external-secrets.io" and spec["names"]["plural"] == PLURALS[kind]
        assert spec["versions"][0]["name"] == ("v1alpha1" if kind == "PushSecret" else "v1")
        assert "external-secrets" in spec["names"]["categories"]
        assert crd["metadata"]["labels"]["external-secrets.io/component"] == "controller"
        assert not [k for k, _ in _walk(spec["versions"]) if k == "default"], kind
        if kind != "PushSecret":  # v1beta1 still served (ESO#4840): same schema, not stored, deprecated
            v1, beta = spec["versions"]
            assert (beta["name"], beta["served"], beta["storage"], beta["deprecated"]) == ("v1beta1", True, False, True)
            assert beta["schema"] == v1["schema"] and spec["conversion"] == {"strategy": "None"}
    assert crds["ClusterSecretStore"]["spec"]["scope"] == "Cluster"
    es_cols = [c["name"] for c in crds["ExternalSecret"]["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert es_cols == ["StoreType", "Store", "Refresh Interval", "Status", "Ready", "Last Sync"]


def _examples() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((HERE / "manifests" / "eso-vault-examples.yaml").read_text()) if d]


def test_examples_validate_against_crd_schemas() -> None:
    crds = _crds()
    for doc in _examples():
        if doc["kind"] in crds:
            jsonschema.validate(doc, _schema(crds[doc["kind"]]))
    bad = {"apiVersion": f"{ESO}/v1", "kind": "ExternalSecret", "metadata": {"name": "x"},
           "spec": {"target": {"creationPolicy": "Sometimes"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema(crds["ExternalSecret"]))


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def test_eso_vault_examples_sync_against_strongroom(fake: FakeKube, fresh_server: Any) -> None:
    client = hvac.Client(url=fresh_server.addr, token="root")
    client.secrets.kv.v2.create_or_update_secret("foo", secret={"my-value": "s3cr3t"}, mount_point="secret")
    client.secrets.kv.v2.update_metadata("foo", custom_metadata={"dev": "Alice"}, mount_point="secret")
    client.secrets.kv.v2.create_or_update_secret("nested", secret={"foo": {"nested": {"bar": "mysecret",
                                                                                      "baz": "bang"}}},
                                                 mount_point="secret")

    async def scenario() -> None:
        op = await start(fake)
        try:
            for doc in _examples():
                doc["metadata"]["namespace"] = "default"  # kubectl apply -n default
                if doc["kind"] == "SecretStore":
                    doc["spec"]["provider"]["vault"]["server"] = fresh_server.addr
                plural = PLURALS.get(doc["kind"], "secrets")
                fake.put(plural, doc, group=ESO if doc["kind"] in PLURALS else "")
            sync = await eventually(lambda: fake.get("secrets", "example-sync", "default"), what="example-sync")
            data = {k: unb64(v) for k, v in sync["data"].items()}
            assert data["foobar"] == "s3cr3t" and data["developer"] == "Alice"
            assert json.loads(data["tags"])["dev"] == "Alice"
            every = await eventually(lambda: fake.get("secrets", "example-sync-all", "default"), what="all")
            assert {k: unb64(v) for k, v in every["data"].items()} == {"my-value": "s3cr3t"}
            nested = await eventually(lambda: fake.get("secrets", "example-sync-nested", "default"), what="nested")
            assert unb64(nested["data"]["foobar"]) == "mysecret"
            assert json.loads(unb64(nested["data"]["nested-map"])) == {"bar": "mysecret", "baz": "bang"}
            tpl = await eventually(lambda: fake.get("secrets", "example-templated", "default"), what="template")
            assert tpl["type"] == "kubernetes.io/dockerconfigjson"
            auth = json.loads(unb64(tpl["data"][".dockerconfigjson"]))["auths"]["registry.example.com"]["auth"]
            assert base64.b64decode(auth) == b"robot:s3cr3t"
            for name in ("vault-example", "vault-example-all", "vault-example-nested", "vault-example-template"):
                cond = await eventually(lambda name=name: ready(fake, name, "default"), what=f"{name} status")
                assert cond["reason"] == "SecretSynced"
        finally:
            await op.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
