"""The audit broker: every request is recorded by at least one device before it is served (fail closed), but a
device that stalls or errors is cut off after a bounded wait (default 1 s) instead of hanging the server
(hashicorp/vault#18943, #5361). Entries a slow device has not yet written stay queued and are written when it
recovers; only a queue overflow drops entries, and that is counted and alerted, never silent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from strongroom.core._futures import settle
from strongroom.core.audit.devices import Device
from strongroom.core.audit.format import FormatOptions, render
from strongroom.sdk.errors import Unavailable

log = logging.getLogger("strongroom.audit")

MAX_PENDING = 100_000
RETRY_AFTER = 1.0


@dataclass
class DeviceStats:
    written: int = 0
    failures: int = 0
    timeouts: int = 0
    dropped: int = 0
    last_error: str = ""
    last_latency: float = 0.0


class Runner:
    """One device: a queue drained by its own thread, lines batched into one write."""

    def __init__(self, path: str, kind: str, device: Device, opts: FormatOptions) -> None:
        self.path, self.kind, self.device, self.opts = path, kind, device, opts
        self.stats = DeviceStats()
        self._pending: list[tuple[bytes, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._lock = threading.Lock()
        self._draining = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"audit-{path}")
        self.stalled = False
        self.down_until = 0.0

    @property
    def healthy(self) -> bool:
        return not self.stalled and time.monotonic() >= self.down_until

    def enqueue(self, line: bytes) -> asyncio.Future[None] | None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self.stats.dropped += 1
                return None
            self._pending.append((line, fut, loop))
            start = not self._draining
            self._draining = True
        if start:
            self._pool.submit(self._drain)
        return fut

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending[:1024], self._pending[1024:]
                if not batch:
                    self._draining = False
                    return
            t0 = time.perf_counter()
            err: BaseException | None = None
            try:
                self.device.write(b"".join(line for line, _, _ in batch))
            except Exception as exc:
                err = exc
            self.stats.last_latency = time.perf_counter() - t0
            if err is None:
                self.stats.written += len(batch)
                self.stalled = False
            for _, fut, loop in batch:
                loop.call_soon_threadsafe(settle, fut, err)

    async def submit(self, entry: dict[str, Any], timeout: float) -> bool:
        """True when this device durably took the entry within the timeout."""
        if time.monotonic() < self.down_until:
            return False
        fut = self.enqueue(render(entry, self.opts))
        if fut is None:
            return False
        if self.stalled:  # don't wait on a device known to hang; the entry stays queued for it
            return False
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
            return True
        except TimeoutError:
            self.stats.timeouts += 1
            self.stalled = True
            log.warning("audit device %s did not answer within %.1fs; cutting it off until it recovers",
                        self.path, timeout)
            return False
        except Exception as exc:
            self.stats.failures += 1
            self.stats.last_error = type(exc).__name__
            self.down_until = time.monotonic() + RETRY_AFTER
            log.warning("audit device %s failed to write (%s); retrying in %.0fs", self.path,
                        type(exc).__name__, RETRY_AFTER)
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
        self.device.close()



@dataclass
class Broker:
    timeout: float = 1.0
    runners: dict[str, Runner] = field(default_factory=dict)
    on_failure: list[Callable[[str, str], None]] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.runners)

    async def record(self, entry: dict[str, Any]) -> None:
        """Raises Unavailable when no enabled device recorded the entry."""
        runners = list(self.runners.values())
        if not runners:
            return
        results = await asyncio.gather(*(r.submit(entry, self.timeout) for r in runners))
        for r, ok in zip(runners, results, strict=True):
            if not ok:
                for hook in self.on_failure:
                    hook(r.path, entry.get("type", ""))
        if not any(results):
            raise Unavailable("audit log failure: no enabled audit device recorded the request")

    def reopen(self) -> None:
        for r in self.runners.values():
            try:
                r.device.reopen()
            except OSError as exc:
                log.error("reopening audit device %s failed: %s", r.path, type(exc).__name__)
