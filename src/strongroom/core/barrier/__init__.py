"""The security barrier: AEAD over physical, storage path as AAD. The ONLY code that reads or writes physical
storage for logical data. Sealed = no keyring in memory = every access raises Sealed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from strongroom.core.barrier.keyring import Keyring
from strongroom.core.physical import Op, Physical
from strongroom.crypto import DecryptionError, aead
from strongroom.sdk.errors import Sealed

KEYRING_PATH = "core/keyring"


class Barrier:
    def __init__(self, physical: Physical) -> None:
        self.physical = physical
        self._keyring: Keyring | None = None
        self.observe: Callable[[str, float], None] | None = None  # (operation, seconds) for metrics

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
        t0 = time.perf_counter()
        blob = await self.physical.get(path)
        if self.observe is not None:
            self.observe("get", time.perf_counter() - t0)
        return None if blob is None else self.decrypt(path, blob)

    async def put(self, path: str, value: bytes) -> None:
        blob = self.encrypt(path, value)
        t0 = time.perf_counter()
        await self.physical.put(path, blob)
        if self.observe is not None:
            self.observe("put", time.perf_counter() - t0)

    async def delete(self, path: str) -> None:
        self.keyring  # noqa: B018
        await self.physical.delete(path)

    async def list(self, prefix: str) -> list[str]:
        self.keyring  # noqa: B018
        return await self.physical.list(prefix)

    async def transaction(self, ops: Sequence[Op]) -> None:
        await self.physical.transaction(
            [Op(o.key, None if o.value is None else self.encrypt(o.key, o.value)) for o in ops])


class View:
    """A prefix-chrooted window onto the barrier: what an engine gets as its Storage."""

    def __init__(self, barrier: Barrier, prefix: str) -> None:
        self.barrier = barrier
        self.prefix = prefix

    def _check(self, key: str) -> str:
        if ".." in key.split("/"):
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
