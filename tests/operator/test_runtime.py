"""Runtime pieces: work queue guarantees, informer recovery, leader election with two runtimes, health."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import httpx
import pytest

from strongroom.operator.kube import Kube, kinds
from strongroom.operator.runtime import (
    Controller,
    ExponentialBackoff,
    Informer,
    PermanentError,
    Result,
    Runtime,
    WorkQueue,
    set_condition,
)
from tests.fakekube import FakeKube
from tests.operator.harness import CTRL_NS, eventually, start_operator


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def test_workqueue_dedups_and_serialises_per_key() -> None:
    async def scenario() -> None:
        q = WorkQueue()
        for _ in range(3):
            q.add("a")
        q.add("b")
        assert len(q) == 2
        first = await q.get()
        q.add(first)  # added while processing: not handed out twice
        second = await q.get()
        assert {first, second} == {"a", "b"}
        assert q._queue.empty()
        q.done(first)  # now it comes back, once
        assert await asyncio.wait_for(q.get(), 1) == first

    _run(scenario())


def test_backoff_is_exponential_and_capped() -> None:
    b = ExponentialBackoff(base=0.1, cap=1.0)
    assert [b.when("k") for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    b.forget("k")
    assert b.when("k") == 0.1


def test_conditions_only_transition_on_flip() -> None:
    c1 = set_condition([], "Ready", True, now="t1")
    c2 = set_condition(c1, "Ready", True, now="t2")
    assert c2[0]["lastTransitionTime"] == "t1" and c2[0]["lastUpdateTime"] == "t2"
    c3 = set_condition(c2, "Ready", False, message="boom", now="t3")
    assert c3[0]["lastTransitionTime"] == "t3" and c3[0]["message"] == "boom"


class _Recorder:
    def __init__(self, fail_first: int = 0, permanent: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_first, self.permanent = fail_first, permanent
        self.active: set[str] = set()
        self.overlap = False

    async def reconcile(self, key: str) -> Result | None:
        if key in self.active:
            self.overlap = True
        self.active.add(key)
        try:
            self.calls.append(key)
            await asyncio.sleep(0.01)
            if self.permanent:
                raise PermanentError("bad config")
            if len(self.calls) <= self.fail_first:
                raise RuntimeError("transient")
            return None
        finally:
            self.active.discard(key)


def test_controller_retries_transient_and_not_permanent_errors(fake: FakeKube) -> None:
    async def scenario() -> None:
        async with Kube(fake.config()) as kube:
            fake.put("configmaps", {"metadata": {"name": "c", "namespace": "default"}})
            for permanent, fail_first, expect in ((False, 3, 4), (True, 0, 1)):
                inf = Informer(kube, kinds.CONFIGMAP)
                rec = _Recorder(fail_first, permanent)
                ctl = Controller("t", rec, inf, backoff=ExponentialBackoff(base=0.01), workers=3)
                tasks = [asyncio.ensure_future(inf.run()), asyncio.ensure_future(ctl.run())]
                await eventually(lambda r=rec, e=expect: len(r.calls) >= e, what="calls")
                await asyncio.sleep(0.2)
                assert len(rec.calls) == expect and not rec.overlap
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    _run(scenario())


def test_informer_relists_on_410_and_reports_deletions(fake: FakeKube) -> None:
    async def scenario() -> None:
        async with Kube(fake.config()) as kube:
            fake.put("configmaps", {"metadata": {"name": "a", "namespace": "default"}})
            fake.put("configmaps", {"metadata": {"name": "b", "namespace": "default"}})
            inf = Informer(kube, kinds.CONFIGMAP)
            seen: list[tuple[str, str]] = []
            inf.add_handler(lambda typ, obj: seen.append((typ, obj["metadata"]["name"])))
            task = asyncio.ensure_future(inf.run())
            await inf.synced.wait()
            await asyncio.sleep(0.1)
            # while the watch is cut, "b" is deleted and history compacted: only a re-list can notice
            fake.drop_watches()
            fake.store.delete(fake.resource("configmaps"), "default", "b")
            fake.compact()
            fake.put("configmaps", {"metadata": {"name": "c", "namespace": "default"}})
            await eventually(lambda: "default/c" in inf.cache, what="c cached")
            assert ("DELETED", "b") in seen and set(inf.cache) == {"default/a", "default/c"}
            assert inf.relists >= 2
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    _run(scenario())


def test_leader_election_one_leader_and_failover(fake: FakeKube) -> None:
    async def scenario() -> None:
        one = await start_operator(fake, identity="one", leader_election=True, wait_keys=False)
        await eventually(lambda: one.runtime.leading, what="first leader")
        two = await start_operator(fake, identity="two", leader_election=True, wait_keys=False)
        await asyncio.wait_for(one.app.registry.loaded.wait(), 20)
        try:
            fake.put("namespaces", {"metadata": {"name": "app"}})
            await asyncio.sleep(1.0)
            assert one.runtime.leading and not two.runtime.leading
            lease = fake.get("leases", "strongroom-operator-leader", CTRL_NS, group="coordination.k8s.io")
            assert lease["spec"]["holderIdentity"] == "one"
            # only the leader reconciles
            from tests.operator.test_sealedsecret import _sealed
            fake.put("sealedsecrets", await _sealed(one, name="x"), group="bitnami.com")
            await eventually(lambda: fake.get("secrets", "x", "app"), what="Secret from leader")
            assert not two.app.reconciler._memo
            # the standby serves the sealing API too (same keys)
            assert await two.cert() == await one.cert()
            await one.stop()  # graceful: releases the lease
            await eventually(lambda: two.runtime.leading, timeout=10, what="failover")
            await asyncio.wait_for(two.app.registry.loaded.wait(), 10)
            fake.put("sealedsecrets", await _sealed(two, name="y"), group="bitnami.com")
            await eventually(lambda: fake.get("secrets", "y", "app"), what="Secret from new leader")
            lease = fake.get("leases", "strongroom-operator-leader", CTRL_NS, group="coordination.k8s.io")
            assert lease["spec"]["holderIdentity"] == "two" and lease["spec"]["leaseTransitions"] >= 1
        finally:
            await two.stop()

    _run(scenario())


def test_leader_that_cannot_renew_steps_down(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake, identity="solo", leader_election=True)
        try:
            await eventually(lambda: op.runtime.leading, what="leader")
            fake.fail_next(1000, 503, path="/leases")
            await eventually(lambda: not op.runtime.leading, timeout=10, what="step down")
            fake.faults.clear()
            await eventually(lambda: op.runtime.leading, timeout=10, what="re-elected")
        finally:
            await op.stop()

    _run(scenario())


def test_health_ready_metrics_and_sigterm(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        async with httpx.AsyncClient(base_url=op.health_url) as c:
            assert (await c.get("/healthz")).status_code == 200
            await eventually(lambda: op.runtime.ready(), what="ready")
            assert (await c.get("/readyz")).status_code == 200
            body = (await c.get("/metrics")).text
            assert "strongroom_operator_reconcile_total" in body or "strongroom_operator_informer_relists" in body
        op.runtime.install_signal_handlers()
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(op.task, 10)  # graceful: returns instead of dying
        await op.kube.close()

    _run(scenario())


def test_runtime_without_cluster_config_fails_clearly(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from strongroom.operator.kube import KubeError, load_config

    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    monkeypatch.setenv("HOME", "/nonexistent")
    with pytest.raises(KubeError, match="no usable Kubernetes configuration"):
        load_config()


def test_runtime_standalone_no_leader_election(fake: FakeKube) -> None:
    async def scenario() -> None:
        async with Kube(fake.config()) as kube:
            rt = Runtime(kube, leader_election=False, health_addr=None)
            rec = _Recorder()
            rt.add_controller(Controller("cm", rec, rt.informer(kinds.CONFIGMAP)))
            fake.put("configmaps", {"metadata": {"name": "z", "namespace": "default"}})
            task = asyncio.ensure_future(rt.run())
            await eventually(lambda: rec.calls == ["default/z"], what="reconcile")
            rt.request_stop()
            await asyncio.wait_for(task, 5)

    _run(scenario())


def test_kubeconfig_file_and_context(fake: FakeKube, tmp_path: object) -> None:
    from pathlib import Path

    from strongroom.operator.kube import KubeError, load_config

    path = fake.write_kubeconfig(Path(str(tmp_path)) / "kc", namespace="team")

    async def scenario() -> None:
        async with Kube(load_config(path, context="fake")) as kube:
            assert kube.namespace == "team"
            await kube.create(kinds.CONFIGMAP, {"metadata": {"name": "x", "namespace": "team"}})
            assert (await kube.get(kinds.CONFIGMAP, "x", "team"))["metadata"]["name"] == "x"

    _run(scenario())
    with pytest.raises(KubeError, match="no usable"):
        load_config(path, context="missing")


def test_port_in_use_is_a_clear_error(fake: FakeKube) -> None:
    import socket as sk

    async def scenario() -> None:
        with sk.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            async with Kube(fake.config()) as kube:
                rt = Runtime(kube, leader_election=False, health_addr=("127.0.0.1", port))
                with pytest.raises(OSError, match="cannot listen"):
                    await asyncio.wait_for(rt.run(), 10)

    _run(scenario())
