"""`strongroom.operator.kube.Kube` against the fake API server: every call, and typed errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from strongroom.operator.kube import AlreadyExists, Conflict, Gone, Invalid, Kube, NotFound, Unavailable, kinds
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def test_calls_and_typed_errors(fake: FakeKube) -> None:
    async def scenario() -> None:
        async with Kube(fake.config(), field_manager="mine") as kube:
            cm = {"metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1"}}
            created = await kube.create(kinds.CONFIGMAP, cm)
            with pytest.raises(AlreadyExists):
                await kube.create(kinds.CONFIGMAP, cm)
            created["data"]["a"] = "2"
            updated = await kube.replace(kinds.CONFIGMAP, created)
            with pytest.raises(Conflict):
                await kube.replace(kinds.CONFIGMAP, created)  # stale resourceVersion
            patched = await kube.merge_patch(kinds.CONFIGMAP, "c", {"data": {"b": "3"}}, "ns")
            assert patched["data"] == {"a": "2", "b": "3"}
            applied = await kube.apply(kinds.CONFIGMAP, {"metadata": {"name": "c", "namespace": "ns"},
                                                         "data": {"a": "4"}})
            assert applied["data"]["a"] == "4"
            assert any(m["manager"] == "mine" and m["operation"] == "Apply"
                       for m in applied["metadata"]["managedFields"])
            items, rv = await kube.list(kinds.CONFIGMAP, "ns")
            assert [i["metadata"]["name"] for i in items] == ["c"] and int(rv) >= int(
                updated["metadata"]["resourceVersion"])
            ns = await kube.create(kinds.NAMESPACE, {"metadata": {"name": "ns"}})
            assert "namespace" not in ns["metadata"]
            await kube.delete(kinds.CONFIGMAP, "c", "ns")
            with pytest.raises(NotFound):
                await kube.get(kinds.CONFIGMAP, "c", "ns")
            with pytest.raises(Invalid):
                await kube.create(kinds.CONFIGMAP, {"metadata": {"namespace": "ns"}})  # no name
            fake.fail_next(1, 503)
            with pytest.raises(Unavailable):
                await kube.get(kinds.CONFIGMAP, "x", "ns")
            fake.compact()
            with pytest.raises(Gone):
                async for _ in kube.watch(kinds.CONFIGMAP, "ns", resource_version="1"):
                    pass
            ss = await kube.create(kinds.SEALED_SECRET, {"metadata": {"name": "s", "namespace": "ns"},
                                                         "spec": {"encryptedData": {}}})
            st = await kube.patch_status(kinds.SEALED_SECRET, "s", {"observedGeneration": 1}, "ns")
            assert st["status"] == {"observedGeneration": 1} and st["spec"] == ss["spec"]

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_unreachable_server_is_unavailable() -> None:
    from lightkube.config.kubeconfig import KubeConfig

    cfg = KubeConfig.from_dict({"clusters": [{"name": "x", "cluster": {"server": "http://127.0.0.1:9"}}],
                                "users": [{"name": "u", "user": {}}], "current-context": "x",
                                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "u"}}]})

    async def scenario() -> None:
        async with Kube(cfg, timeout=2) as kube:
            with pytest.raises(Unavailable, match="unreachable"):
                await kube.get(kinds.SECRET, "x", "default")

    asyncio.run(scenario())
