"""The engine's state in its storage view: connections (`config/`), roles (`role/`), static roles
(`static-role/`) and write-ahead records (`wal/`), plus the cache of open plugin instances.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from strongroom.engines.database import postgresql  # noqa: F401 - registers the plugin
from strongroom.engines.database.plugin import REGISTRY, ConnectionConfig, DatabaseError, Plugin
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.storage import Storage

log = logging.getLogger("strongroom.database")


@dataclass
class DbConfig:
    name: str
    plugin_name: str
    connection_url: str
    username: str = ""
    password: str = ""
    verify_connection: bool = True
    allowed_roles: list[str] = field(default_factory=list)
    root_rotation_statements: list[str] = field(default_factory=list)
    password_policy: str = ""
    username_template: str = ""
    max_open_connections: int = 4
    max_idle_connections: int = 0
    max_connection_lifetime: int = 0
    disable_escaping: bool = False
    plugin_version: str = ""

    def connection(self) -> ConnectionConfig:
        return ConnectionConfig(self.connection_url, self.username, self.password, self.max_open_connections,
                                self.max_idle_connections, self.max_connection_lifetime, self.disable_escaping)

    def allows(self, role: str) -> bool:
        """Exact names or `*` globs, as Vault's allowed_roles."""
        return any(re.fullmatch(".*".join(map(re.escape, pat.split("*"))), role) for pat in self.allowed_roles)

    def public(self) -> dict[str, Any]:
        """GET config/:name as OpenBao shows it: connection details without the password, defaults omitted."""
        details: dict[str, Any] = {"connection_url": self.connection_url, "username": self.username}
        if self.max_open_connections != 4:
            details["max_open_connections"] = self.max_open_connections
        if self.max_idle_connections:
            details["max_idle_connections"] = self.max_idle_connections
        if self.max_connection_lifetime:
            details["max_connection_lifetime"] = f"{self.max_connection_lifetime}s"
        if self.username_template:
            details["username_template"] = self.username_template
        if self.disable_escaping:
            details["disable_escaping"] = True
        return {"plugin_name": self.plugin_name, "plugin_version": self.plugin_version,
                "connection_details": details, "allowed_roles": self.allowed_roles,
                "root_credentials_rotate_statements": self.root_rotation_statements,
                "password_policy": self.password_policy}

    def secrets(self) -> tuple[str, ...]:
        return (self.password, self.connection_url if "{{password}}" not in self.connection_url else "")


@dataclass
class Role:
    name: str
    db_name: str
    creation_statements: list[str]
    revocation_statements: list[str] = field(default_factory=list)
    rollback_statements: list[str] = field(default_factory=list)
    renew_statements: list[str] = field(default_factory=list)
    default_ttl: int = 0
    max_ttl: int = 0
    credential_type: str = "password"
    credential_config: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        if not d["credential_config"]:
            d.pop("credential_config")  # OpenBao omits it when unset
        return d


@dataclass
class StaticRole:
    name: str
    db_name: str
    username: str
    rotation_statements: list[str] = field(default_factory=list)
    rotation_period: int = 0
    rotation_schedule: str = ""
    rotation_window: int = 0
    credential_type: str = "password"
    password: str = ""
    last_rotation: float = 0.0
    next_rotation: float = 0.0

    def public(self) -> dict[str, Any]:
        d: dict[str, Any] = {"db_name": self.db_name, "username": self.username,
                             "rotation_statements": self.rotation_statements,
                             "credential_type": self.credential_type,
                             "last_vault_rotation": _rfc3339(self.last_rotation) if self.last_rotation else None}
        if self.rotation_schedule:
            d["rotation_schedule"] = self.rotation_schedule
            d["rotation_window"] = self.rotation_window
        else:
            d["rotation_period"] = self.rotation_period
        return d


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


def _load(cls: type[Any], raw: bytes | None) -> Any:
    if raw is None:
        return None
    d = orjson.loads(raw)
    return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class DatabaseStore:
    def __init__(self) -> None:
        self._plugins: dict[str, tuple[str, Plugin]] = {}  # name -> (config fingerprint, plugin)
        self._lock = asyncio.Lock()

    # --- configs -------------------------------------------------------------------------------------------

    async def config(self, storage: Storage, name: str) -> DbConfig | None:
        return _load(DbConfig, await storage.get(f"config/{name}"))  # type: ignore[no-any-return]

    async def put_config(self, storage: Storage, cfg: DbConfig) -> None:
        await storage.put(f"config/{cfg.name}", orjson.dumps(asdict(cfg)))
        await self.close_plugin(cfg.name)

    async def plugin(self, storage: Storage, name: str) -> tuple[DbConfig, Plugin]:
        """The open plugin for a connection; rebuilt whenever the stored config changed (even by a replica)."""
        raw = await storage.get(f"config/{name}")
        if raw is None:
            raise InvalidRequest(f"no database connection named {name!r}")
        cfg: DbConfig = _load(DbConfig, raw)
        fp = hashlib.sha256(raw).hexdigest()
        async with self._lock:
            cached = self._plugins.get(name)
            if cached is not None and cached[0] == fp:
                return cfg, cached[1]
            if cached is not None:
                await _close_quietly(cached[1])
            plugin = new_plugin(cfg)
            self._plugins[name] = (fp, plugin)
            return cfg, plugin

    async def close_plugin(self, name: str) -> None:
        async with self._lock:
            cached = self._plugins.pop(name, None)
        if cached is not None:
            await _close_quietly(cached[1])

    async def close_all(self) -> None:
        for name in list(self._plugins):
            await self.close_plugin(name)

    # --- roles ---------------------------------------------------------------------------------------------

    async def role(self, storage: Storage, name: str) -> Role | None:
        return _load(Role, await storage.get(f"role/{name}"))  # type: ignore[no-any-return]

    async def put_role(self, storage: Storage, role: Role) -> None:
        await storage.put(f"role/{role.name}", orjson.dumps(asdict(role)))

    async def static_role(self, storage: Storage, name: str) -> StaticRole | None:
        return _load(StaticRole, await storage.get(f"static-role/{name}"))  # type: ignore[no-any-return]

    async def put_static_role(self, storage: Storage, role: StaticRole) -> None:
        await storage.put(f"static-role/{role.name}", orjson.dumps(asdict(role)))

    # --- write-ahead records -------------------------------------------------------------------------------

    async def wal_put(self, storage: Storage, kind: str, data: dict[str, Any]) -> str:
        wal_id = uuid.uuid4().hex
        await storage.put(f"wal/{wal_id}", orjson.dumps({"kind": kind, "created": time.time(), **data}))
        return wal_id

    async def wal_delete(self, storage: Storage, wal_id: str) -> None:
        await storage.delete(f"wal/{wal_id}")

    async def wal_entries(self, storage: Storage) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for wal_id in await storage.list("wal/"):
            raw = await storage.get(f"wal/{wal_id}")
            if raw is not None:
                out.append((wal_id, orjson.loads(raw)))
        return out


def new_plugin(cfg: DbConfig) -> Plugin:
    factory = REGISTRY.get(cfg.plugin_name)
    if factory is None:
        raise InvalidRequest(f"unsupported plugin_name {cfg.plugin_name!r} "
                             f"(supported: {', '.join(sorted(REGISTRY))})")
    return factory(cfg.connection())


async def _close_quietly(plugin: Plugin) -> None:
    try:
        await plugin.close()
    except (DatabaseError, OSError, RuntimeError):
        log.warning("closing a database connection pool failed")


__all__ = ["DatabaseStore", "DbConfig", "Role", "StaticRole", "new_plugin"]
