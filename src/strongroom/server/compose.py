"""The composition root: the one place that knows every engine, auth method and storage backend.

Components are listed explicitly; a new engine or auth method is added here once it is finished.
"""

from __future__ import annotations

from strongroom.auth import approle, kubernetes, userpass
from strongroom.core.core import Core, CoreConfig, Factory
from strongroom.core.physical import Physical
from strongroom.core.system import build as build_system
from strongroom.core.tokens.backend import build as build_token
from strongroom.engines import cubbyhole, database, kv, transit

ENGINES: dict[str, Factory] = {"kv": kv.factory, "cubbyhole": cubbyhole.factory, "transit": transit.factory,
                               "database": database.factory}
AUTH_METHODS: dict[str, Factory] = {"userpass": userpass.factory, "approle": approle.factory,
                                    "kubernetes": kubernetes.factory}


def build_core(physical: Physical, config: CoreConfig | None = None) -> Core:
    core = Core(physical, engines=ENGINES, auth_methods=AUTH_METHODS,
                internal={"system": build_system, "token": build_token}, config=config)
    dsn = getattr(physical, "dsn", None)
    if type(physical).__name__ == "PostgresPhysical" and isinstance(dsn, str):
        from strongroom.core import ha

        ha.attach(core, dsn)  # scale-out: leader election + cross-replica cache invalidation
    return core
