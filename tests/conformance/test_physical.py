"""One suite every physical backend passes: SQLite, PostgreSQL (real server) and the in-memory store."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.core.physical import Op
from strongroom.core.physical.inmem import InjectedFault, InmemPhysical
from strongroom.core.physical.postgresql import PostgresPhysical
from strongroom.core.physical.sqlite import SQLitePhysical


@pytest.fixture(params=["inmem", "sqlite", "postgresql"])
def physical(request, tmp_path):
    """A factory: backends with connection pools must be opened inside the test's event loop."""
    kind = request.param
    if kind == "inmem":
        return InmemPhysical
    if kind == "sqlite":
        return lambda: SQLitePhysical(str(tmp_path / "data.db"))
    pg = request.getfixturevalue("pg")
    import psycopg

    db = "phys_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return lambda: PostgresPhysical(pg.dsn(db), max_size=4)


def test_put_get_delete(physical):
    async def go(physical):
        assert await physical.get("a/b") is None
        await physical.put("a/b", b"\x00\x01binary\xff")
        assert await physical.get("a/b") == b"\x00\x01binary\xff"
        await physical.put("a/b", b"v2")
        assert await physical.get("a/b") == b"v2"
        await physical.delete("a/b")
        assert await physical.get("a/b") is None
        await physical.delete("never/existed")  # idempotent

    _fresh(physical, go)


def _fresh(factory, fn):
    async def go():
        p = factory()
        if isinstance(p, PostgresPhysical):
            await p.open()
        try:
            return await fn(p)
        finally:
            await p.close()

    asyncio.run(go())


def test_list_children_and_folders(physical):
    async def go(physical):
        for k in ["x/a", "x/b/c", "x/b/d", "x/e/f/g", "y/z", "xz"]:
            await physical.put(k, b"1")
        assert await physical.list("x/") == ["a", "b/", "e/"]
        assert await physical.list("x/b/") == ["c", "d"]
        assert await physical.list("") == ["x/", "xz", "y/"]
        assert await physical.list("nothing/") == []

    _fresh(physical, go)


def test_transaction_all_or_nothing(physical):
    async def go(physical):
        await physical.put("t/keep", b"old")
        await physical.transaction([Op("t/new", b"1"), Op("t/keep", None)])
        assert await physical.get("t/new") == b"1"
        assert await physical.get("t/keep") is None

    _fresh(physical, go)


def test_large_value(physical):
    async def go(physical):
        big = bytes(range(256)) * 4096 * 4  # 4 MiB
        await physical.put("big", big)
        assert await physical.get("big") == big

    _fresh(physical, go)


def test_unicode_keys(physical):
    async def go(physical):
        await physical.put("ü/ñ/日本", b"1")
        assert await physical.list("ü/") == ["ñ/"]
        assert await physical.get("ü/ñ/日本") == b"1"

    _fresh(physical, go)


def test_inmem_fault_injection_loses_nothing():
    p = InmemPhysical()

    async def go():
        await p.put("k", b"v")
        p.fail_next = 1
        with pytest.raises(InjectedFault):
            await p.put("k", b"other")
        assert await p.get("k") == b"v"

    asyncio.run(go())


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-c]{1,2}(/[a-c]{1,2}){0,2}", fullmatch=True), st.binary(max_size=8),
                       max_size=12))
def test_listing_matches_model(entries):
    """Property: list() of every prefix agrees with a pure model of the key set."""
    p = InmemPhysical()

    async def go():
        for k, v in entries.items():
            await p.put(k, v)
        prefixes = {""} | {k[: i + 1] for k in entries for i, c in enumerate(k) if c == "/"}
        for prefix in prefixes:
            expect = sorted({k[len(prefix):].split("/")[0] + ("/" if "/" in k[len(prefix):] else "")
                             for k in entries if k.startswith(prefix)})
            assert await p.list(prefix) == expect

    asyncio.run(go())
