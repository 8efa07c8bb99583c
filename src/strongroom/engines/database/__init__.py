"""The database secrets engine (Vault's API): connections, dynamic roles with leased users, static roles.

Engines never track leases: `creds/:role` returns a `creds` secret and the core's lease manager renews and
revokes it through the SecretType declared here.
"""

from __future__ import annotations

import asyncio
import logging

from strongroom.engines.database import ops, path_config, path_roles, path_static
from strongroom.engines.database.store import DatabaseStore
from strongroom.sdk.framework import Backend, BackendConfig

log = logging.getLogger("strongroom.database")


def factory(config: BackendConfig) -> Backend:
    store = DatabaseStore()
    tasks: set[asyncio.Task[None]] = set()

    async def replay() -> None:
        try:
            await ops.replay_wal(store, config.storage, min_age=0.0)
        except Exception:  # startup must not fail on an unreachable database; periodic retries
            log.warning("replaying the database engine's write-ahead records failed; retrying later")

    async def initialize() -> None:
        """Leftover write-ahead records (a crash mid-creation) are rolled back in the background."""
        if await config.storage.list("wal/"):
            task = asyncio.get_running_loop().create_task(replay())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def periodic() -> None:
        await ops.replay_wal(store, config.storage)
        await path_static.rotate_due(store, config.storage)

    async def clean() -> None:
        for task in list(tasks):
            task.cancel()
        await store.close_all()

    return Backend(
        paths=[*path_config.paths(store), *path_roles.paths(store, config), *path_static.paths(store)],
        help="The database engine creates database users on demand, with leases, and rotates static ones.",
        secrets=[path_roles.secret_type(store, config)],
        initialize=initialize, periodic=periodic, clean=clean,
        root_paths=("config/*", "rotate-root/*", "reset/*"),
    )


__all__ = ["factory"]
