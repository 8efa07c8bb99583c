"""What engines and auth methods receive and return. They never see raw tokens or physical storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.sdk.operations import Operation
from strongroom.sdk.storage import Storage


@dataclass(frozen=True)
class Connection:
    remote_addr: str = ""
    remote_port: int = 0


@dataclass
class Request:
    """One API call, already authenticated and authorised by the core when an engine sees it."""

    operation: Operation
    path: str  # relative to the mount
    data: dict[str, Any] = field(default_factory=dict)
    storage: Storage | None = None
    id: str = ""
    mount_point: str = ""
    mount_type: str = ""
    mount_accessor: str = ""
    connection: Connection = field(default_factory=Connection)
    headers: Mapping[str, str] = field(default_factory=dict)
    # identity of the caller, safe to hand to engines
    client_token_id: str = ""  # per-core salted hash of the token, stable per token (cubbyhole scoping)
    client_token_accessor: str = ""
    display_name: str = ""
    policies: tuple[str, ...] = ()
    entity_id: str = ""
    token_meta: Mapping[str, str] = field(default_factory=dict)
    # set by the core for renew/revoke callbacks
    secret: SecretInfo | None = None
    auth: Auth | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    unauthenticated: bool = False


@dataclass
class SecretInfo:
    """A leased secret: the core persists it, renews and revokes it through the engine's SecretType."""

    type: str
    ttl: int = 0
    max_ttl: int = 0
    renewable: bool = True
    internal: dict[str, Any] = field(default_factory=dict)
    lease_id: str = ""
    issue_time: float = 0.0
    increment: int = 0


@dataclass
class Auth:
    """Returned by a login handler; the core turns it into a token."""

    policies: list[str] = field(default_factory=list)
    token_policies: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    display_name: str = ""
    ttl: int = 0
    max_ttl: int = 0
    explicit_max_ttl: int = 0
    period: int = 0
    num_uses: int = 0
    renewable: bool = True
    no_default_policy: bool = False
    bound_cidrs: list[str] = field(default_factory=list)
    internal: dict[str, Any] = field(default_factory=dict)
    alias_name: str = ""
    token_type: str = "service"
    increment: int = 0


@dataclass
class Response:
    data: dict[str, Any] | None = None
    secret: SecretInfo | None = None
    auth: Auth | None = None
    warnings: list[str] = field(default_factory=list)
    # raw HTTP passthrough (e.g. metrics, PEM): status, content type, body
    raw_status: int | None = None
    raw_content_type: str | None = None
    raw_body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # sys/ shapes: `plain` = data is the whole body (seal-status, health...); `top_level` = data also at top level
    plain: bool = False
    top_level: bool = False
    # a token the core itself minted (auth/token/create, renew): goes into the envelope's "auth" as is
    issued_auth: dict[str, Any] | None = None

    def add_warning(self, msg: str) -> None:
        self.warnings.append(msg)


__all__ = ["Auth", "Connection", "Request", "Response", "SecretInfo"]
