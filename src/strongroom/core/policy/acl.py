"""A compiled, immutable ACL: OpenBao's `NewACL` + `AllowOperation` + `Capabilities`, plus `explain()`.

Compile merges every policy's rules by (kind, pattern): capabilities are unioned and `deny` wins; only
rules with the *same* pattern merge — the most specific matching pattern alone decides (see matching.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from strongroom.core.policy._merge import Entry, merge_rules
from strongroom.core.policy._params import parameter_violation
from strongroom.core.policy.matching import Match, RuleIndex
from strongroom.core.policy.model import CAPABILITY_BY_NAME, Capability, Policy, RuleKind, capability_names
from strongroom.core.policy.names import ROOT_POLICY
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.operations import Operation

#: Operation -> the capability it needs. Renew/revoke/rollback reuse update, as in OpenBao.
OPERATION_CAPABILITY: Mapping[Operation, int] = {
    Operation.CREATE: Capability.CREATE,
    Operation.READ: Capability.READ,
    Operation.UPDATE: Capability.UPDATE,
    Operation.PATCH: Capability.PATCH,
    Operation.DELETE: Capability.DELETE,
    Operation.LIST: Capability.LIST,
    Operation.RENEW: Capability.UPDATE,
    Operation.REVOKE: Capability.UPDATE,
    Operation.ROLLBACK: Capability.UPDATE,
}
#: Operations whose request parameters are checked against allowed/denied/required_parameters (OpenBao
#: includes read, for query parameters).
PARAMETER_CHECKED = frozenset({Operation.READ, Operation.UPDATE, Operation.CREATE, Operation.PATCH})


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


_CAP_NAME = {int(flag): name for name, flag in CAPABILITY_BY_NAME.items()}
_ROOT_DECISION = Decision(
    True, True, frozenset({"root"}), (ROOT_POLICY,), "root policy grants everything", is_root=True
)
_HELP_DECISION = Decision(True, False, frozenset(), (), "help is always allowed")
_NO_MATCH = "no policy grants access to this path"


class ACL:
    """Build with `ACL.compile(policies)`; then `check`, `capabilities` and `explain` are read-only."""

    __slots__ = ("_index", "is_root", "policy_names", "valid_until")

    def __init__(
        self,
        index: RuleIndex[Entry],
        policy_names: tuple[str, ...],
        is_root: bool,
        valid_until: dt.datetime | None,
    ) -> None:
        self._index = index
        self.policy_names = policy_names
        self.is_root = is_root
        #: The earliest `expiration` among compiled rules: after it the ACL must be compiled again.
        self.valid_until = valid_until

    @classmethod
    def compile(cls, policies: Iterable[Policy], *, now: dt.datetime | None = None) -> ACL:
        items = list(policies)
        names = tuple(dict.fromkeys(p.name for p in items))
        if any(p.is_root or p.name == ROOT_POLICY for p in items):
            if len(names) != 1:
                raise InvalidRequest("other policies present along with root")
            return cls(RuleIndex({}, {}, {}), names, True, None)
        exact, prefix, segment, valid_until = merge_rules(items, now or dt.datetime.now(dt.UTC))
        return cls(RuleIndex(exact, prefix, segment), names, False, valid_until)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"ACL(policies={list(self.policy_names)!r}, rules={len(self)}, root={self.is_root})"

    def _lookup(self, path: str, operation: Operation) -> Match[Entry] | None:
        """Exact rule, then the best glob; for LIST on "<p>/" also the exact rule for "<p>" (before the
        globs) and, only when no glob matches "<p>/", the best glob for "<p>".

        This order is what OpenBao 2.7 does (pinned against a live server in
        test_openbao_differential.py); a glob sees the trailing slash as an empty last segment.
        """
        index = self._index
        hit = index.exact(path)
        if hit is not None:
            return Match(RuleKind.EXACT, path, hit, None)
        trimmed = path[:-1] if operation is Operation.LIST and path.endswith("/") else None
        if trimmed is not None:
            hit = index.exact(trimmed)
            if hit is not None:
                return Match(RuleKind.EXACT, trimmed, hit, None)
        glob = index.best_glob(path)
        if glob is None and trimmed is not None:
            glob = index.best_glob(trimmed)
        return glob

    def check(
        self,
        path: str,
        operation: Operation,
        params: Mapping[str, object] | None = None,
        *,
        is_root_path: bool = False,
        wrap_ttl: float | None = None,
    ) -> Decision:
        """May a token holding these policies perform `operation` on `path` with `params`?

        `is_root_path`: the route is sudo-protected, so `sudo` is needed too. `wrap_ttl`: the requested
        response-wrapping TTL in seconds (None = not wrapped), checked against min/max_wrapping_ttl.
        """
        if self.is_root:
            return _ROOT_DECISION
        if operation is Operation.HELP:
            return _HELP_DECISION
        match = self._lookup(path.lstrip("/"), operation)
        if match is None:
            return Decision(False, False, frozenset(), (), _NO_MATCH)
        entry = match.value
        caps = entry.capabilities
        names = entry.capability_set
        sudo = bool(caps & Capability.SUDO)
        rule = match.pattern

        def deny(reason: str) -> Decision:
            return Decision(False, sudo, names, (), f"{reason} (rule {rule!r})", rule)

        if caps & Capability.DENY:
            return deny(f"explicitly denied by policy {', '.join(entry.denied_by)}")
        needed = OPERATION_CAPABILITY.get(operation)
        if needed is None:
            return deny(f"operation {operation.value!r} is not allowed through an ACL")
        if not caps & needed:
            return deny(f"no {_CAP_NAME[needed]!r} capability")
        if entry.max_wrapping_ttl and (wrap_ttl is None or wrap_ttl > entry.max_wrapping_ttl):
            return deny("response wrapping with a TTL up to max_wrapping_ttl is required")
        if entry.min_wrapping_ttl and (wrap_ttl is None or wrap_ttl < entry.min_wrapping_ttl):
            return deny("response wrapping with a TTL of at least min_wrapping_ttl is required")
        if operation in PARAMETER_CHECKED:
            violation = parameter_violation(
                params, entry.required_parameters, entry.allowed_parameters, entry.denied_parameters
            )
            if violation is not None:
                return deny(violation)
        if is_root_path and not sudo:
            return deny("this path is root-protected and needs the 'sudo' capability")
        granting = entry.granting.get(needed, ())
        return Decision(
            True, sudo, names, granting, f"granted by policy {', '.join(granting)} (rule {rule!r})", rule
        )

    def capabilities(self, path: str) -> list[str]:
        """What `sys/capabilities` returns for `path`: sorted names, `["deny"]` for nothing, `["root"]`."""
        if self.is_root:
            return ["root"]
        match = self._lookup(path.lstrip("/"), Operation.LIST)
        if match is None or not match.value.names:
            return ["deny"]
        return list(match.value.names)

    def explain(
        self,
        path: str,
        operation: Operation,
        params: Mapping[str, object] | None = None,
        *,
        is_root_path: bool = False,
        wrap_ttl: float | None = None,
    ) -> Explanation:
        """The decision plus every rule that matched `path`, best first, with the policies behind each."""
        decision = self.check(path, operation, params, is_root_path=is_root_path, wrap_ttl=wrap_ttl)
        clean = path.lstrip("/")
        seen: set[tuple[RuleKind, str]] = set()
        rules: list[ExplainedRule] = []
        candidates = [clean]
        if operation is Operation.LIST and clean.endswith("/"):
            candidates.append(clean[:-1])
        for candidate in candidates:
            for m in self._index.all_matches(candidate):
                if (m.kind, m.pattern) in seen:
                    continue
                seen.add((m.kind, m.pattern))
                rules.append(
                    ExplainedRule(
                        pattern=m.pattern,
                        kind=m.kind.value,
                        capabilities=list(m.value.names) or ["deny"],
                        policies=[
                            {"policy": p, "capabilities": sorted(capability_names(c))}
                            for p, c in m.value.sources
                        ],
                        decisive=decision.rule == m.pattern and not self.is_root,
                    )
                )
        return Explanation(clean, operation.value, decision, tuple(rules))


@dataclass(frozen=True, slots=True)
class ExplainedRule:
    pattern: str
    kind: str
    capabilities: list[str]
    policies: list[dict[str, object]]
    decisive: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    path: str
    operation: str
    decision: Decision
    rules: tuple[ExplainedRule, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the CLI (`--format json`) and the UI."""
        d = self.decision
        return {
            "path": self.path,
            "operation": self.operation,
            "allowed": d.allowed,
            "sudo": d.root_privs,
            "root": d.is_root,
            "reason": d.reason,
            "rule": d.rule,
            "capabilities": sorted(d.capabilities),
            "granting_policies": list(d.granting_policies),
            "matching_rules": [
                {
                    "pattern": r.pattern,
                    "kind": r.kind,
                    "capabilities": r.capabilities,
                    "policies": r.policies,
                    "decisive": r.decisive,
                }
                for r in self.rules
            ],
        }
