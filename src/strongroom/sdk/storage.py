"""The storage an engine sees: a prefix-chrooted, encrypted view. Engines never touch physical storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def list(self, prefix: str) -> list[str]:
        """Immediate children of prefix (which is '' or ends in '/'); sub-folders end in '/'. Sorted."""
        ...


@runtime_checkable
class AtomicStorage(Protocol):
    """Storage that can write several keys in one atomic commit (value None deletes)."""

    async def put_many(self, items: Sequence[tuple[str, bytes | None]]) -> None: ...


async def write_all(storage: Storage, items: Sequence[tuple[str, bytes | None]]) -> None:
    """All-or-nothing (and one commit) where the storage supports it; in order otherwise."""
    if isinstance(storage, AtomicStorage):
        await storage.put_many(items)
        return
    for key, value in items:
        if value is None:
            await storage.delete(key)
        else:
            await storage.put(key, value)


async def list_recursive(storage: Storage, prefix: str = "") -> list[str]:
    """Every key below prefix, depth first."""
    out: list[str] = []
    for child in await storage.list(prefix):
        if child.endswith("/"):
            out.extend(await list_recursive(storage, prefix + child))
        else:
            out.append(prefix + child)
    return out


async def delete_recursive(storage: Storage, prefix: str) -> None:
    for key in await list_recursive(storage, prefix):
        await storage.delete(key)


class MemoryStorage:
    """An in-memory Storage for engine unit tests (sdk.testing)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.data[key] = value

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)

    async def put_many(self, items: Sequence[tuple[str, bytes | None]]) -> None:
        for key, value in items:
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    async def list(self, prefix: str) -> list[str]:
        children: set[str] = set()
        for key in self.data:
            if key.startswith(prefix):
                rest = key[len(prefix):]
                head, sep, _ = rest.partition("/")
                children.add(head + sep)
        return sorted(children)


__all__ = ["AtomicStorage", "MemoryStorage", "Storage", "delete_recursive", "list_recursive", "write_all"]
