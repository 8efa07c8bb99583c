"""The first-access rule's memory: which identity has read which secret, kept compactly behind the barrier.

Each (identity, path) pair and each path is an 8-byte BLAKE2b digest; digests live in 16 shards (by first
nibble), each persisted as one sorted blob under sys/anomaly/seen/. Only shards that changed are written.
8 bytes give a false "already seen" chance of ~n/2^64: harmless for an alerting heuristic.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Protocol

from strongroom.core.anomaly.config import FirstAccessRule
from strongroom.core.anomaly.event import RequestEvent
from strongroom.core.anomaly.rules import Finding, _is_secret_access

log = logging.getLogger("strongroom.anomaly")
SHARDS = 16


class Store(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def put(self, key: str, value: bytes) -> None: ...


def digest(*parts: str) -> bytes:
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()


class SeenSet:
    def __init__(self) -> None:
        self.shards: list[set[bytes]] = [set() for _ in range(SHARDS)]
        self.dirty: set[int] = set()
        self.size = 0

    def __contains__(self, d: bytes) -> bool:
        return d in self.shards[d[0] >> 4]

    def add(self, d: bytes) -> None:
        i = d[0] >> 4
        s = self.shards[i]
        if d not in s:
            s.add(d)
            self.size += 1
            self.dirty.add(i)

    async def load(self, store: Store, name: str) -> None:
        for i in range(SHARDS):
            raw = await store.get(f"{name}/{i:x}")
            if raw:
                self.shards[i] = {raw[j:j + 8] for j in range(0, len(raw) - len(raw) % 8, 8)}
        self.size = sum(len(s) for s in self.shards)
        self.dirty.clear()

    async def flush(self, store: Store, name: str) -> None:
        for i in sorted(self.dirty):
            await store.put(f"{name}/{i:x}", b"".join(sorted(self.shards[i])))
        self.dirty.clear()


class FirstAccess:
    name = "first_access"

    def __init__(self, cfg: FirstAccessRule) -> None:
        self.cfg = cfg
        self.pairs = SeenSet()
        self.paths = SeenSet()  # secrets that some identity has read
        self.started = time.time()
        self._full_logged = False

    async def load(self, store: Store) -> None:
        raw = await store.get("seen/started")
        if raw:
            self.started = float(raw.decode())
        else:
            await store.put("seen/started", repr(self.started).encode())
        await self.pairs.load(store, "seen/pairs")
        await self.paths.load(store, "seen/paths")

    async def flush(self, store: Store) -> None:
        await self.pairs.flush(store, "seen/pairs")
        await self.paths.flush(store, "seen/paths")

    def feed(self, ev: RequestEvent) -> list[Finding]:
        if ev.operation != "read" or ev.outcome != "ok" or not _is_secret_access(ev):
            return []
        pair = digest(ev.identity, ev.path)
        if pair in self.pairs:
            return []
        if self.pairs.size + self.paths.size >= self.cfg.max_entries:
            if not self._full_logged:
                log.warning("first-access memory is full (%d entries); new pairs are not learned",
                            self.cfg.max_entries)
                self._full_logged = True
            return []
        self.pairs.add(pair)
        p = digest(ev.path)
        established = p in self.paths
        self.paths.add(p)
        if established and ev.time - self.started >= self.cfg.learning_period:
            return [Finding(self.name, "medium", ev.identity,
                            f"{ev.identity} read {ev.path} for the first time", ev, {"path": ev.path})]
        return []

    def tick(self, now: float) -> list[Finding]:
        return []
