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
from strongroom.core.policy.matching import RuleIndex
from strongroom.core.policy.model import CAPABILITY_BY_NAME, Capability, Policy, RuleKind, capability_names
from strongroom.core.policy.model import Decision as Decision
from strongroom.core.policy.names import ROOT_POLICY
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.operations import Operation

#: Operation -> the capability it needs. Renew/revoke/rollback reuse update, as in OpenBao.
OPERATION_CAPABILITY: Mapping[Operation, int] = {
    Operation.CREATE: int(Capability.CREATE),
    Operation.READ: int(Capability.READ),
    Operation.UPDATE: int(Capability.UPDATE),
    Operation.PATCH: int(Capability.PATCH),
    Operation.DELETE: int(Capability.DELETE),
    Operation.LIST: int(Capability.LIST),
    Operation.RENEW: int(Capability.UPDATE),
    Operation.REVOKE: int(Capability.UPDATE),
    Operation.ROLLBACK: int(Capability.UPDATE),
}
# Plain ints on the hot path: `&` on an IntFlag member goes through enum machinery (~1 µs).
_DENY = int(Capability.DENY)
_SUDO = int(Capability.SUDO)
#: Operations whose request parameters are checked against allowed/denied/required_parameters (OpenBao
#: includes read, for query parameters).
PARAMETER_CHECKED = frozenset({Operation.READ, Operation.UPDATE, Operation.CREATE, Operation.PATCH})


_CAP_NAME = {int(flag): name for name, flag in CAPABILITY_BY_NAME.items()}
_ROOT_DECISION = Decision(
    True, True, frozenset({"root"}), (ROOT_POLICY,), "root policy grants everything", is_root=True
)
_HELP_DECISION = Decision(True, False, frozenset(), (), "help is always allowed")
_NO_MATCH_DECISION = Decision(False, False, frozenset(), (), "no policy grants access to this path")


class ACL:
    """Build with `ACL.compile(policies)`; then `check`, `capabilities` and `explain` are read-only."""

    __slots__ = ("_index", "_is_root", "_policy_names", "_valid_until")

    def __init__(
        self,
        index: RuleIndex[Entry],
        policy_names: tuple[str, ...],
        is_root: bool,
        valid_until: dt.datetime | None,
    ) -> None:
        self._index = index
        self._policy_names = policy_names
        self._is_root = is_root
        self._valid_until = valid_until

    @property
    def policy_names(self) -> tuple[str, ...]:
        return self._policy_names

    @property
    def is_root(self) -> bool:
        return self._is_root

    @property
    def valid_until(self) -> dt.datetime | None:
        """The earliest `expiration` among compiled rules: after it the ACL must be compiled again."""
        return self._valid_until

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

    def _lookup(self, path: str, operation: Operation) -> Entry | None:
        """Exact rule, then the best glob; for LIST on "<p>/" also the exact rule for "<p>" (before the
        globs) and, only when no glob matches "<p>/", the best glob for "<p>".

        This order is what OpenBao 2.7 does (pinned against a live server in
        test_openbao_differential.py); a glob sees the trailing slash as an empty last segment.
        """
        index = self._index
        hit = index.exact(path)
        if hit is not None:
            return hit
        if operation == Operation.LIST and path.endswith("/"):
            trimmed = path[:-1]
            hit = index.exact(trimmed)
            if hit is None:
                hit = index.best_glob(path)
                if hit is None:
                    hit = index.best_glob(trimmed)
            return hit
        return index.best_glob(path)

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
        if self._is_root:
            return _ROOT_DECISION
        if operation == Operation.HELP:
            return _HELP_DECISION
        entry = self._lookup(path.lstrip("/"), operation)
        if entry is None:
            return _NO_MATCH_DECISION
        needed = OPERATION_CAPABILITY.get(operation)
        caps = entry.capabilities
        if needed is None or not caps & needed or caps & _DENY:
            return _refusal(entry, operation, needed)
        if entry.constrained:
            problem = _constraint_problem(entry, operation, params, wrap_ttl)
            if problem is not None:
                return _denied(entry, problem)
        if is_root_path and not caps & _SUDO:
            return _denied(entry, "this path is root-protected and needs the 'sudo' capability")
        return entry.granted[needed]

    def capabilities(self, path: str) -> list[str]:
        """What `sys/capabilities` returns for `path`: sorted names, `["deny"]` for nothing, `["root"]`."""
        if self._is_root:
            return ["root"]
        entry = self._lookup(path.lstrip("/"), Operation.LIST)
        if entry is None or not entry.names:
            return ["deny"]
        return list(entry.names)

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
        if operation == Operation.LIST and clean.endswith("/"):
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
                            {"policy": p, "capabilities": sorted(capability_names(c))} for p, c in m.value.sources
                        ],
                        decisive=decision.rule == m.pattern and not self.is_root,
                    )
                )
        rules.sort(key=lambda r: not r.decisive)  # the deciding rule first, the shadowed ones after
        return Explanation(clean, str(operation), decision, tuple(rules))


def _denied(entry: Entry, reason: str) -> Decision:
    sudo = bool(entry.capabilities & _SUDO)
    return Decision(False, sudo, entry.capability_set, (), f"{reason} (rule {entry.pattern!r})", entry.pattern)


def _refusal(entry: Entry, operation: Operation, needed: int | None) -> Decision:
    if entry.capabilities & _DENY:
        return _denied(entry, f"explicitly denied by policy {', '.join(entry.denied_by)}")
    if needed is None:
        return _denied(entry, f"operation {str(operation)!r} is not allowed through an ACL")
    return _denied(entry, f"no {_CAP_NAME[needed]!r} capability")


def _constraint_problem(
    entry: Entry, operation: Operation, params: Mapping[str, object] | None, wrap_ttl: float | None
) -> str | None:
    if entry.max_wrapping_ttl and (wrap_ttl is None or wrap_ttl > entry.max_wrapping_ttl):
        return "response wrapping with a TTL up to max_wrapping_ttl is required"
    if entry.min_wrapping_ttl and (wrap_ttl is None or wrap_ttl < entry.min_wrapping_ttl):
        return "response wrapping with a TTL of at least min_wrapping_ttl is required"
    if operation in PARAMETER_CHECKED:
        return parameter_violation(params, entry.required_parameters, entry.allowed_parameters, entry.denied_parameters)
    return None


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
