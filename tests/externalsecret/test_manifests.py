"""deploy/operator/rbac-externalsecrets.yaml: no wildcards, and every API call an end-to-end run of the
ExternalSecret controller and the reloader makes is allowed by exactly those rules."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from strongroom.operator.reloader import install as install_reloader
from tests.externalsecret.harness import ESO, b64, es_obj, eventually, ready, start, store_obj
from tests.fakekube import FakeKube
from tests.operator.test_manifests import _request_to_attrs

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "operator" / "rbac-externalsecrets.yaml"


def _rules() -> list[dict[str, Any]]:
    return [r for d in yaml.safe_load_all(RBAC.read_text()) if d and d["kind"] == "ClusterRole" for r in d["rules"]]


def _allowed(verb: str, group: str, resource: str, _ns: str | None, _name: str | None) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in _rules())


def test_rbac_has_no_wildcards() -> None:
    for rule in _rules():
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field]


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def test_every_call_is_allowed_by_rbac(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        install_reloader(op.runtime)  # informers start with the next leader term: enough for this check
        try:
            fake.put("configmaps", {"metadata": {"name": "tpl", "namespace": "app"},
                                    "data": {"conf": "user={{ .t }}"}})
            fake.put("secretstores", store_obj(provider={"fake": {"data": [{"key": "/t", "value": "v"}]}}),
                     group=ESO)
            fake.put("clustersecretstores", store_obj("cs", kind="ClusterSecretStore", conditions=[
                {"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                provider={"fake": {"data": [{"key": "/t", "value": "v"}]}}), group=ESO)
            fake.put("externalsecrets", es_obj(data=[{"secretKey": "t", "remoteRef": {"key": "/t"}}], target={
                "template": {"templateFrom": [{"configMap": {"name": "tpl", "items": [{"key": "conf"}]}}]}}),
                group=ESO)
            fake.put("externalsecrets", es_obj("c", store="cs", kind="ClusterSecretStore",
                                               data=[{"secretKey": "t", "remoteRef": {"key": "/t"}}]), group=ESO)
            fake.put("externalsecrets", es_obj("gone", data=[{"secretKey": "t", "remoteRef": {"key": "/x"}}],
                                               target={"deletionPolicy": "Delete"}), group=ESO)
            await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            await eventually(lambda: ready(fake, "c") and ready(fake, "gone"), what="status")
            s = fake.get("secrets", "es", "app")
            s["data"]["t"] = b64("drift")
            fake.store.update(fake.resource("secrets"), "app", "es", s, "kubectl")
            await asyncio.sleep(0.5)
        finally:
            await op.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    calls = {_request_to_attrs(m, p) for m, p in fake.requests}
    denied = sorted(c for c in calls if not _allowed(*c))
    assert not denied, f"calls outside {RBAC.name}: {denied}"
    assert any(c[0] == "patch" and c[2] == "secrets" for c in calls)
    assert any(c[0] == "get" and c[2] == "namespaces" for c in calls)
