"""The composition root: the one place that knows every engine, auth method and storage backend."""

from __future__ import annotations

from strongroom.core.core import Core, CoreConfig
from strongroom.core.physical import Physical
from strongroom.core.system import build as build_system
from strongroom.core.tokens.backend import build as build_token
from strongroom.engines import cubbyhole, kv, transit
from strongroom.sdk.framework import Backend, BackendConfig


def _identity(core: Core, cfg: BackendConfig) -> Backend:
    return Backend(paths=[], help="identity store")


ENGINES = {"kv": kv.factory, "cubbyhole": cubbyhole.factory, "transit": transit.factory}
AUTH_METHODS: dict[str, object] = {}


def engines() -> dict[str, object]:
    out: dict[str, object] = dict(ENGINES)
    for name, mod in _optional_engines().items():
        out[name] = mod
    return out


def _optional_engines() -> dict[str, object]:
    """Engines built by other parts of the project register here as they land."""
    found: dict[str, object] = {}
    import importlib

    for name, module in (("database", "strongroom.engines.database"),):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        found[name] = mod.factory
    return found


def _auth_methods() -> dict[str, object]:
    found: dict[str, object] = {}
    import importlib

    for name, module in (("userpass", "strongroom.auth.userpass"), ("approle", "strongroom.auth.approle"),
                         ("kubernetes", "strongroom.auth.kubernetes")):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        found[name] = mod.factory
    return found


def build_core(physical: Physical, config: CoreConfig | None = None) -> Core:
    return Core(physical, engines=engines(), auth_methods=_auth_methods(),  # type: ignore[arg-type]
                internal={"system": build_system, "token": build_token}, config=config)
