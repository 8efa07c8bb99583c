"""Audit: devices, per-device salted hashing, and the broker the request pipeline calls (see broker.py)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from strongroom.core.audit.broker import Broker, Runner
from strongroom.core.audit.devices import build
from strongroom.core.audit.format import FormatOptions
from strongroom.core.audit.hashing import hash_value
from strongroom.core.barrier import Barrier
from strongroom.crypto import random_bytes
from strongroom.sdk.errors import InvalidRequest

log = logging.getLogger("strongroom.audit")
TABLE = "core/audit"


@dataclass
class AuditConfig:
    path: str
    type: str
    description: str = ""
    options: dict[str, str] = field(default_factory=dict)
    local: bool = False
    declared: bool = False  # from the server config file: not removable through the API


def _bool(v: Any, default: bool) -> bool:
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return v
    return str(v).lower() in ("1", "true", "yes", "on")


class AuditManager:
    def __init__(self, barrier: Barrier, *, timeout: float = 1.0, api_changes_allowed: bool = True) -> None:
        self.barrier = barrier
        self.broker = Broker(timeout=timeout)
        self.configs: dict[str, AuditConfig] = {}
        self.declared: list[AuditConfig] = []
        self.api_changes_allowed = api_changes_allowed

    async def _salt(self, path: str) -> bytes:
        key = f"core/audit-salt/{path}"
        salt = await self.barrier.get(key)
        if salt is None:
            salt = random_bytes(32)
            await self.barrier.put(key, salt)
        return salt

    async def _runner(self, cfg: AuditConfig) -> Runner:
        o = cfg.options
        fmt = str(o.get("format", "json"))
        if fmt not in ("json", "jsonx"):
            raise InvalidRequest("format must be json or jsonx")
        opts = FormatOptions(salt=await self._salt(cfg.path), log_raw=_bool(o.get("log_raw"), False),
                             hmac_accessor=_bool(o.get("hmac_accessor"), True),
                             elide_list_responses=_bool(o.get("elide_list_responses"), False), fmt=fmt,
                             prefix=str(o.get("prefix", "")))
        return Runner(cfg.path, cfg.type, build(cfg.type, dict(o)), opts)

    async def setup(self) -> None:
        raw = await self.barrier.get(TABLE)
        stored = [AuditConfig(**d) for d in orjson.loads(raw)] if raw else []
        for cfg in [*self.declared, *stored]:
            if cfg.path in self.configs:
                continue
            try:
                self.broker.runners[cfg.path] = await self._runner(cfg)
                self.configs[cfg.path] = cfg
            except (InvalidRequest, OSError) as exc:
                log.error("cannot open audit device %s: %s", cfg.path, exc)

    def teardown(self) -> None:
        for r in self.broker.runners.values():
            r.close()
        self.broker.runners.clear()
        self.configs.clear()

    async def _persist(self) -> None:
        rows = [asdict(c) for c in self.configs.values() if not c.declared]
        await self.barrier.put(TABLE, orjson.dumps(rows))

    async def enable(self, cfg: AuditConfig) -> None:
        if not self.api_changes_allowed:
            raise InvalidRequest("audit devices are managed in the server config file (API changes disabled)")
        cfg.path = cfg.path.strip("/") + "/"
        if cfg.path in self.configs:
            raise InvalidRequest(f"path already in use: {cfg.path}")
        runner = await self._runner(cfg)
        try:
            runner.device.write(b"")
        except OSError as exc:
            runner.close()
            raise InvalidRequest(f"audit device cannot be written: {type(exc).__name__}") from None
        self.broker.runners[cfg.path] = runner
        self.configs[cfg.path] = cfg
        await self._persist()

    async def disable(self, path: str) -> None:
        if not self.api_changes_allowed:
            raise InvalidRequest("audit devices are managed in the server config file (API changes disabled)")
        path = path.strip("/") + "/"
        cfg = self.configs.get(path)
        if cfg is None:
            return
        if cfg.declared:
            raise InvalidRequest(f"audit device {path} is declared in the server config file")
        runner = self.broker.runners.pop(path)
        runner.close()
        del self.configs[path]
        await self._persist()

    def listing(self) -> dict[str, Any]:
        return {p: {"type": c.type, "description": c.description, "options": c.options, "path": p,
                    "local": c.local} for p, c in self.configs.items()}

    async def hash(self, path: str, value: str) -> str:
        path = path.strip("/") + "/"
        if path not in self.configs:
            raise InvalidRequest(f"unknown audit backend {path}")
        return hash_value(await self._salt(path), value)

    def status(self) -> dict[str, Any]:
        return {p: {**asdict(r.stats), "healthy": r.healthy} for p, r in self.broker.runners.items()}


__all__ = ["AuditConfig", "AuditManager"]
