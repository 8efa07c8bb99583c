"""A work queue keyed by object ("namespace/name"), with client-go's guarantees, on asyncio.

* dedup: a key waiting in the queue is queued once, however often it is added;
* per-key serialisation: a key being processed is never handed to a second worker; if it is added meanwhile it
  is queued again when the first worker calls `done`;
* rate-limited retries: `add_rate_limited` delays by base * 2^failures, capped; `forget` resets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass
class ExponentialBackoff:
    """Per-key exponential delay: base * 2^n, never more than `cap` seconds."""

    base: float = 0.05
    cap: float = 300.0
    failures: dict[Hashable, int] = field(default_factory=dict)

    def when(self, key: Hashable) -> float:
        n = self.failures.get(key, 0)
        self.failures[key] = n + 1
        return float(min(self.cap, self.base * (2**n)))

    def retries(self, key: Hashable) -> int:
        return self.failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        self.failures.pop(key, None)


class WorkQueue:
    """See the module docstring. All methods must be called from the event loop's thread."""

    def __init__(self, backoff: ExponentialBackoff | None = None) -> None:
        self.backoff = backoff or ExponentialBackoff()
        self._queue: asyncio.Queue[Hashable] = asyncio.Queue()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._shutdown = False

    def __len__(self) -> int:
        return len(self._dirty)

    def add(self, key: Hashable) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.put_nowait(key)

    def add_after(self, key: Hashable, delay: float) -> None:
        """Add `key` after `delay` seconds; an earlier pending timer for the key wins."""
        if self._shutdown:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        existing = self._timers.get(key)
        if existing is not None and existing.when() <= when:
            return
        if existing is not None:
            existing.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: Hashable) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: Hashable) -> float:
        delay = self.backoff.when(key)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Hashable) -> None:
        self.backoff.forget(key)

    def retries(self, key: Hashable) -> int:
        return self.backoff.retries(key)

    async def get(self) -> Hashable:
        key = await self._queue.get()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if key in self._dirty and not self._shutdown:
            self._queue.put_nowait(key)

    def shutdown(self) -> None:
        self._shutdown = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
