"""Shared helpers: run the real runtime + SealedSecret controller against the fake API server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from strongroom.operator.kube import Kube
from strongroom.operator.runtime import Runtime
from strongroom.operator.sealedsecret import SealedSecretApp, SealedSecretConfig, install
from tests.fakekube import FakeKube

CTRL_NS = "kube-system"


async def eventually(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Operator:
    kube: Kube
    runtime: Runtime
    app: SealedSecretApp
    task: asyncio.Task[None]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.servers[-1].port}"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.servers[0].port}"

    async def cert(self) -> bytes:
        async with httpx.AsyncClient() as c:
            r = await c.get(f"{self.api_url}/v1/cert.pem")
            r.raise_for_status()
            return r.content

    async def stop(self) -> None:
        self.runtime.request_stop()
        await asyncio.wait_for(self.task, 10)
        await self.kube.close()


async def start_operator(fake: FakeKube, *, identity: str | None = None, leader_election: bool = False,
                         wait_keys: bool = True, **config: Any) -> Operator:
    kube = Kube(fake.config(CTRL_NS))
    runtime = Runtime(kube, namespace=CTRL_NS, identity=identity, leader_election=leader_election,
                      health_addr=("127.0.0.1", 0), lease_duration=2.0, renew_deadline=1.0, retry_period=0.2)
    cfg = SealedSecretConfig(namespace=CTRL_NS, key_bits=2048, listen=("127.0.0.1", 0), **config)
    app = install(runtime, cfg)
    task = asyncio.ensure_future(runtime.run())
    await eventually(lambda: runtime.started.is_set() or task.done(), what="runtime start")
    if task.done():
        task.result()
    if wait_keys:
        await asyncio.wait_for(app.registry.loaded.wait(), 20)
    return Operator(kube, runtime, app, task)
