"""The security barrier: AEAD over physical, storage path as AAD. The ONLY code that reads or writes physical
storage for logical data. Sealed = no keyring in memory = every access raises Sealed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from strongroom.core.barrier.keyring import Keyring
from strongroom.core.physical import Op, Physical
from strongroom.crypto import DecryptionError, aead
from strongroom.sdk.errors import Sealed

KEYRING_PATH = "core/keyring"
_MISSING = object()


class _ReadCache:
    """Bounded LRU of decrypted values (None = known absent). Plaintext in memory, as the server holds while
    serving; never logged. Correct only while this process is the sole writer of the storage."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.data: OrderedDict[str, bytes | None] = OrderedDict()
        self.size = 0
        self.generation = 0  # bumped around every write: a read that raced a write must not fill the cache

    def lookup(self, path: str) -> object:
        value = self.data.get(path, _MISSING)
        if value is not _MISSING:
            self.data.move_to_end(path)
        return value

    def fill(self, path: str, value: bytes | None, generation: int) -> None:
        if generation != self.generation:
            return
        cost = len(path) + (0 if value is None else len(value))
        if cost > self.max_bytes // 8:  # one huge value must not flush everything else
            return
        self.discard(path)
        self.data[path] = value
        self.size += cost
        while len(self.data) > self.max_entries or self.size > self.max_bytes:
            old, v = self.data.popitem(last=False)
            self.size -= len(old) + (0 if v is None else len(v))

    def discard(self, path: str) -> None:
        v = self.data.pop(path, _MISSING)
        if v is not _MISSING:
            self.size -= len(path) + (0 if v is None else len(v))  # type: ignore[arg-type]

    def clear(self) -> None:
        self.data.clear()
        self.size = 0
        self.generation += 1


class Barrier:
    def __init__(self, physical: Physical) -> None:
        self.physical = physical
        self._keyring: Keyring | None = None
        self.observe: Callable[[str, float], None] | None = None  # (operation, seconds) for metrics
        self._cache: _ReadCache | None = None

    def enable_read_cache(self, max_entries: int = 10_000, max_bytes: int = 64 << 20) -> None:
        """Caches decrypted reads. ONLY when this process is the sole writer of the physical storage (SQLite):
        with shared storage (PostgreSQL HA) another replica's write would leave stale entries here unless
        it is followed by `invalidate(key)` (e.g. from core/ha.py's LISTEN/NOTIFY handler)."""
        self._cache = _ReadCache(max_entries, max_bytes)

    def invalidate(self, path: str | None = None) -> None:
        """Drops one cached path (or everything): for a writer outside this barrier."""
        c = self._cache
        if c is not None:
            c.generation += 1
            if path is None:
                c.clear()
            else:
                c.discard(path)

    def _invalidate_keys(self, keys: Sequence[str]) -> None:
        c = self._cache
        if c is not None:
            c.generation += 1
            for k in keys:
                c.discard(k)

    @property
    def sealed(self) -> bool:
        return self._keyring is None

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise Sealed()
        return self._keyring

    async def initialize(self, root_key: bytes) -> Keyring:
        keyring = Keyring.new(root_key)
        await self._persist_keyring(keyring)
        return keyring

    async def _persist_keyring(self, keyring: Keyring) -> None:
        blob = aead.seal(keyring.root_key, 0, keyring.serialize(), KEYRING_PATH.encode())
        await self.physical.put(KEYRING_PATH, blob)

    async def unseal(self, root_key: bytes) -> None:
        blob = await self.physical.get(KEYRING_PATH)
        if blob is None:
            raise Sealed("barrier is not initialized")
        raw = aead.open_(root_key, blob, KEYRING_PATH.encode())
        self._keyring = Keyring.deserialize(raw)

    async def reload_keyring(self) -> None:
        """Picks up a rotation made by another replica sharing the storage."""
        if self._keyring is not None:
            await self.unseal(self._keyring.root_key)

    def seal(self) -> None:
        self._keyring = None
        if self._cache is not None:
            self._cache.clear()  # no plaintext kept while sealed

    async def rotate(self) -> int:
        keyring = self.keyring.rotate()
        await self._persist_keyring(keyring)
        self._keyring = keyring
        return keyring.active.term

    def encrypt(self, path: str, plaintext: bytes) -> bytes:
        k = self.keyring.active
        return aead.seal(k.value, k.term, plaintext, path.encode())

    def decrypt(self, path: str, blob: bytes) -> bytes:
        keyring = self.keyring
        key = keyring.key(aead.term_of(blob))
        if key is None:
            raise DecryptionError("value was sealed with an unknown key term")
        return aead.open_(key.value, blob, path.encode())

    async def get(self, path: str) -> bytes | None:
        self.keyring  # noqa: B018 - raises Sealed
        cache, generation = self._cache, 0
        if cache is not None:
            hit = cache.lookup(path)
            if hit is not _MISSING:
                return hit  # type: ignore[return-value]
            generation = cache.generation
        t0 = time.perf_counter()
        blob = await self.physical.get(path)
        if self.observe is not None:
            self.observe("get", time.perf_counter() - t0)
        value = None if blob is None else self.decrypt(path, blob)
        if cache is not None and cache is self._cache:
            cache.fill(path, value, generation)
        return value

    async def put(self, path: str, value: bytes) -> None:
        blob = self.encrypt(path, value)
        t0 = time.perf_counter()
        self._invalidate_keys((path,))
        try:
            await self.physical.put(path, blob)
        finally:
            self._invalidate_keys((path,))
        if self.observe is not None:
            self.observe("put", time.perf_counter() - t0)

    async def delete(self, path: str) -> None:
        self.keyring  # noqa: B018
        self._invalidate_keys((path,))
        try:
            await self.physical.delete(path)
        finally:
            self._invalidate_keys((path,))

    async def list(self, prefix: str) -> list[str]:
        self.keyring  # noqa: B018
        return await self.physical.list(prefix)

    async def transaction(self, ops: Sequence[Op]) -> None:
        sealed = [Op(o.key, None if o.value is None else self.encrypt(o.key, o.value)) for o in ops]
        keys = [o.key for o in ops]
        self._invalidate_keys(keys)
        try:
            await self.physical.transaction(sealed)
        finally:
            self._invalidate_keys(keys)


class View:
    """A prefix-chrooted window onto the barrier: what an engine gets as its Storage."""

    def __init__(self, barrier: Barrier, prefix: str) -> None:
        self.barrier = barrier
        self.prefix = prefix

    def _check(self, key: str) -> str:
        if ".." in key and ".." in key.split("/"):
            from strongroom.sdk.errors import InvalidRequest

            raise InvalidRequest("invalid key: path traversal")
        return self.prefix + key

    async def get(self, key: str) -> bytes | None:
        return await self.barrier.get(self._check(key))

    async def put(self, key: str, value: bytes) -> None:
        await self.barrier.put(self._check(key), value)

    async def delete(self, key: str) -> None:
        await self.barrier.delete(self._check(key))

    async def list(self, prefix: str) -> list[str]:
        return await self.barrier.list(self._check(prefix))

    async def put_many(self, items: Sequence[tuple[str, bytes | None]]) -> None:
        await self.barrier.transaction([Op(self._check(k), v) for k, v in items])

    def sub(self, prefix: str) -> View:
        return View(self.barrier, self.prefix + prefix)


__all__ = ["Barrier", "Keyring", "View"]
