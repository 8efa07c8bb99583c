"""Controller: informers feed a work queue; workers call a reconciler per key, one key at a time.

A reconciler implements `async reconcile(key) -> Result | None`. It raises `PermanentError` for problems that a
retry cannot fix (bad configuration, undecryptable data): the key is not requeued until the object changes.
Any other exception is retried with capped exponential backoff, at most `max_retries` times in a row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from strongroom.operator.kube import Obj
from strongroom.operator.runtime import metrics
from strongroom.operator.runtime.informer import Informer, object_key
from strongroom.operator.runtime.workqueue import ExponentialBackoff, WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What a reconcile asks for next: `requeue_after` seconds (a periodic refresh), or nothing."""

    requeue_after: float | None = None


class PermanentError(Exception):
    """Retrying will not help; wait for the object to change. The message is shown to users: no secrets."""


class Reconciler(Protocol):
    async def reconcile(self, key: str) -> Result | None: ...


Mapper = Callable[[Obj], Iterable[str]]


@dataclass
class Watch:
    """A secondary informer whose events enqueue the keys `mapper` returns (e.g. the owner of a Secret)."""

    informer: Informer
    mapper: Mapper


@dataclass
class Controller:
    """Runs `workers` reconcile loops over the keys of `primary` and of every `Watch`."""

    name: str
    reconciler: Reconciler
    primary: Informer
    watches: list[Watch] = field(default_factory=list)
    workers: int = 2
    max_retries: int = 15
    backoff: ExponentialBackoff = field(default_factory=ExponentialBackoff)
    queue: WorkQueue = field(init=False)
    _wired: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.queue = WorkQueue(self.backoff)

    def informers(self) -> list[Informer]:
        return [self.primary, *(w.informer for w in self.watches)]

    def enqueue(self, key: str) -> None:
        self.queue.add(key)
        metrics.QUEUE_DEPTH.labels(controller=self.name).set(len(self.queue))

    def _wire(self) -> None:
        if self._wired:
            return
        self._wired = True
        self.primary.add_handler(lambda _typ, obj: self.enqueue(object_key(obj)))
        for watch in self.watches:
            def handler(_typ: str, obj: Obj, mapper: Mapper = watch.mapper) -> None:
                for key in mapper(obj):
                    self.enqueue(key)
            watch.informer.add_handler(handler)

    async def run(self) -> None:
        """Wire handlers, wait for the caches, then reconcile until cancelled."""
        self._wire()
        self.queue = WorkQueue(self.backoff)
        for key in list(self.primary.cache):
            self.enqueue(key)
        await asyncio.gather(*(i.synced.wait() for i in self.informers()))
        try:
            await asyncio.gather(*(self._worker() for _ in range(self.workers)))
        finally:
            self.queue.shutdown()

    async def _worker(self) -> None:
        while True:
            key = str(await self.queue.get())
            metrics.QUEUE_DEPTH.labels(controller=self.name).set(len(self.queue))
            try:
                await self._process(key)
            finally:
                self.queue.done(key)

    async def _process(self, key: str) -> None:
        started = time.perf_counter()
        outcome = "success"
        try:
            result = await self.reconciler.reconcile(key)
            self.queue.forget(key)
            if result is not None and result.requeue_after is not None:
                self.queue.add_after(key, result.requeue_after)
        except asyncio.CancelledError:
            raise
        except PermanentError as exc:
            outcome = "permanent_error"
            self.queue.forget(key)
            log.warning("%s: %s: %s (not retried until it changes)", self.name, key, exc)
        except Exception as exc:
            outcome = "error"
            if self.queue.retries(key) >= self.max_retries:
                self.queue.forget(key)
                log.error("%s: %s: giving up after %d retries: %s", self.name, key, self.max_retries, exc)
            else:
                delay = self.queue.add_rate_limited(key)
                metrics.RETRIES_TOTAL.labels(controller=self.name).inc()
                log.info("%s: %s: %s; retry in %.2fs", self.name, key, exc, delay)
        finally:
            metrics.RECONCILE_TOTAL.labels(controller=self.name, result=outcome).inc()
            metrics.RECONCILE_SECONDS.labels(controller=self.name).observe(time.perf_counter() - started)
