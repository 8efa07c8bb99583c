"""Logging in: Kubernetes (the pod's projected service-account token, re-read at every login because the kubelet
rotates it), AppRole, or a given token."""

from __future__ import annotations

import time
from dataclasses import dataclass

from strongroom.agent.config import AuthConfig, ConfigError
from strongroom.client import Client


@dataclass
class Session:
    """What the agent knows about its token (never printed)."""

    renewable: bool
    ttl: float  # seconds; 0 = does not expire
    obtained: float  # monotonic
    accessor: str = ""
    owned: bool = True  # False for a token we were given: we don't revoke it on exit

    def renew_due(self, now: float) -> bool:
        return self.renewable and self.ttl > 0 and now >= self.obtained + self.ttl * 2 / 3

    def expired(self, now: float) -> bool:
        return self.ttl > 0 and now >= self.obtained + self.ttl


def _read_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{what} file {path} is empty")
    return value


def login(client: Client, cfg: AuthConfig) -> Session:
    """Authenticates and sets client.token. Raises ClientError (server said no / unreachable) or ConfigError."""
    now = time.monotonic()
    if cfg.method == "token":
        client.token = cfg.token or _read_file(cfg.token_file, "token")
        info = client.lookup_self()
        return Session(bool(info.get("renewable")), float(info.get("ttl") or 0), now,
                       str(info.get("accessor") or ""), owned=False)
    if cfg.method == "kubernetes":
        body = {"role": cfg.role, "jwt": _read_file(cfg.jwt_path, "service-account token")}
    else:
        role_id = cfg.role_id or _read_file(cfg.role_id_file, "role_id")
        body = {"role_id": role_id}
        if cfg.secret_id_file:
            body["secret_id"] = _read_file(cfg.secret_id_file, "secret_id")
    auth = client.login(cfg.mount_path, body)
    return Session(bool(auth.get("renewable")), float(auth.get("lease_duration") or 0), now,
                   str(auth.get("accessor") or ""))
