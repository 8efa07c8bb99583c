"""Effective-permission model: subjects -> bindings -> roles (with aggregation) -> rules.

Matching follows the Kubernetes RBAC authorizer (`rbac/v1` helpers): `*` matches any verb, group or resource
(including subresources), `*/sub` matches that subresource of any resource, and a non-empty `resourceNames`
narrows a rule to those object names, so it never grants "all secrets". The built-in roles (cluster-admin,
admin, edit, view) are approximated from their documented rules when the input does not contain them, so a
binding to `edit` in a repository is still understood.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from strongroom.rbaclint.loader import K8sObject

__all__ = [
    "BUILTIN_ROLES",
    "WORKLOAD_RESOURCES",
    "Binding",
    "Grant",
    "PolicyRule",
    "RbacModel",
    "Role",
    "Subject",
]

WORKLOAD_RESOURCES = (
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "replicationcontrollers",
)
_WORKLOAD_GROUPS = {"pods": "", "replicationcontrollers": "", "jobs": "batch", "cronjobs": "batch"}


def workload_group(resource: str) -> str:
    return _WORKLOAD_GROUPS.get(resource, "apps")


def _strs(value: Any) -> frozenset[str]:
    if isinstance(value, list):
        return frozenset(str(v) for v in value if v is not None)
    return frozenset()


@dataclass(frozen=True, slots=True)
class PolicyRule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: Any) -> PolicyRule | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            _strs(raw.get("verbs")),
            _strs(raw.get("apiGroups")),
            _strs(raw.get("resources")),
            _strs(raw.get("resourceNames")),
            _strs(raw.get("nonResourceURLs")),
        )

    @classmethod
    def of(cls, verbs: str, groups: str, resources: str) -> PolicyRule:
        return cls(frozenset(verbs.split()), frozenset(groups.split(",")), frozenset(resources.split()))

    def allows_verb(self, verb: str) -> bool:
        return "*" in self.verbs or verb in self.verbs

    def covers_group(self, group: str) -> bool:
        return "*" in self.api_groups or group in self.api_groups

    def covers_resource(self, group: str, resource: str) -> bool:
        """`resource` may be `pods/exec`; same algorithm as the apiserver's ResourceMatches."""
        if not self.covers_group(group):
            return False
        if "*" in self.resources or resource in self.resources:
            return True
        if "/" in resource:
            sub = resource.split("/", 1)[1]
            return f"*/{sub}" in self.resources
        return False

    def matches(self, verb: str, group: str, resource: str, name: str | None = None) -> bool:
        if not self.allows_verb(verb) or not self.covers_resource(group, resource):
            return False
        if self.resource_names:
            return name is not None and name in self.resource_names
        return True

    def describe(self) -> str:
        groups = ",".join(sorted('""' if g == "" else g for g in self.api_groups)) or "-"
        text = f"verbs={sorted(self.verbs)} apiGroups=[{groups}] resources={sorted(self.resources)}"
        if self.resource_names:
            text += f" resourceNames={sorted(self.resource_names)}"
        return text


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace or '<no namespace>'}/{self.name}"
        return f"{self.kind} {self.name}"


@dataclass(slots=True)
class Role:
    kind: str  # Role | ClusterRole
    name: str
    namespace: str | None
    rules: list[PolicyRule]
    obj: K8sObject | None = None  # None for an approximated built-in
    selectors: list[dict[str, str]] = field(default_factory=list)  # aggregationRule matchLabels
    aggregated: list[tuple[Role, PolicyRule]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def builtin(self) -> bool:
        if self.obj is None:
            return True
        return self.obj.labels.get("kubernetes.io/bootstrapping") == "rbac-defaults"

    def effective(self) -> Iterator[tuple[PolicyRule, Role]]:
        """Own rules, then rules aggregated from other ClusterRoles (each with the role it came from)."""
        for rule in self.rules:
            yield rule, self
        yield from ((rule, origin) for origin, rule in self.aggregated)


@dataclass(slots=True)
class Binding:
    obj: K8sObject
    role_kind: str
    role_name: str
    subjects: list[Subject]

    @property
    def cluster_wide(self) -> bool:
        return self.obj.kind == "ClusterRoleBinding"

    @property
    def namespace(self) -> str | None:
        return None if self.cluster_wide else self.obj.namespace

    def scope(self) -> str:
        return "cluster-wide" if self.cluster_wide else f"namespace {self.namespace}"


@dataclass(frozen=True, slots=True)
class Grant:
    subject: Subject
    binding: Binding
    role: Role
    rule: PolicyRule
    origin: Role  # role the rule came from (differs from `role` through aggregation)


def _builtin(name: str, rules: list[PolicyRule]) -> Role:
    return Role("ClusterRole", name, None, rules)


_EDIT_RULES = [
    PolicyRule.of(
        "create delete deletecollection patch update get list watch",
        "",
        "pods pods/attach pods/exec pods/portforward pods/proxy secrets configmaps services "
        "persistentvolumeclaims replicationcontrollers serviceaccounts",
    ),
    PolicyRule.of("impersonate", "", "serviceaccounts"),
    PolicyRule.of("create", "", "serviceaccounts/token"),
    PolicyRule.of(
        "create delete deletecollection patch update get list watch",
        "apps",
        "deployments daemonsets statefulsets replicasets deployments/scale statefulsets/scale",
    ),
    PolicyRule.of("create delete deletecollection patch update get list watch", "batch", "jobs cronjobs"),
]
BUILTIN_ROLES: dict[str, Role] = {
    "cluster-admin": _builtin(
        "cluster-admin",
        [
            PolicyRule.of("*", "*", "*"),
            PolicyRule(frozenset("*"), frozenset(), frozenset(), frozenset(), frozenset({"*"})),
        ],
    ),
    "admin": _builtin(
        "admin",
        [
            *_EDIT_RULES,
            PolicyRule.of(
                "create delete patch update get list watch", "rbac.authorization.k8s.io", "roles rolebindings"
            ),
        ],
    ),
    "edit": _builtin("edit", list(_EDIT_RULES)),
    "view": _builtin(
        "view",
        [PolicyRule.of("get list watch", "", "pods configmaps services endpoints persistentvolumeclaims")],
    ),
}


def _parse_subjects(raw: Any, default_ns: str | None) -> list[Subject]:
    out: list[Subject] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        kind = str(item.get("kind", ""))
        ns = item.get("namespace") or default_ns if kind == "ServiceAccount" else None
        out.append(Subject(kind, str(item["name"]), str(ns) if ns else None))
    return out


class RbacModel:
    """Index of roles and bindings; `grants()` answers "who may do VERB on RESOURCE in NAMESPACE"."""

    def __init__(self, objects: Iterable[K8sObject]) -> None:
        self.roles: dict[tuple[str, str | None, str], Role] = {}
        self.bindings: list[Binding] = []
        self._by_role: dict[int, list[Binding]] | None = None
        for obj in objects:
            if obj.kind in ("Role", "ClusterRole") and obj.api_version.startswith("rbac.authorization.k8s.io"):
                self._add_role(obj)
            elif obj.kind in ("RoleBinding", "ClusterRoleBinding") and obj.api_version.startswith(
                "rbac.authorization.k8s.io"
            ):
                self._add_binding(obj)
        self._aggregate()

    def _add_role(self, obj: K8sObject) -> None:
        raw_rules = obj.raw.get("rules")
        rules = (
            [r for r in (PolicyRule.parse(x) for x in (raw_rules or [])) if r is not None]
            if isinstance(raw_rules, list)
            else []
        )
        ns = obj.namespace if obj.kind == "Role" else None
        role = Role(obj.kind, obj.name, ns, rules, obj)
        agg = obj.raw.get("aggregationRule")
        if obj.kind == "ClusterRole" and isinstance(agg, dict):
            for sel in agg.get("clusterRoleSelectors") or []:
                if isinstance(sel, dict) and isinstance(sel.get("matchLabels"), dict):
                    role.selectors.append({str(k): str(v) for k, v in sel["matchLabels"].items()})
        self.roles[(obj.kind, ns, obj.name)] = role

    def _add_binding(self, obj: K8sObject) -> None:
        ref = obj.raw.get("roleRef")
        if not isinstance(ref, dict):
            return
        default_ns = obj.namespace
        subjects = _parse_subjects(obj.raw.get("subjects"), default_ns)
        self.bindings.append(Binding(obj, str(ref.get("kind", "")), str(ref.get("name", "")), subjects))

    def _aggregate(self) -> None:
        cluster_roles = [r for r in self.roles.values() if r.kind == "ClusterRole"]
        for target in cluster_roles:
            if not target.selectors:
                continue
            for source in cluster_roles:
                if source is target:
                    continue
                labels = source.obj.labels if source.obj else {}
                if any(all(labels.get(k) == v for k, v in sel.items()) for sel in target.selectors):
                    target.aggregated.extend((source, rule) for rule in source.rules)

    def role_for(self, binding: Binding) -> Role | None:
        if binding.role_kind == "Role":
            return self.roles.get(("Role", binding.obj.namespace, binding.role_name))
        return self.roles.get(("ClusterRole", None, binding.role_name)) or BUILTIN_ROLES.get(binding.role_name)

    def bindings_of(self, role: Role) -> list[Binding]:
        if self._by_role is None:
            self._by_role = {}
            for b in self.bindings:
                target = self.role_for(b)
                if target is not None:
                    self._by_role.setdefault(id(target), []).append(b)
        return self._by_role.get(id(role), [])

    def bound_to(self, role: Role, limit: int = 3) -> str:
        """Short "who gets this role" text for messages, through aggregation too."""
        bindings = list(self.bindings_of(role))
        for other in self.roles.values():
            if any(origin is role for origin, _ in other.aggregated):
                bindings.extend(self.bindings_of(other))
        if not bindings:
            return "not bound in the input"
        parts = [f"{b.obj.kind} {b.obj.name} ({b.scope()})" for b in bindings[:limit]]
        more = f" and {len(bindings) - limit} more" if len(bindings) > limit else ""
        return "bound by " + ", ".join(parts) + more

    def grants(
        self, verb: str, group: str, resource: str, namespace: str | None, name: str | None = None
    ) -> Iterator[Grant]:
        """Every (subject, binding, rule) that allows the request; namespace None means cluster scope."""
        for binding in self.bindings:
            if namespace is None and not binding.cluster_wide:
                continue
            if namespace is not None and not binding.cluster_wide and binding.namespace != namespace:
                continue
            role = self.role_for(binding)
            if role is None:
                continue
            for rule, origin in role.effective():
                if rule.matches(verb, group, resource, name):
                    for subject in binding.subjects:
                        yield Grant(subject, binding, role, rule, origin)
                    break
