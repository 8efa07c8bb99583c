"""`who-can read secret/NAME -n NS`: every subject that can read a Secret, directly or indirectly.

Direct paths are RBAC grants of get/list/watch on the Secret (honouring resourceNames). Indirect paths are the
well-known escalations: creating or editing a workload that mounts it, exec/attach into a pod, escalate/bind,
the kubelet API through nodes/proxy, and acting as a subject that can read it: minting a token for such a
service account, or impersonating such a user, group or service account (resourceNames honoured; one level).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from strongroom.rbaclint.model import WORKLOAD_RESOURCES, Grant, RbacModel, Subject, workload_group

__all__ = ["Access", "parse_target", "who_can"]

# (verb, group, resource, cluster_only, short label); docs/lint.md explains each path
_INDIRECT: list[tuple[str, str, str, bool, str]] = [
    *[("create", workload_group(r), r, False, f"create {r}") for r in WORKLOAD_RESOURCES],
    *[
        (v, workload_group(r), r, False, f"{v} {r}")
        for r in WORKLOAD_RESOURCES
        if r != "pods"
        for v in ("update", "patch")
    ],
    ("create", "", "pods/exec", False, "pods/exec"),
    ("get", "", "pods/exec", False, "pods/exec (websocket)"),
    ("create", "", "pods/attach", False, "pods/attach"),
    ("escalate", "rbac.authorization.k8s.io", "roles", False, "escalate roles"),
    ("escalate", "rbac.authorization.k8s.io", "clusterroles", False, "escalate clusterroles"),
    ("bind", "rbac.authorization.k8s.io", "roles", False, "bind roles"),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", False, "bind clusterroles"),
    ("get", "", "nodes/proxy", True, "nodes/proxy (kubelet API)"),
]


_CLUSTER = "cluster-wide"
_MASTERS = "member of system:masters (bypasses RBAC)"


@dataclass(frozen=True, slots=True)
class Access:
    subject: str
    kind: str  # direct | indirect
    how: str
    binding: str
    role: str
    scope: str

    def to_dict(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "access": self.kind,
            "how": self.how,
            "binding": self.binding,
            "role": self.role,
            "scope": self.scope,
        }


def parse_target(text: str) -> tuple[str, str | None]:
    """`secret/NAME`, `secrets/NAME` or `secrets` -> ("secrets", NAME or None)."""
    kind, _, name = text.partition("/")
    if kind.lower() not in ("secret", "secrets"):
        raise ValueError(f"who-can only answers for Secrets (got {text!r}; use secret/NAME)")
    return "secrets", name or None


def _access(grant: Grant, kind: str, how: str) -> Access:
    via = "" if grant.origin is grant.role else f" (aggregated from {grant.origin.ref})"
    return Access(str(grant.subject), kind, how, grant.binding.obj.ref, grant.role.ref + via, grant.binding.scope())


_VERBS = ("create", "update", "patch", "impersonate", "escalate", "bind")


def _compact(hows: list[str]) -> str:
    """["create pods", "create jobs", "update jobs", "patch jobs"] -> "create pods, jobs; update/patch jobs"."""
    by_verb: dict[str, list[str]] = {}
    rest: list[str] = []
    for how in hows:
        verb, _, what = how.partition(" ")
        if verb in _VERBS and what:
            by_verb.setdefault(verb, []).append(what)
        else:
            rest.append(how)
    merged: dict[tuple[str, ...], list[str]] = {}
    for verb, whats in by_verb.items():
        merged.setdefault(tuple(whats), []).append(verb)
    parts = [f"{'/'.join(verbs)} {', '.join(whats)}" for whats, verbs in merged.items()]
    return "; ".join([*parts, ", ".join(rest)] if rest else parts)


def _identity_paths(model: RbacModel, readers: Iterable[Subject]) -> Iterator[tuple[Grant, str]]:
    """Grants that let a subject act as one of `readers`: token minting and impersonation."""
    for s in sorted(readers, key=str):
        if s.kind == "ServiceAccount" and s.namespace:
            for g in model.grants("create", "", "serviceaccounts/token", s.namespace, s.name):
                yield g, f"mint token of {s}"
            for g in model.grants("impersonate", "", "serviceaccounts", s.namespace, s.name):
                yield g, f"impersonate {s}"
        elif s.kind in ("User", "Group"):
            # users and groups are cluster-scoped: only ClusterRoleBindings can grant their impersonation
            for g in model.grants("impersonate", "", "users" if s.kind == "User" else "groups", None, s.name):
                yield g, f"impersonate {s}"


def who_can(model: RbacModel, verb: str, name: str | None, namespace: str) -> list[Access]:
    """One row per (subject, binding, direct/indirect); verb "read" = get/list/watch plus indirect paths."""
    rows: dict[tuple[str, str, str], tuple[Grant, list[str]]] = {}

    def add(grant: Grant, kind: str, how: str) -> None:
        key = (str(grant.subject), kind, grant.binding.obj.ref)
        entry = rows.setdefault(key, (grant, []))
        if how not in entry[1]:
            entry[1].append(how)

    for v in ("get", "list", "watch") if verb == "read" else (verb,):
        for grant in model.grants(v, "", "secrets", namespace, name):
            add(grant, "direct", v + (f" (resourceNames: {name})" if grant.rule.resource_names else ""))
    if verb == "read":
        for v, group, resource, cluster_only, label in _INDIRECT:
            for grant in model.grants(v, group, resource, None if cluster_only else namespace):
                add(grant, "indirect", label)
        readers = {g.subject for g, _ in rows.values()} | {Subject("Group", "system:masters")}
        for grant, label in _identity_paths(model, readers):
            add(grant, "indirect", label)
    out = [_access(grant, kind, _compact(hows)) for (_, kind, _), (grant, hows) in rows.items()]
    out.append(Access("Group system:masters", "direct", _MASTERS, "-", "-", _CLUSTER))
    out.sort(key=lambda a: (a.kind != "direct", a.subject, a.binding))
    return out
