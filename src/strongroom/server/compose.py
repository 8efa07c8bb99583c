"""The composition root: the one place that knows every engine, auth method and storage backend.

Components are listed explicitly; a new engine or auth method is added here once it is finished.
"""

from __future__ import annotations

import importlib

from strongroom.core.core import Core, CoreConfig, Factory
from strongroom.core.physical import Physical
from strongroom.core.system import build as build_system
from strongroom.core.tokens.backend import build as build_token
from strongroom.sdk.framework import Backend, BackendConfig


class Lazy:
    """A factory imported on first mount: the server starts without importing engines nobody mounted
    (psycopg, httpx and their dependencies cost more start-up time than the whole core)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def __call__(self, config: BackendConfig) -> Backend:
        factory: Factory = importlib.import_module(self.module).factory
        return factory(config)


ENGINES: dict[str, Factory] = {
    "kv": Lazy("strongroom.engines.kv"), "cubbyhole": Lazy("strongroom.engines.cubbyhole"),
    "transit": Lazy("strongroom.engines.transit"), "database": Lazy("strongroom.engines.database"),
}
AUTH_METHODS: dict[str, Factory] = {
    "userpass": Lazy("strongroom.auth.userpass"), "approle": Lazy("strongroom.auth.approle"),
    "kubernetes": Lazy("strongroom.auth.kubernetes"),
}


def build_core(physical: Physical, config: CoreConfig | None = None) -> Core:
    core = Core(physical, engines=ENGINES, auth_methods=AUTH_METHODS,
                internal={"system": build_system, "token": build_token}, config=config)
    dsn = getattr(physical, "dsn", None)
    if type(physical).__name__ == "PostgresPhysical" and isinstance(dsn, str):
        from strongroom.core import ha

        ha.attach(core, dsn)  # scale-out: leader election + cross-replica cache invalidation
    return core
