"""The mount tables (secrets engines under '', auth methods under 'auth/'), persisted through the barrier."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from strongroom.core import clock
from strongroom.sdk.errors import InvalidRequest

MOUNTS_PATH = "core/mounts"
AUTH_PATH = "core/auth"

# mounts that exist on every server and cannot be disabled or moved
PROTECTED = ("sys/", "cubbyhole/", "identity/", "auth/token/")
SINGLETON_TYPES = ("system", "cubbyhole", "identity", "token")


@dataclass
class MountEntry:
    path: str  # with trailing slash; auth mounts exclude the 'auth/' prefix here
    type: str
    description: str = ""
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    accessor: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    local: bool = False
    seal_wrap: bool = False
    kind: str = "secret"  # or "auth"
    created: float = field(default_factory=clock.now)

    @property
    def route_path(self) -> str:
        return ("auth/" + self.path) if self.kind == "auth" else self.path

    @property
    def storage_prefix(self) -> str:
        return f"{'auth' if self.kind == 'auth' else 'logical'}/{self.uuid}/"

    def api_view(self) -> dict[str, Any]:
        cfg = {"default_lease_ttl": int(self.config.get("default_lease_ttl", 0)),
               "max_lease_ttl": int(self.config.get("max_lease_ttl", 0)),
               "force_no_cache": bool(self.config.get("force_no_cache", False))}
        for k in ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys", "listing_visibility",
                  "passthrough_request_headers", "allowed_response_headers", "token_type"):
            if k in self.config:
                cfg[k] = self.config[k]
        return {"accessor": self.accessor, "config": cfg, "description": self.description,
                "external_entropy_access": False, "local": self.local,
                "options": self.options or None, "plugin_version": "", "running_plugin_version": "",
                "running_sha256": "", "seal_wrap": self.seal_wrap, "type": self.type, "uuid": self.uuid,
                "deprecation_status": "supported"}


def normalize_path(path: str) -> str:
    path = path.strip().strip("/")
    if not path:
        raise InvalidRequest("path cannot be empty")
    if ".." in path.split("/"):
        raise InvalidRequest("path cannot contain '..'")
    return path + "/"


def new_accessor(mtype: str) -> str:
    return f"{mtype}_{secrets.token_hex(4)}"


def dump(entries: list[MountEntry]) -> bytes:
    return orjson.dumps([asdict(e) for e in entries])


def load(raw: bytes) -> list[MountEntry]:
    return [MountEntry(**{k: v for k, v in d.items() if k in MountEntry.__dataclass_fields__})
            for d in orjson.loads(raw)]


def check_conflict(existing: list[MountEntry], path: str) -> None:
    for e in existing:
        if e.path.startswith(path) or path.startswith(e.path):
            raise InvalidRequest(f"path is already in use at {e.path}")
