"""Merging rules with the same pattern across (and within) policies, as OpenBao's `NewACL` does:

* an existing deny absorbs everything later; a new deny replaces what was there (parameters dropped);
* otherwise capabilities are unioned and each capability remembers the policies granting it;
* wrapping TTLs: the smaller non-zero value wins for both min and max;
* allowed/denied parameters: maps are merged, an empty value list (= any value) wins, otherwise the
  value lists are concatenated; required parameters are unioned.

Templated rules (`{{identity.entity.id}}`) are skipped: Strongroom has no identity store yet, which is
what OpenBao does when templating cannot be resolved. Expired rules are skipped too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from strongroom.core.policy.model import (
    NAME_BITS,
    Capability,
    Decision,
    ParamValues,
    PathRule,
    Policy,
    RuleKind,
    capability_names,
)

_DENY = int(Capability.DENY)
_SUDO = int(Capability.SUDO)


@dataclass(frozen=True, slots=True)
class Entry:
    """The merged permissions of every rule with one pattern."""

    capabilities: int
    granting: Mapping[int, tuple[str, ...]]  # capability bit -> policies granting it
    denied_by: tuple[str, ...]
    allowed_parameters: Mapping[str, ParamValues] | None
    denied_parameters: Mapping[str, ParamValues] | None
    required_parameters: tuple[str, ...]
    min_wrapping_ttl: float
    max_wrapping_ttl: float
    sources: tuple[tuple[str, int], ...]  # (policy, capabilities as written), for explain
    names: tuple[str, ...]  # sorted capability names as sys/capabilities shows them ("deny" excluded)
    capability_set: frozenset[str]  # the names for Decision.capabilities ({"deny"} for a deny rule)
    pattern: str  # as written (prefix rules keep their `*`)
    kind: RuleKind
    constrained: bool  # has parameter or wrapping constraints to evaluate per request
    granted: Mapping[int, Decision]  # capability bit -> the (shared, immutable) "allowed" answer


@dataclass(slots=True)
class _Acc:
    caps: int = 0
    granting: dict[int, list[str]] = field(default_factory=dict)
    denied_by: list[str] = field(default_factory=list)
    allowed: dict[str, ParamValues] | None = None
    denied: dict[str, ParamValues] | None = None
    required: list[str] = field(default_factory=list)
    min_ttl: float = 0.0
    max_ttl: float = 0.0
    sources: list[tuple[str, int]] = field(default_factory=list)

    def add(self, policy: str, rule: PathRule, first: bool) -> None:
        self.sources.append((policy, rule.capabilities))
        if rule.capabilities & _DENY:
            if not self.caps & _DENY:
                self.caps = _DENY
                self.allowed = self.denied = None
            self.denied_by.append(policy)
            return
        if self.caps & _DENY:
            return
        self.caps |= rule.capabilities
        for bit in _BITS:
            if rule.capabilities & bit:
                self.granting.setdefault(bit, []).append(policy)
        self.min_ttl = _smaller_nonzero(self.min_ttl, rule.min_wrapping_ttl)
        self.max_ttl = _smaller_nonzero(self.max_ttl, rule.max_wrapping_ttl)
        if first:
            self.allowed = dict(rule.allowed_parameters) if rule.allowed_parameters is not None else None
            self.denied = dict(rule.denied_parameters) if rule.denied_parameters is not None else None
        else:
            self.allowed = _merge_params(self.allowed, rule.allowed_parameters)
            self.denied = _merge_params(self.denied, rule.denied_parameters)
        for name in rule.required_parameters:
            lowered = name.lower()
            if lowered not in self.required:
                self.required.append(lowered)

    def freeze(self, kind: RuleKind, key: str) -> Entry:
        shown = () if self.caps & _DENY else tuple(name for name, bit in NAME_BITS if self.caps & bit)
        pattern = key + "*" if kind is RuleKind.PREFIX else key
        cap_set = capability_names(self.caps)
        sudo = bool(self.caps & _SUDO)
        granted: dict[int, Decision] = {}
        if not self.caps & _DENY:
            for bit, names in self.granting.items():
                policies = tuple(dict.fromkeys(names))
                reason = f"granted by policy {', '.join(policies)} (rule {pattern!r})"
                granted[bit] = Decision(True, sudo, cap_set, policies, reason, pattern)
        return Entry(
            capabilities=int(self.caps),
            granting={bit: tuple(dict.fromkeys(names)) for bit, names in self.granting.items()},
            denied_by=tuple(dict.fromkeys(self.denied_by)),
            allowed_parameters=self.allowed,
            denied_parameters=self.denied,
            required_parameters=tuple(self.required),
            min_wrapping_ttl=self.min_ttl,
            max_wrapping_ttl=self.max_ttl,
            sources=tuple(self.sources),
            names=shown,
            capability_set=cap_set,
            pattern=pattern,
            kind=kind,
            constrained=bool(self.allowed or self.denied or self.required or self.min_ttl or self.max_ttl),
            granted=granted,
        )


_BITS = tuple(bit for _, bit in NAME_BITS if bit != _DENY)


def _smaller_nonzero(current: float, new: float) -> float:
    if new > 0 and (current == 0 or new < current):
        return new
    return current


def _merge_params(
    existing: dict[str, ParamValues] | None, new: Mapping[str, ParamValues] | None
) -> dict[str, ParamValues] | None:
    if not new:
        return existing
    if existing is None:
        return dict(new)
    merged = dict(existing)
    for key, values in new.items():
        if not values or (key in merged and not merged[key]):
            merged[key] = ()
        else:
            merged[key] = tuple(values) + tuple(merged.get(key, ()))
    return merged


def merge_rules(
    policies: Iterable[Policy], now: dt.datetime
) -> tuple[dict[str, Entry], dict[str, Entry], dict[str, Entry], dt.datetime | None]:
    """Return (exact, prefix, segment) entries keyed by rule key, and the earliest rule expiration."""
    accs: dict[tuple[RuleKind, str], _Acc] = {}
    valid_until: dt.datetime | None = None
    for policy in policies:
        for rule in policy.rules:
            if rule.templated:
                continue
            if rule.expiration is not None:
                if rule.expiration <= now:
                    continue
                valid_until = rule.expiration if valid_until is None else min(valid_until, rule.expiration)
            slot = (rule.kind, rule.key)
            acc = accs.get(slot)
            first = acc is None
            if acc is None:
                acc = accs[slot] = _Acc()
            acc.add(policy.name, rule, first)
    out: dict[RuleKind, dict[str, Entry]] = {kind: {} for kind in RuleKind}
    for (kind, key), acc in accs.items():
        out[kind][key] = acc.freeze(kind, key)
    return out[RuleKind.EXACT], out[RuleKind.PREFIX], out[RuleKind.SEGMENT], valid_until
