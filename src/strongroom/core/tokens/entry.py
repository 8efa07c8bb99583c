"""A token as stored (keyed by its salted hash; the raw token is never stored)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson


@dataclass
class TokenEntry:
    id_hash: str
    accessor: str
    policies: list[str]
    parent_hash: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    display_name: str = "token"
    num_uses: int = 0
    creation_time: float = 0.0
    ttl: int = 0  # the creation TTL
    explicit_max_ttl: int = 0
    period: int = 0
    renewable: bool = True
    path: str = "auth/token/create"
    orphan: bool = False
    expire_time: float = 0.0  # 0 = never
    max_expire_time: float = 0.0  # hard ceiling from mount/explicit max; 0 = none
    role: str = ""
    type: str = "service"
    entity_id: str = ""
    bound_cidrs: list[str] = field(default_factory=list)
    internal: dict[str, Any] = field(default_factory=dict)  # auth method's renew data
    issue_time: float = 0.0
    last_renewal_time: float = 0.0
    # wrapping tokens carry the wrapped response's creation info
    wrapping: dict[str, Any] = field(default_factory=dict)
    raw_id_for_root: str = ""  # never persisted with a value; see store

    def to_json(self) -> bytes:
        d = asdict(self)
        d.pop("raw_id_for_root", None)
        return orjson.dumps(d)

    @classmethod
    def from_json(cls, raw: bytes) -> TokenEntry:
        d = orjson.loads(raw)
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def ttl_remaining(self, now: float) -> int:
        if self.expire_time <= 0:
            return 0
        return max(0, int(self.expire_time - now))
