"""PostgreSQL store (psycopg 3, async pool): the scale-out backend. Several stateless servers share one database."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg_pool import AsyncConnectionPool

from strongroom.core.physical import Op, children, prefix_upper_bound

SCHEMA = """
CREATE TABLE IF NOT EXISTS strongroom_entries (
    key TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
)
"""


class PostgresPhysical:
    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 16) -> None:
        self.dsn = dsn
        self.pool = AsyncConnectionPool(dsn, min_size=min_size, max_size=max_size, open=False,
                                        kwargs={"autocommit": True, "prepare_threshold": 0})

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)
        async with self.pool.connection() as conn:
            await conn.execute(SCHEMA)

    async def get(self, key: str) -> bytes | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT value FROM strongroom_entries WHERE key = %s", (key,))
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])

    async def put(self, key: str, value: bytes) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO strongroom_entries (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))

    async def delete(self, key: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM strongroom_entries WHERE key = %s", (key,))

    async def list(self, prefix: str) -> list[str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT key FROM strongroom_entries WHERE key >= %s AND key < %s ORDER BY key",
                (prefix, prefix_upper_bound(prefix)))
            rows = await cur.fetchall()
        return children(prefix, [r[0] for r in rows])

    async def transaction(self, ops: Sequence[Op]) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            for op in ops:
                if op.value is None:
                    await conn.execute("DELETE FROM strongroom_entries WHERE key = %s", (op.key,))
                else:
                    await conn.execute(
                        "INSERT INTO strongroom_entries (key, value) VALUES (%s, %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (op.key, op.value))

    async def close(self) -> None:
        await self.pool.close()


__all__ = ["PostgresPhysical", "psycopg"]
