"""Embedded SQLite (WAL) store: the default backend.

Reads run inline on the event loop on their own connection (a WAL read of one row costs microseconds, less than
a thread hop). Writes go to one writer thread that commits whatever has queued up in a single transaction
(group commit): one fsync serves many concurrent writers, and the event loop never waits on the disk.
synchronous=FULL by default, so an acknowledged write survives power loss.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from strongroom.core._futures import settle
from strongroom.core.physical import Op, children, prefix_upper_bound

SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID"
UPSERT = "INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)"
DELETE = "DELETE FROM entries WHERE key = ?"
MAX_BATCH = 512


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=10000")
    return db


class SQLitePhysical:
    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("synchronous must be OFF, NORMAL, FULL or EXTRA")
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", mode=0o700, exist_ok=True)
        self.path = path
        self._writer = _connect(path, synchronous)
        self._writer.execute(SCHEMA)
        self._reader = self._writer if path == ":memory:" else _connect(path, synchronous)
        if path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.chmod(path + suffix, 0o600)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._pending: builtins.list[tuple[Sequence[Op], asyncio.Future[None]]] = []
        self._lock = threading.Lock()
        self._flushing = False

    # --- reads (inline) -----------------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        row = self._reader.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    async def list(self, prefix: str) -> list[str]:
        rows = self._reader.execute("SELECT key FROM entries WHERE key >= ? AND key < ? ORDER BY key",
                                    (prefix, prefix_upper_bound(prefix))).fetchall()
        return children(prefix, [r[0] for r in rows])

    # --- writes (group commit on the writer thread) -------------------------------------------------------------

    async def put(self, key: str, value: bytes) -> None:
        await self.transaction([Op(key, value)])

    async def delete(self, key: str) -> None:
        await self.transaction([Op(key, None)])

    async def transaction(self, ops: Sequence[Op]) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending.append((list(ops), fut))
            start = not self._flushing
            self._flushing = True
        if start:
            loop.run_in_executor(self._pool, self._drain, loop)
        await fut

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                if not batch:
                    self._flushing = False
                    return
            try:
                self._apply([ops for ops, _ in batch])
                results: list[BaseException | None] = [None] * len(batch)
            except sqlite3.Error:
                # one bad transaction must not fail its neighbours: retry each on its own
                results = []
                for ops, _ in batch:
                    try:
                        self._apply([ops])
                        results.append(None)
                    except sqlite3.Error as exc:
                        results.append(exc)
            for (_, fut), err in zip(batch, results, strict=True):
                loop.call_soon_threadsafe(settle, fut, err)

    def _apply(self, groups: Sequence[Sequence[Op]]) -> None:
        cur = self._writer.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for ops in groups:
                for op in ops:
                    if op.value is None:
                        cur.execute(DELETE, (op.key,))
                    else:
                        cur.execute(UPSERT, (op.key, op.value))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, lambda: None)  # drain queued writes
        self._pool.shutdown(wait=True)
        if self._reader is not self._writer:
            self._reader.close()
        self._writer.close()

