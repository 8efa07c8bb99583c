"""What the engine does to a database: create a user (with a write-ahead record and rollback), revoke, renew,
rotate a static role or the root credential. Each operation's statements run in one transaction.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from strongroom.engines.database import statements as st
from strongroom.engines.database.credentials import generate_password
from strongroom.engines.database.plugin import DatabaseError, Plugin
from strongroom.engines.database.store import DatabaseStore, DbConfig, Role, StaticRole
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.storage import Storage

log = logging.getLogger("strongroom.database")
WAL_MIN_AGE = 30.0  # a record younger than this may belong to a creation still running on another replica


def _queries(stmts: list[str], values: dict[str, str]) -> list[str]:
    return [st.render(q, values) for q in st.split(stmts)]


async def create_user(store: DatabaseStore, storage: Storage, cfg: DbConfig, plugin: Plugin, role: Role,
                      username: str, password: str, expires: float) -> None:
    """WAL record first, then the creation statements; on failure rollback (or DROP ROLE), record cleared."""
    wal_id = await store.wal_put(storage, "creation", {"db_name": cfg.name, "username": username,
                                                       "rollback_statements": role.rollback_statements})
    values = {"name": username, "username": username, "password": password,
              "expiration": st.format_expiration(expires)}
    try:
        await plugin.run(_queries(role.creation_statements, values), secrets=(password,))
    except DatabaseError as exc:
        try:
            await rollback(plugin, username, role.rollback_statements)
            await store.wal_delete(storage, wal_id)
        except DatabaseError:
            log.warning("rolling back a failed user creation failed; the write-ahead record stays for a retry")
        raise InvalidRequest(f"creating the database user failed: {exc}") from None
    await store.wal_delete(storage, wal_id)


async def rollback(plugin: Plugin, username: str, rollback_statements: list[str]) -> None:
    if rollback_statements:
        await plugin.run(_queries(rollback_statements, {"name": username, "username": username}))
    else:
        await plugin.revoke_default(username)


async def replay_wal(store: DatabaseStore, storage: Storage, *, min_age: float = WAL_MIN_AGE) -> int:
    """Rolls back creations left half-done by a crash. Returns how many records were cleared."""
    done = 0
    now = time.time()
    for wal_id, rec in await store.wal_entries(storage):
        if rec.get("kind") != "creation" or now - float(rec.get("created", 0)) < min_age:
            continue
        try:
            _, plugin = await store.plugin(storage, str(rec["db_name"]))
            await rollback(plugin, str(rec["username"]), list(rec.get("rollback_statements") or []))
        except (DatabaseError, InvalidRequest) as exc:
            log.warning("write-ahead rollback for a database user failed, will retry: %s", exc)
            continue
        await store.wal_delete(storage, wal_id)
        done += 1
    return done


async def revoke_user(plugin: Plugin, username: str, revocation_statements: list[str]) -> None:
    if revocation_statements:
        await plugin.run(_queries(revocation_statements, {"name": username, "username": username}))
    else:
        await plugin.revoke_default(username)


async def renew_user(plugin: Plugin, username: str, renew_statements: list[str], expires: float) -> None:
    stmts = renew_statements or plugin.default_renew()
    values = {"name": username, "username": username, "expiration": st.format_expiration(expires)}
    await plugin.run(_queries(stmts, values))


async def set_password(plugin: Plugin, username: str, statements: list[str], password: str) -> None:
    stmts = statements or plugin.default_rotation()
    await plugin.run(_queries(stmts, {"name": username, "username": username, "password": password}),
                     secrets=(password,))


async def rotate_static(store: DatabaseStore, storage: Storage, role: StaticRole,
                        next_time: Any) -> StaticRole:
    """New password for a static role's user; stored only once the database accepted it."""
    _, plugin = await store.plugin(storage, role.db_name)
    password = generate_password()
    try:
        await set_password(plugin, role.username, role.rotation_statements, password)
    except DatabaseError as exc:
        raise InvalidRequest(f"rotating the static role's password failed: {exc}") from None
    now = time.time()
    role.password, role.last_rotation, role.next_rotation = password, now, float(next_time(role, now))
    await store.put_static_role(storage, role)
    return role


async def rotate_root(store: DatabaseStore, storage: Storage, name: str) -> None:
    cfg, plugin = await store.plugin(storage, name)
    if not cfg.username or not cfg.password:
        raise InvalidRequest("the connection has no username and password to rotate")
    password = generate_password()
    wal_id = await store.wal_put(storage, "root-rotation", {"db_name": name})
    try:
        await set_password(plugin, cfg.username, cfg.root_rotation_statements, password)
    except DatabaseError as exc:
        await store.wal_delete(storage, wal_id)
        raise InvalidRequest(f"rotating the root credential failed: {exc}") from None
    cfg.password = password
    await store.put_config(storage, cfg)
    await store.wal_delete(storage, wal_id)


__all__ = ["create_user", "renew_user", "replay_wal", "revoke_user", "rollback", "rotate_root", "rotate_static"]
