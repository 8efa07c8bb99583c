"""Parsed policy values: capabilities as bit flags, path rules and policies (all immutable).

Bit values follow OpenBao's `policy.go` order so a bitmap means the same thing on both sides.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Capability(enum.IntFlag):
    """One bit per capability; the ACL works on plain ints on the hot path."""

    NONE = 0
    DENY = 1 << 0
    CREATE = 1 << 1
    READ = 1 << 2
    UPDATE = 1 << 3
    DELETE = 1 << 4
    LIST = 1 << 5
    SUDO = 1 << 6
    PATCH = 1 << 7
    SCAN = 1 << 8


#: Capability names accepted in `capabilities = [...]` that grant something here.
CAPABILITY_BY_NAME: Mapping[str, Capability] = {
    "deny": Capability.DENY,
    "create": Capability.CREATE,
    "read": Capability.READ,
    "update": Capability.UPDATE,
    "delete": Capability.DELETE,
    "list": Capability.LIST,
    "sudo": Capability.SUDO,
    "patch": Capability.PATCH,
    "scan": Capability.SCAN,
}

#: Vault-only capabilities (event subscription, snapshot recovery) that Strongroom accepts for portability
#: and ignores: no Strongroom endpoint checks them.
IGNORED_CAPABILITIES = frozenset({"subscribe", "recover"})

#: The deprecated `policy = "..."` shorthand, expanded as OpenBao does (note: no "patch" in write/sudo).
LEGACY_POLICY: Mapping[str, tuple[str, ...]] = {
    "deny": ("deny",),
    "read": ("read", "list"),
    "write": ("create", "read", "update", "delete", "list"),
    "sudo": ("create", "read", "update", "delete", "list", "sudo"),
}


#: (name, bit) as plain ints, sorted by name: IntFlag arithmetic is ~1 µs per operation.
NAME_BITS: tuple[tuple[str, int], ...] = tuple(sorted((n, int(f)) for n, f in CAPABILITY_BY_NAME.items()))


def capability_names(bits: int) -> frozenset[str]:
    """The names of the capabilities set in `bits` ("deny" alone when deny is set)."""
    if bits & 1:  # Capability.DENY
        return frozenset({"deny"})
    return frozenset(name for name, bit in NAME_BITS if bits & bit)


class RuleKind(enum.Enum):
    """How a rule's pattern matches a request path."""

    EXACT = "exact"  # `secret/foo`
    PREFIX = "prefix"  # `secret/foo*`: any path starting with `secret/foo`
    SEGMENT = "segment"  # `secret/+/foo`, `secret/+/foo/*`: `+` is exactly one path segment


ParamValues = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class PathRule:
    """One `path "..." { }` block after validation.

    `pattern` is the path as written (leading `/` stripped). `key` is what the ACL indexes: the pattern
    minus its trailing `*` for prefix rules, the full pattern otherwise. Parameter maps are `None` when
    the block does not mention them (which is not the same as an empty map once policies merge).
    """

    pattern: str
    kind: RuleKind
    key: str
    capabilities: int
    allowed_parameters: Mapping[str, ParamValues] | None = None
    denied_parameters: Mapping[str, ParamValues] | None = None
    required_parameters: tuple[str, ...] = ()
    min_wrapping_ttl: float = 0.0
    max_wrapping_ttl: float = 0.0
    expiration: dt.datetime | None = None
    templated: bool = False

    @property
    def capability_names(self) -> frozenset[str]:
        return capability_names(self.capabilities)


@dataclass(frozen=True, slots=True)
class Policy:
    """A named ACL policy. `raw` is the text as submitted, returned verbatim by `sys/policy` reads."""

    name: str
    rules: tuple[PathRule, ...] = ()
    raw: str = ""
    templated: bool = False
    is_root: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one check. `reason` is for audit logs and explain; it never contains values."""

    allowed: bool
    root_privs: bool
    capabilities: frozenset[str]
    granting_policies: tuple[str, ...]
    reason: str
    rule: str | None = None  # the winning pattern, as written (prefix rules keep their `*`)
    is_root: bool = False

    @property
    def sudo(self) -> bool:
        return self.root_privs
