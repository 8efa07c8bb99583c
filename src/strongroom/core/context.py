"""Per-request caller context, readable only inside the core (the token backend needs the caller's token)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from strongroom.core.tokens.entry import TokenEntry


@dataclass
class CallerContext:
    token: str = ""
    entry: TokenEntry | None = None
    acl: Any = None
    request_id: str = ""
    remote_addr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


current: contextvars.ContextVar[CallerContext] = contextvars.ContextVar("strongroom_caller")


def caller() -> CallerContext:
    return current.get(CallerContext())
