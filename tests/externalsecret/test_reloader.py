"""Rollout on change: a Secret synced by an ExternalSecret changes -> the annotated Deployment rolls out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom.operator.kube import Kube
from strongroom.operator.reloader import HASH, install, referenced_secrets
from strongroom.operator.runtime import Runtime
from tests.externalsecret.harness import b64, eventually
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _deployment(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "app", "annotations": annotations},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "x",
                                         "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db",
                                                                                              "key": "pw"}}}],
                                         "envFrom": [{"secretRef": {"name": "other"}}]}],
                         "volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "proj"}}]}}]}}}}


def test_referenced_secrets() -> None:
    assert referenced_secrets(_deployment("d", {})) == {"db", "other", "proj"}


def test_rollout_only_on_change_and_only_when_opted_in(fake: FakeKube) -> None:
    async def scenario() -> None:
        kube = Kube(fake.config("kube-system"))
        runtime = Runtime(kube, namespace="kube-system", leader_election=False, health_addr=None)
        install(runtime)
        task = asyncio.ensure_future(runtime.run())
        try:
            res = fake.resource("secrets")
            fake.put("secrets", {"metadata": {"name": "db", "namespace": "app"}, "data": {"pw": b64("1")}})
            fake.put("deployments", _deployment("auto", {"strongroom.io/reload": "true"}), group="apps")
            fake.put("deployments", _deployment("stakater", {"secret.reloader.stakater.com/reload": "db"}),
                     group="apps")
            fake.put("deployments", _deployment("plain", {}), group="apps")

            def ann(name: str) -> dict[str, Any]:
                d = fake.get("deployments", name, "app", group="apps")
                return d["metadata"].get("annotations") or {}

            def tpl(name: str) -> dict[str, Any]:
                d = fake.get("deployments", name, "app", group="apps")
                return d["spec"]["template"]["metadata"].get("annotations") or {}

            await eventually(lambda: HASH in ann("auto") and HASH in ann("stakater"), what="baseline")
            assert HASH not in tpl("auto")  # opting in does not restart anything
            s = fake.get("secrets", "db", "app")
            s["data"]["pw"] = b64("2")
            fake.store.update(res, "app", "db", s, "eso")
            await eventually(lambda: HASH in tpl("auto") and HASH in tpl("stakater"), what="rollout")
            assert tpl("auto")[HASH] == ann("auto")[HASH]
            assert HASH not in ann("plain") and HASH not in tpl("plain")
            fake.put("secrets", {"metadata": {"name": "unrelated", "namespace": "app"}, "data": {"x": b64("1")}})
            before = tpl("stakater")[HASH]
            fake.put("secrets", {"metadata": {"name": "other", "namespace": "app"}, "data": {"x": b64("1")}})
            await eventually(lambda: tpl("auto")[HASH] != ann("stakater")[HASH], what="auto sees envFrom secret")
            assert tpl("stakater")[HASH] == before  # explicit list: 'other' is not watched
        finally:
            runtime.request_stop()
            await asyncio.wait_for(task, 10)
            await kube.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
