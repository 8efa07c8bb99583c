"""Scale-out on PostgreSQL storage: leader election and cache invalidation across replicas.

Every replica serves every request. Exactly one, the leader, runs lease expiry, the backends' periodic functions
and static-role rotations. The leader holds a PostgreSQL session advisory lock on a dedicated connection; when
its process dies the database ends the session and frees the lock, and a standby takes it at its next attempt
(every `poll` seconds). A leader whose lock connection fails steps down at once.

Caches (tokens, policies, the keyring, the mount table, transit keys, Kubernetes auth config) are kept coherent
by a trigger on `strongroom_entries` that NOTIFYs the keys of cache-relevant writes; each replica LISTENs and drops
what changed, typically within milliseconds. If the listening connection drops, everything is invalidated after
it reconnects (at most a few seconds of staleness). Details in docs/scale-out.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import make_conninfo

if TYPE_CHECKING:
    from strongroom.core.core import Core

log = logging.getLogger("strongroom.ha")

LOCK_KEY = 0x5354524F4E47  # "STRONG": the election lock, per database
DDL_LOCK_KEY = LOCK_KEY + 1
CHANNEL = "strongroom_changes"
WATCHED = r"^(core/|sys/token/id/|sys/policy/|sys/expire/id/|logical/[^/]+/policy/|auth/[^/]+/config)"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS strongroom_ha_leader (
    id INT PRIMARY KEY CHECK (id = 1),
    node_id TEXT NOT NULL,
    api_addr TEXT NOT NULL,
    since DOUBLE PRECISION NOT NULL
);
CREATE OR REPLACE FUNCTION strongroom_notify_change() RETURNS trigger AS $fn$
DECLARE k TEXT := COALESCE(NEW.key, OLD.key);
BEGIN
    IF k ~ '{WATCHED}' THEN
        PERFORM pg_notify('{CHANNEL}', k);
    END IF;
    RETURN NULL;
END
$fn$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER strongroom_notify_change AFTER INSERT OR UPDATE OR DELETE ON strongroom_entries
    FOR EACH ROW EXECUTE FUNCTION strongroom_notify_change();
"""
KEEPALIVE = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2", "keepalives_count": "3",
             "connect_timeout": "5"}
# backends that cache storage in memory without an invalidate hook: rebuilt when their watched keys change
REBUILD_ON_CHANGE = ("transit", "kubernetes")


class HA:
    def __init__(self, core: Core, dsn: str, *, poll: float = 1.0) -> None:
        self.core = core
        self.dsn = dsn
        self._conninfo = make_conninfo(dsn, **KEEPALIVE)
        self.poll = poll
        self.node_id = str(uuid.uuid4())
        self.is_leader = False
        self.active_time = 0.0
        self.leader_address = ""
        self.leader_node = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._lock_conn: psycopg.AsyncConnection[Any] | None = None
        self.on_change: list[Any] = []  # extra listeners (tests, metrics)
        core.expiration.run_expiry = False  # nothing expires here until the election says so

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._elect_loop())]
        try:
            await self._install_schema()
        except psycopg.Error as exc:  # e.g. no privilege to create the trigger: election still works
            log.error("cannot install the change-feed trigger (%s): replicas' caches will not follow each "
                      "other; grant the storage user CREATE on its schema", type(exc).__name__)
            return
        self._tasks.append(loop.create_task(self._listen_loop()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        await self._step_down("sealing or shutting down")

    async def _install_schema(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            await conn.execute(SCHEMA.encode())

    # --- election -----------------------------------------------------------------------------------------------

    async def _elect_loop(self) -> None:
        while True:
            try:
                await self._elect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: drop the lock connection, try again next round
                await self._step_down(f"lock connection failed: {type(exc).__name__}")
            await asyncio.sleep(self.poll)

    async def _elect_once(self) -> None:
        if self._lock_conn is None or self._lock_conn.closed:
            self._lock_conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        conn = self._lock_conn
        if self.is_leader:
            await conn.execute("SELECT 1")  # heartbeat: a dead connection means the lock is gone
            return
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
        row = await cur.fetchone()
        if row is not None and row[0]:
            await self._become_leader(conn)
        else:
            await self._read_leader(conn)

    async def _become_leader(self, conn: psycopg.AsyncConnection[Any]) -> None:
        now = time.time()
        await conn.execute("CREATE TABLE IF NOT EXISTS strongroom_ha_leader (id INT PRIMARY KEY CHECK (id = 1), "
                           "node_id TEXT NOT NULL, api_addr TEXT NOT NULL, since DOUBLE PRECISION NOT NULL)")
        await conn.execute(
            "INSERT INTO strongroom_ha_leader (id, node_id, api_addr, since) VALUES (1, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET node_id = EXCLUDED.node_id, api_addr = EXCLUDED.api_addr, "
            "since = EXCLUDED.since", (self.node_id, self.core.config.api_addr, now))
        self.is_leader, self.active_time = True, now
        self.leader_node, self.leader_address = self.node_id, self.core.config.api_addr
        n = await self.core.expiration.rescan()
        self.core.expiration.set_leader(True)
        log.info("this node is now the active leader (%d leases queued)", n)

    async def _read_leader(self, conn: psycopg.AsyncConnection[Any]) -> None:
        cur = await conn.execute("SELECT node_id, api_addr, since FROM strongroom_ha_leader WHERE id = 1")
        row = await cur.fetchone()
        if row is not None:
            self.leader_node, self.leader_address = str(row[0]), str(row[1])

    async def _step_down(self, why: str) -> None:
        was = self.is_leader
        self.is_leader = False
        self.core.expiration.set_leader(False)
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()  # closing the session releases the advisory lock
        if was:
            log.warning("stepped down as leader: %s", why)

    # --- cache invalidation -------------------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if not first:
                        await self.invalidate_all()  # we may have missed changes while disconnected
                    first = False
                    async for note in conn.notifies():
                        await self.changed(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change feed connection lost (%s); reconnecting", type(exc).__name__)
            await asyncio.sleep(self.poll)

    async def changed(self, key: str) -> None:
        """Drops whatever this replica cached for a storage key another replica (or this one) wrote."""
        core = self.core
        if core.sealed:
            return
        try:
            if key.startswith("sys/token/id/"):
                core.tokens.invalidate(key[len("sys/token/id/"):])
            elif key.startswith("sys/policy/"):
                core.policies.invalidate()
            elif key == "core/keyring":
                await core.barrier.reload_keyring()
            elif key in ("core/mounts", "core/auth"):
                await self.sync_mounts()
            elif key.startswith("sys/expire/id/"):
                await core.expiration.note_changed(key[len("sys/expire/id/"):])
            elif m := re.match(r"^(logical|auth)/([^/]+)/(.*)$", key):
                await self._backend_changed(m.group(2), m.group(3))
            for listener in self.on_change:
                listener(key)
        except Exception:
            log.exception("applying a change from another replica failed; invalidating all caches")
            await self.invalidate_all()

    async def _backend_changed(self, mount_uuid: str, rel: str) -> None:
        for route in self.core.router.routes():
            if route.entry.uuid != mount_uuid:
                continue
            inv = getattr(route.backend, "invalidate", None)
            if callable(inv):
                r = inv(rel)
                if asyncio.iscoroutine(r):
                    await r
            elif route.entry.type in REBUILD_ON_CHANGE:
                await self._rebuild(route.entry)

    async def _rebuild(self, entry: Any) -> None:
        core = self.core
        old = core.router.remove(entry.route_path)
        await core._activate(entry)
        if old is not None and old.backend.clean is not None:
            await old.backend.clean()

    async def sync_mounts(self) -> None:
        """Brings this replica's mount table in line with storage (mounts, unmounts, tunes made elsewhere)."""
        from strongroom.core import mounts as mt

        core = self.core
        async with core._lock:
            raw, raw_auth = await core.barrier.get(mt.MOUNTS_PATH), await core.barrier.get(mt.AUTH_PATH)
            if raw is None or raw_auth is None:
                return
            stored = {e.uuid: e for e in [*mt.load(raw), *mt.load(raw_auth)]}
            current = {r.entry.uuid: r for r in core.router.routes()}
            for uid, route in current.items():
                if uid not in stored and route.entry.type != "system":
                    core.router.remove(route.prefix)
                    if route.backend.clean is not None:
                        await route.backend.clean()
            for uid, e in stored.items():
                have = current.get(uid)
                if have is None:
                    await core._activate(e)
                elif have.entry.options != e.options or have.entry.path != e.path:
                    await self._rebuild(e)
                else:
                    have.entry.config, have.entry.description = e.config, e.description
            core.mounts = [e for e in mt.load(raw)]
            core.auth_mounts = [e for e in mt.load(raw_auth)]
            for r in core.router.routes():  # keep the entries the router holds and the tables identical
                for e in (*core.mounts, *core.auth_mounts):
                    if e.uuid == r.entry.uuid:
                        r.entry = e

    async def invalidate_all(self) -> None:
        core = self.core
        if core.sealed:
            return
        core.tokens.invalidate()
        core.policies.invalidate()
        await core.barrier.reload_keyring()
        await self.sync_mounts()
        if self.is_leader:
            await core.expiration.rescan()

    # --- status -------------------------------------------------------------------------------------------------

    def leader_status(self) -> dict[str, Any]:
        """sys/leader's body."""
        return {"ha_enabled": True, "is_self": self.is_leader, "active_time": _rfc3339(self.active_time),
                "leader_address": self.leader_address, "leader_cluster_address": self.leader_address,
                "performance_standby": not self.is_leader, "performance_standby_last_remote_wal": 0,
                "raft_committed_index": 0, "raft_applied_index": 0}


def _rfc3339(ts: float) -> str:
    if not ts:
        return "0001-01-01T00:00:00Z"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def attach(core: Core, dsn: str, *, poll: float = 1.0) -> HA:
    """Wires HA into a core on PostgreSQL storage: it starts after unseal and stops before seal."""
    ha = HA(core, dsn, poll=poll)
    core.ha = ha
    core.post_unseal_hooks.append(ha.start)
    core.pre_seal_hooks.append(ha.stop)
    return ha


__all__ = ["HA", "LOCK_KEY", "attach"]
