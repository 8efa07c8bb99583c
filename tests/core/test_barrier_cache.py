"""The barrier's decrypted-read cache: every write path invalidates, racing reads never leave stale values,
bounds hold, sealing drops the plaintext."""

from __future__ import annotations

import asyncio
import os

import pytest

from strongroom.core.barrier import Barrier, View
from strongroom.core.physical import Op
from strongroom.core.physical.inmem import InjectedFault, InmemPhysical
from strongroom.sdk.errors import InvalidRequest, Sealed


async def _barrier(**cache: int) -> tuple[Barrier, InmemPhysical]:
    physical = InmemPhysical()
    barrier = Barrier(physical)
    root = os.urandom(32)
    await barrier.initialize(root)
    await barrier.unseal(root)
    barrier.enable_read_cache(**cache)
    return barrier, physical


def test_reads_are_served_from_cache_and_writes_invalidate() -> None:
    async def go() -> None:
        b, phys = await _barrier()
        assert await b.get("a") is None  # absence is cached too
        await b.put("a", b"1")
        assert await b.get("a") == b"1"
        # a write that bypasses the barrier is not seen until invalidated: proves the read came from cache
        phys.data["a"] = b.encrypt("a", b"outside")
        assert await b.get("a") == b"1"
        b.invalidate("a")
        assert await b.get("a") == b"outside"
        await b.put("a", b"2")
        assert await b.get("a") == b"2"
        await b.transaction([Op("a", b"3"), Op("b", b"4")])
        assert (await b.get("a"), await b.get("b")) == (b"3", b"4")
        await b.transaction([Op("b", None)])
        assert await b.get("b") is None
        await b.delete("a")
        assert await b.get("a") is None
        b.invalidate()
        assert await b.get("a") is None

    asyncio.run(go())


def test_failed_write_leaves_no_stale_value() -> None:
    async def go() -> None:
        b, phys = await _barrier()
        await b.put("k", b"old")
        assert await b.get("k") == b"old"
        phys.fail_next = 1
        with pytest.raises(InjectedFault):
            await b.put("k", b"new")
        assert await b.get("k") == b"old"
        phys.fail_next = 1
        with pytest.raises(InjectedFault):
            await b.transaction([Op("k", b"new")])
        assert await b.get("k") == b"old"

    asyncio.run(go())


class _SnapshotReadPhysical(InmemPhysical):
    """A get that sees the value as of its start and returns it later, as a slow read of an old snapshot."""

    async def get(self, key: str) -> bytes | None:
        value = self.data.get(key)
        await asyncio.sleep(0.02)
        return value


def test_read_racing_a_write_does_not_fill_the_cache_with_the_old_value() -> None:
    async def go() -> None:
        physical = _SnapshotReadPhysical()
        b = Barrier(physical)
        root = os.urandom(32)
        await b.initialize(root)
        await b.unseal(root)
        b.enable_read_cache()
        await b.put("k", b"old")
        reader = asyncio.create_task(b.get("k"))  # snapshot of "old", returned after the write below ends
        await asyncio.sleep(0)
        await b.put("k", b"new")
        assert await reader == b"old"
        assert await b.get("k") == b"new"

    asyncio.run(go())


def test_bounds_hold() -> None:
    async def go() -> None:
        b, _ = await _barrier(max_entries=3, max_bytes=1 << 20)
        for i in range(10):
            await b.put(f"k{i}", b"v")
            await b.get(f"k{i}")
        assert b._cache is not None and len(b._cache.data) == 3
        b2, _ = await _barrier(max_entries=100, max_bytes=800)
        for i in range(10):
            await b2.put(f"k{i}", b"x" * 90)
            assert await b2.get(f"k{i}") == b"x" * 90
        assert b2._cache is not None and b2._cache.size <= 800
        await b2.put("huge", b"x" * 500)  # larger than an eighth of the budget: served, not cached
        assert await b2.get("huge") == b"x" * 500
        assert "huge" not in b2._cache.data

    asyncio.run(go())


def test_seal_drops_cached_plaintext() -> None:
    async def go() -> None:
        b, _ = await _barrier()
        await b.put("k", b"secret")
        assert await b.get("k") == b"secret"
        b.seal()
        assert b._cache is not None and not b._cache.data
        with pytest.raises(Sealed):
            await b.get("k")

    asyncio.run(go())


def test_view_rejects_traversal_but_not_dots_in_names() -> None:
    async def go() -> None:
        b, _ = await _barrier()
        view = View(b, "mount/")
        for bad in ("..", "a/../b", "../x", "a/.."):
            with pytest.raises(InvalidRequest):
                await view.get(bad)
        await view.put("a..b/c.d", b"ok")
        assert await view.get("a..b/c.d") == b"ok"

    asyncio.run(go())
