"""An in-memory ring buffer of KV change notifications, fed by `Core.change_listeners`.

Consumers (the ExternalSecret operator, the agent) long-poll `sys/events/kv?since=N&wait=25s` instead of
polling every secret (ESO#2975: 500 secrets at 15 s is 2,000 reads a minute). Events carry the logical path
(`mount/key`) and an increasing index, never a value. The buffer is per node and lost on restart: a consumer
whose `since` is older than the buffer, or newer than the current index (it saw a previous incarnation of the
server), gets `reset: true` and should re-read everything it watches.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChangeEvent:
    index: int
    path: str
    time: float

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "time": round(self.time, 3)}


class ChangeFeed:
    def __init__(self, capacity: int = 4096) -> None:
        self.index = 0
        self.events: deque[ChangeEvent] = deque(maxlen=capacity)
        self._waiters: set[asyncio.Future[None]] = set()

    def publish(self, path: str) -> None:
        self.index += 1
        self.events.append(ChangeEvent(self.index, path, time.time()))
        for fut in list(self._waiters):
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    def since(self, index: int, limit: int = 1000) -> tuple[list[ChangeEvent], bool]:
        """Events after `index` (at most `limit`), and whether some were already dropped (reset)."""
        if index > self.index:  # the caller saw a previous incarnation (server restart, failover): start over
            return [], True
        oldest = self.events[0].index if self.events else self.index + 1
        reset = index >= 0 and index + 1 < oldest and index < self.index
        return [e for e in self.events if e.index > index][:limit], reset

    async def wait(self, index: int, timeout: float) -> None:
        """Return when there is an event after `index`, or after `timeout` seconds."""
        if self.index != index or timeout <= 0:  # news, or a caller from a previous incarnation
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)


def attach(core: Any) -> ChangeFeed:
    """The core's feed, created and subscribed to its change listeners on first use."""
    feed = getattr(core, "kv_events", None)
    if feed is None:
        feed = ChangeFeed()
        core.kv_events = feed
        core.change_listeners.append(feed.publish)
    return feed
