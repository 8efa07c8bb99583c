"""In-memory physical store for tests, with fault injection (fail or hang the next operations)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from strongroom.core.physical import Op, children


class InjectedFault(Exception):
    """Raised by InmemPhysical when a fault was injected."""


class InmemPhysical:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.fail_next: int = 0
        self.fail_ops: set[str] = {"get", "put", "delete", "list", "transaction"}
        self.delay: float = 0.0

    async def _maybe_fail(self, op: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next > 0 and op in self.fail_ops:
            self.fail_next -= 1
            raise InjectedFault(f"injected fault in {op}")

    async def get(self, key: str) -> bytes | None:
        await self._maybe_fail("get")
        return self.data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        await self._maybe_fail("put")
        self.data[key] = bytes(value)

    async def delete(self, key: str) -> None:
        await self._maybe_fail("delete")
        self.data.pop(key, None)

    async def list(self, prefix: str) -> list[str]:
        await self._maybe_fail("list")
        return children(prefix, sorted(k for k in self.data if k.startswith(prefix)))

    async def transaction(self, ops: Sequence[Op]) -> None:
        await self._maybe_fail("transaction")
        for op in ops:
            if op.value is None:
                self.data.pop(op.key, None)
            else:
                self.data[op.key] = bytes(op.value)

    async def close(self) -> None:
        return None
