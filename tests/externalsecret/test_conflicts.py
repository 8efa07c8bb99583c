"""Retry paths and policies: 409 on write, 410 Gone on watch, refresh policies, immutable targets,
ClusterSecretStore conditions, the kubernetes provider and decoding strategies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.externalsecret.harness import ESO, b64, es_obj, eventually, ready, start, store_obj, unb64
from tests.fakekube import FakeKube

DATA = [{"key": "/a", "value": "one"}, {"key": "/b64", "value": b64("decoded!")}]


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def _set_store_data(fake: FakeKube, data: list[dict[str, str]], name: str = "store") -> None:
    store = fake.get("secretstores", name, "app", group=ESO)
    store["spec"]["provider"]["fake"]["data"] = data
    fake.store.update(fake.resource("secretstores", ESO), "app", name, store, "kubectl")


def _bump(fake: FakeKube, name: str, **spec: Any) -> None:
    es = fake.get("externalsecrets", name, "app", group=ESO)
    es["spec"].update(spec)
    fake.store.update(fake.resource("externalsecrets", ESO), "app", name, es, "kubectl")


def test_409_on_write_is_retried(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.fail_next(2, 409, method="PATCH", path="/secrets/")
            fake.put("secretstores", store_obj(provider={"fake": {"data": DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(data=[{"secretKey": "a", "remoteRef": {"key": "/a"}}]), group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret after 409s")
            assert unb64(secret["data"]["a"]) == "one"
            assert sum(1 for m, p in fake.requests if m == "PATCH" and "/secrets/" in p) >= 3
        finally:
            await op.stop()

    _run(scenario())


def test_410_gone_relists_and_keeps_working(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(data=[{"secretKey": "a", "remoteRef": {"key": "/a"}}]), group=ESO)
            await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            informer = op.app.reconciler.es
            relists = informer.relists
            fake.put("configmaps", {"metadata": {"name": "x", "namespace": "app"}})  # history moves on
            fake.compact()  # ...and is forgotten: resuming the ExternalSecret watch gets 410 Gone
            fake.drop_watches()
            # whether this informer's resume hits 410 depends on when its watch reconnects relative to the
            # compaction; what must hold either way is that updates keep flowing (checked below)
            await asyncio.sleep(0.3)
            assert informer.relists >= relists
            _bump(fake, "es", data=[{"secretKey": "b", "remoteRef": {"key": "/b64", "decodingStrategy": "Base64"}}])
            await eventually(lambda: "b" in (fake.get("secrets", "es", "app")["data"]), what="update after 410")
            data = fake.get("secrets", "es", "app")["data"]
            assert unb64(data["b"]) == "decoded!" and "a" not in data  # removed keys go (field manager)
        finally:
            await op.stop()

    _run(scenario())


def test_refresh_policies_and_interval(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": DATA}}), group=ESO)
            ref = [{"secretKey": "a", "remoteRef": {"key": "/a"}}]
            fake.put("externalsecrets", es_obj("periodic", refreshInterval="200ms", data=ref), group=ESO)
            fake.put("externalsecrets", es_obj("once", refreshPolicy="CreatedOnce", refreshInterval="200ms",
                                               data=ref), group=ESO)
            fake.put("externalsecrets", es_obj("onchange", refreshPolicy="OnChange", data=ref), group=ESO)
            for n in ("periodic", "once", "onchange"):
                await eventually(lambda n=n: fake.get("secrets", n, "app"), what=n)
            _set_store_data(fake, [{"key": "/a", "value": "two"}])
            await eventually(lambda: unb64(fake.get("secrets", "periodic", "app")["data"]["a"]) == "two",
                             what="periodic refresh")
            await asyncio.sleep(0.5)
            assert unb64(fake.get("secrets", "once", "app")["data"]["a"]) == "one"
            assert unb64(fake.get("secrets", "onchange", "app")["data"]["a"]) == "one"
            _bump(fake, "onchange", target={"name": "onchange"})  # a spec change refreshes OnChange
            await eventually(lambda: unb64(fake.get("secrets", "onchange", "app")["data"]["a"]) == "two",
                             what="OnChange after spec change")
        finally:
            await op.stop()

    _run(scenario())


def test_immutable_target_is_not_rewritten(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(refreshInterval="100ms", target={"immutable": True},
                                               data=[{"secretKey": "a", "remoteRef": {"key": "/a"}}]), group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            assert secret["immutable"] is True
            _set_store_data(fake, [{"key": "/a", "value": "two"}])
            cond = await eventually(lambda: (c := ready(fake, "es")) and c["status"] == "False" and c,
                                    what="immutable error")
            assert cond["message"] == "could not update secret, target is immutable"
            assert unb64(fake.get("secrets", "es", "app")["data"]["a"]) == "one"
        finally:
            await op.stop()

    _run(scenario())


def test_cluster_store_conditions_and_kubernetes_provider(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("namespaces", {"metadata": {"name": "app", "labels": {"team": "a"}}})
            fake.put("namespaces", {"metadata": {"name": "other"}})
            fake.put("secrets", {"metadata": {"name": "src", "namespace": "shared"},
                                 "data": {"user": b64("u"), "pass": b64("p")}})
            fake.put("clustersecretstores", store_obj("k8s", kind="ClusterSecretStore",
                                                      provider={"kubernetes": {"remoteNamespace": "shared"}},
                                                      conditions=[{"namespaceSelector": {
                                                          "matchLabels": {"team": "a"}}}]), group=ESO)
            spec = {"store": "k8s", "kind": "ClusterSecretStore",
                    "data": [{"secretKey": "p", "remoteRef": {"key": "src", "property": "pass"}}],
                    "dataFrom": [{"extract": {"key": "src"}}]}
            fake.put("externalsecrets", es_obj("ok", "app", **spec), group=ESO)
            fake.put("externalsecrets", es_obj("denied", "other", **spec), group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "ok", "app"), what="Secret")
            assert {k: unb64(v) for k, v in secret["data"].items()} == {"p": "p", "user": "u", "pass": "p"}
            cond = await eventually(lambda: ready(fake, "denied", "other"), what="denied")
            assert cond["status"] == "False" and 'not allowed from namespace "other"' in cond["message"]
            assert fake.get("secrets", "denied", "other") is None
            store = await eventually(lambda: (fake.get("clustersecretstores", "k8s", group=ESO) or {}).get(
                "status"), what="store status")
            assert store["conditions"][0]["reason"] == "Valid" and store["capabilities"] == "ReadOnly"
        finally:
            await op.stop()

    _run(scenario())


def test_invalid_store_and_missing_store(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj("bad", provider={"vault": {"path": "secret"}}), group=ESO)
            fake.put("externalsecrets", es_obj("x", store="bad", data=[{"secretKey": "a", "remoteRef": {
                "key": "/a"}}]), group=ESO)
            fake.put("externalsecrets", es_obj("y", store="absent", data=[{"secretKey": "a", "remoteRef": {
                "key": "/a"}}]), group=ESO)
            store = await eventually(lambda: (fake.get("secretstores", "bad", "app", group=ESO) or {}).get(
                "status"), what="store status")
            assert store["conditions"][0]["reason"] == "InvalidProviderConfig"
            assert "server is required" in store["conditions"][0]["message"]
            cond = await eventually(lambda: ready(fake, "y"), what="missing store")
            assert 'SecretStore "absent" not found' in cond["message"]
        finally:
            await op.stop()

    _run(scenario())


def test_cluster_external_secret_stamps_selected_namespaces(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            for name, labels in (("t1", {"team": "a"}), ("t2", {"team": "a"}), ("t3", {"team": "b"})):
                fake.put("namespaces", {"metadata": {"name": name, "labels": labels}})
            fake.put("externalsecrets", es_obj("shared", "t2"), group=ESO)  # someone else's: never touched
            fake.put("clustersecretstores", store_obj("cs", kind="ClusterSecretStore",
                                                      provider={"fake": {"data": DATA}}), group=ESO)
            ces = {"apiVersion": f"{ESO}/v1", "kind": "ClusterExternalSecret", "metadata": {"name": "shared"},
                   "spec": {"namespaceSelectors": [{"matchLabels": {"team": "a"}}], "refreshTime": "200ms",
                            "externalSecretMetadata": {"labels": {"from": "ces"}},
                            "externalSecretSpec": {"secretStoreRef": {"name": "cs", "kind": "ClusterSecretStore"},
                                                   "data": [{"secretKey": "a", "remoteRef": {"key": "/a"}}]}}}
            fake.put("clusterexternalsecrets", ces, group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "shared", "t1"), what="Secret in t1")
            assert unb64(secret["data"]["a"]) == "one"
            status = await eventually(lambda: (fake.get("clusterexternalsecrets", "shared", group=ESO) or {}).get(
                "status"), what="CES status")
            assert status["provisionedNamespaces"] == ["t1"]
            assert status["failedNamespaces"] == [{"namespace": "t2",
                                                   "reason": "external secret already exists in namespace"}]
            assert fake.get("externalsecrets", "shared", "t1", group=ESO)["metadata"]["labels"] == {"from": "ces"}
            assert fake.get("externalsecrets", "shared", "t3", group=ESO) is None
            ns = fake.get("namespaces", "t1")
            ns["metadata"]["labels"] = {"team": "c"}
            fake.store.update(fake.resource("namespaces"), "", "t1", ns, "kubectl")
            await eventually(lambda: fake.get("externalsecrets", "shared", "t1", group=ESO) is None,
                             what="removed from a namespace that stopped matching")
        finally:
            await op.stop()

    _run(scenario())


def test_deletion_policy_merge_removes_only_missing_keys(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(refreshInterval="100ms", target={"deletionPolicy": "Merge"}, data=[
                {"secretKey": "a", "remoteRef": {"key": "/a"}}, {"secretKey": "b", "remoteRef": {"key": "/b64"}}]),
                group=ESO)
            await eventually(lambda: len((fake.get("secrets", "es", "app") or {}).get("data", {})) == 2, what="2 keys")
            _set_store_data(fake, [{"key": "/a", "value": "one"}])
            await eventually(lambda: list(fake.get("secrets", "es", "app")["data"]) == ["a"], what="b removed")
            cond = await eventually(lambda: ready(fake, "es"), what="status")
            assert cond["status"] == "True"
        finally:
            await op.stop()

    _run(scenario())
