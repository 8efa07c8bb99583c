"""Untrusted byte stores. Only core.barrier and core.seal use these; everything else sees the barrier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Op:
    """One write inside a transaction: value None = delete."""

    key: str
    value: bytes | None


class Physical(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def list(self, prefix: str) -> list[str]: ...

    async def transaction(self, ops: Sequence[Op]) -> None:
        """All or nothing."""
        ...

    async def close(self) -> None: ...


def children(prefix: str, keys: list[str]) -> list[str]:
    """Immediate children of prefix among keys (all of which start with prefix), folders with a trailing '/'."""
    out: list[str] = []
    last = None
    n = len(prefix)
    for key in keys:
        rest = key[n:]
        i = rest.find("/")
        child = rest if i < 0 else rest[: i + 1]
        if child != last:
            out.append(child)
            last = child
    return sorted(set(out))


def prefix_upper_bound(prefix: str) -> str:
    """Smallest string greater than every string starting with prefix (for range scans)."""
    return prefix + "\U0010ffff"


__all__ = ["Op", "Physical", "children", "prefix_upper_bound"]
