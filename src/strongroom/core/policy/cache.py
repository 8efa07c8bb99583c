"""A small thread-safe LRU of compiled ACLs, keyed by (frozenset of policy names, store generation).

The policy store bumps its generation on every write or delete, so stale ACLs are simply never asked
for again and age out. An ACL whose rules carry an `expiration` is recompiled once that time passes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from strongroom.core.policy.acl import ACL
from strongroom.core.policy.model import Policy

CacheKey = tuple[frozenset[str], int]


class ACLCache:
    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: OrderedDict[CacheKey, ACL] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def key(policy_names: Iterable[str], generation: int) -> CacheKey:
        return (frozenset(policy_names), generation)

    def get(self, policy_names: Iterable[str], generation: int, *, now: dt.datetime | None = None) -> ACL | None:
        key = self.key(policy_names, generation)
        with self._lock:
            acl = self._items.get(key)
            if acl is not None and acl.valid_until is not None and acl.valid_until <= (now or _utcnow()):
                del self._items[key]
                acl = None
            if acl is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return acl

    def put(self, policy_names: Iterable[str], generation: int, acl: ACL) -> None:
        key = self.key(policy_names, generation)
        with self._lock:
            self._items[key] = acl
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def get_or_compile(
        self,
        policy_names: Iterable[str],
        generation: int,
        load: Callable[[frozenset[str]], Sequence[Policy]],
    ) -> ACL:
        """Return the cached ACL or compile `load(names)` (outside the lock) and cache it."""
        names = frozenset(policy_names)
        acl = self.get(names, generation)
        if acl is None:
            acl = ACL.compile(load(names))
            self.put(names, generation, acl)
        return acl

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
