"""PushSecret against a real Strongroom server: keys of a Kubernetes Secret land in KV v2 (read back with hvac)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import hvac
import pytest

from tests.externalsecret.harness import ESO, b64, eventually, start, store_obj
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _ps(name: str, source: str, data: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{ESO}/v1alpha1", "kind": "PushSecret", "metadata": {"name": name, "namespace": "app"},
            "spec": {"refreshInterval": "1h", "secretStoreRefs": [{"name": "store", "kind": "SecretStore"}],
                     "selector": {"secret": {"name": source}}, "data": data, **spec}}


def _cond(fake: FakeKube, name: str) -> dict[str, Any] | None:
    ps = fake.get("pushsecrets", name, "app", group=ESO) or {}
    return next((c for c in (ps.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)


def _read(client: hvac.Client, key: str) -> dict[str, Any] | None:
    try:
        return dict(client.secrets.kv.v2.read_secret_version(key, mount_point="secret",
                                                             raise_on_deleted_version=True)["data"]["data"])
    except hvac.exceptions.InvalidPath:
        return None


def test_push_update_protect_and_delete(fake: FakeKube, dev_server: Any) -> None:
    client = hvac.Client(url=dev_server.addr, token="root")
    base = f"push-{uuid.uuid4().hex[:6]}"
    client.secrets.kv.v2.create_or_update_secret(f"{base}-theirs", secret={"x": "keep"}, mount_point="secret")

    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "t", "namespace": "app"}, "data": {"token": b64("root")}})
            fake.put("secretstores", store_obj(provider={"vault": {"server": dev_server.addr, "path": "secret",
                                                                   "auth": {"tokenSecretRef": {"name": "t",
                                                                                               "key": "token"}}}}),
                     group=ESO)
            fake.put("secrets", {"metadata": {"name": "src", "namespace": "app"},
                                 "data": {"user": b64("app"), "pass": b64("p1")}})
            fake.put("pushsecrets", _ps("ps", "src", [
                {"match": {"secretKey": "pass", "remoteRef": {"remoteKey": f"{base}/db", "property": "password"}}},
                {"match": {"remoteRef": {"remoteKey": f"{base}/all"}}}], deletionPolicy="Delete"), group=ESO)
            await eventually(lambda: _read(client, f"{base}/db") == {"password": "p1"}, what="pushed property")
            await eventually(lambda: _read(client, f"{base}/all") == {"user": "app", "pass": "p1"}, what="whole")
            cond = await eventually(lambda: _cond(fake, "ps"), what="status")
            assert cond["reason"] == "Synced"
            src = fake.get("secrets", "src", "app")
            src["data"]["pass"] = b64("p2")
            fake.store.update(fake.resource("secrets"), "app", "src", src, "kubectl")
            await eventually(lambda: _read(client, f"{base}/db") == {"password": "p2"}, what="re-pushed")
            ps = fake.get("pushsecrets", "ps", "app", group=ESO)
            ps["spec"]["data"] = ps["spec"]["data"][:1]
            fake.store.update(fake.resource("pushsecrets", ESO), "app", "ps", ps, "kubectl")
            await eventually(lambda: _read(client, f"{base}/all") is None, what="deleted at the provider")
            fake.put("pushsecrets", _ps("bad", "src", [
                {"match": {"secretKey": "pass", "remoteRef": {"remoteKey": f"{base}-theirs", "property": "x"}}}]),
                group=ESO)
            cond = await eventually(lambda: _cond(fake, "bad"), what="refusal")
            assert cond["reason"] == "Errored" and "not managed by external-secrets" in cond["message"]
            assert _read(client, f"{base}-theirs") == {"x": "keep"}
        finally:
            await op.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
