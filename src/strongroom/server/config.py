"""The server config file (HCL or JSON, Vault's shape):

    storage "sqlite"     { path = "/var/lib/strongroom/strongroom.db" }
    storage "postgresql" { connection_url = "postgresql://user:pass@db:5432/strongroom" }
    listener "tcp" { address = "0.0.0.0:8200"  tls_cert_file = "..."  tls_key_file = "..." }
    api_addr   = "https://strongroom.example:8200"
    log_level  = "info"      # trace|debug|info|warn|error
    log_format = "standard"  # standard|json
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import hcl
import orjson

from strongroom.core.anomaly.config import AnomalyConfig
from strongroom.core.anomaly.config import parse as parse_anomaly
from strongroom.sdk.errors import InvalidRequest


class ConfigError(Exception):
    """The config file is missing, malformed or inconsistent. The message says where."""


@dataclass
class Listener:
    address: str = "127.0.0.1:8200"
    tls_disable: bool = False
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""


@dataclass
class ServerConfig:
    storage_type: str = "sqlite"
    storage: dict[str, Any] = field(default_factory=dict)
    listener: Listener = field(default_factory=Listener)
    api_addr: str = ""
    log_level: str = "info"
    log_format: str = "standard"
    ui: bool = True
    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    cluster_name: str = "strongroom"
    audit: list[dict[str, Any]] = field(default_factory=list)
    audit_timeout: float = 1.0
    audit_api_changes: bool = True
    unauthenticated_metrics_access: bool = False
    unauthed_rekey: bool = True
    anomaly: AnomalyConfig = field(default_factory=AnomalyConfig)  # `anomaly { }` and `alerts { }` blocks
    raw: dict[str, Any] = field(default_factory=dict)


def _first_block(value: Any, what: str) -> tuple[str, dict[str, Any]]:
    # HCL `storage "sqlite" { ... }` parses as {"sqlite": {...}}; a list when repeated
    if isinstance(value, list):
        if len(value) != 1:
            raise ConfigError(f"exactly one {what} block is allowed")
        value = value[0]
    if not isinstance(value, dict) or len(value) != 1:
        raise ConfigError(f"{what} must be a single block like: {what} \"<type>\" {{ ... }}")
    kind, body = next(iter(value.items()))
    if not isinstance(body, dict):
        raise ConfigError(f"{what} \"{kind}\" must be a block")
    return str(kind), body


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _audit_blocks(value: Any, source: str) -> list[dict[str, Any]]:
    """`audit "file" { path = "file/"  options = { file_path = "/var/log/strongroom/audit.log" } }`"""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: audit must be blocks like: audit \"file\" {{ ... }}")
        for kind, body in item.items():
            bodies = body if isinstance(body, list) else [body]
            for b in bodies:
                if not isinstance(b, dict):
                    raise ConfigError(f"{source}: audit \"{kind}\" must be a block")
                opts = b.get("options") or {}
                if not isinstance(opts, dict):
                    raise ConfigError(f"{source}: audit \"{kind}\" options must be a map")
                out.append({"type": str(kind), "path": str(b.get("path", kind)),
                            "description": str(b.get("description", "")),
                            "options": {k: str(v) for k, v in opts.items()}})
    return out


def _anomaly(raw: dict[str, Any], source: str) -> AnomalyConfig:
    """`anomaly { denial_burst { threshold = 10 } ... }` and `alerts { webhook { url = "..." } }`."""
    try:
        return parse_anomaly(raw.get("anomaly"), raw.get("alerts"))
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def parse(text: str, *, source: str = "config") -> ServerConfig:
    try:
        raw = orjson.loads(text) if text.lstrip().startswith("{") else hcl.loads(text)
    except Exception as exc:  # pyhcl raises plain ValueError subclasses with position info
        raise ConfigError(f"{source}: cannot parse: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: top level must be an object")
    cfg = ServerConfig(raw=raw)
    known = {"storage", "backend", "listener", "api_addr", "log_level", "log_format", "ui", "default_lease_ttl",
             "max_lease_ttl", "cluster_name", "disable_mlock", "audit", "telemetry", "seal", "cluster_addr",
             "anomaly", "alerts", "unauthenticated_metrics_access", "plugin_directory", "pid_file",
             "audit_device_timeout", "disable_audit_api_changes", "disable_unauthed_rekey_endpoints"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s): {', '.join(unknown)}")
    storage = raw.get("storage", raw.get("backend"))
    if storage is None:
        raise ConfigError(f"{source}: a storage block is required (sqlite or postgresql)")
    cfg.storage_type, cfg.storage = _first_block(storage, "storage")
    if cfg.storage_type not in ("sqlite", "postgresql", "inmem"):
        raise ConfigError(f"{source}: unsupported storage type {cfg.storage_type!r} (use sqlite or postgresql)")
    if cfg.storage_type == "sqlite" and not cfg.storage.get("path"):
        raise ConfigError(f"{source}: storage \"sqlite\" needs a path")
    if cfg.storage_type == "postgresql" and not cfg.storage.get("connection_url"):
        raise ConfigError(f"{source}: storage \"postgresql\" needs a connection_url")
    if "listener" in raw:
        kind, body = _first_block(raw["listener"], "listener")
        if kind != "tcp":
            raise ConfigError(f"{source}: only tcp listeners are supported")
        cfg.listener = Listener(address=str(body.get("address", "127.0.0.1:8200")),
                                tls_disable=_bool(body.get("tls_disable", False)),
                                tls_cert_file=str(body.get("tls_cert_file", "")),
                                tls_key_file=str(body.get("tls_key_file", "")),
                                tls_client_ca_file=str(body.get("tls_client_ca_file", "")))
        if not cfg.listener.tls_disable and not (cfg.listener.tls_cert_file and cfg.listener.tls_key_file):
            raise ConfigError(f"{source}: listener needs tls_cert_file and tls_key_file, or tls_disable = true")
    cfg.api_addr = str(raw.get("api_addr", ""))
    cfg.log_level = str(raw.get("log_level", "info")).lower()
    cfg.log_format = str(raw.get("log_format", "standard")).lower()
    if cfg.log_level not in ("trace", "debug", "info", "warn", "warning", "error"):
        raise ConfigError(f"{source}: log_level must be one of trace, debug, info, warn, error")
    if cfg.log_format not in ("standard", "json"):
        raise ConfigError(f"{source}: log_format must be standard or json")
    cfg.ui = _bool(raw.get("ui", True))
    cfg.audit = _audit_blocks(raw.get("audit"), source)
    cfg.audit_api_changes = not _bool(raw.get("disable_audit_api_changes", False))
    cfg.unauthed_rekey = not _bool(raw.get("disable_unauthed_rekey_endpoints", False))
    telemetry = raw.get("telemetry") or {}
    cfg.unauthenticated_metrics_access = _bool(
        raw.get("unauthenticated_metrics_access", telemetry.get("unauthenticated_metrics_access", False)))
    cfg.cluster_name = str(raw.get("cluster_name", "strongroom"))
    cfg.anomaly = _anomaly(raw, source)
    from strongroom.sdk.framework import parse_duration

    try:
        cfg.audit_timeout = max(0.05, float(parse_duration(raw.get("audit_device_timeout", "1s")) or 1))
        if isinstance(raw.get("audit_device_timeout"), str) and raw["audit_device_timeout"].endswith("ms"):
            cfg.audit_timeout = max(0.05, int(raw["audit_device_timeout"][:-2]) / 1000)
        cfg.default_lease_ttl = parse_duration(raw.get("default_lease_ttl", 0))
        cfg.max_lease_ttl = parse_duration(raw.get("max_lease_ttl", 0))
    except (ValueError, InvalidRequest):
        raise ConfigError(f"{source}: lease TTLs must be durations like \"768h\"") from None
    return cfg


def load(path: str) -> ServerConfig:
    if not os.path.exists(path):
        raise ConfigError(f"config file {path} does not exist")
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), source=path)
