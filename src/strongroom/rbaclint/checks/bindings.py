"""Binding checks: who receives power, and how widely."""

from __future__ import annotations

from collections.abc import Iterator

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.model import Binding

_RB = "rbac.authorization.k8s.io/v1"
_SAFE_ROLES = frozenset(
    {
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
        "system:service-account-issuer-discovery",
    }
)
_BROAD_GROUPS = {
    "system:unauthenticated": Severity.CRITICAL,
    "system:authenticated": Severity.HIGH,
    "system:serviceaccounts": Severity.HIGH,
}
_ADMIN_ROLES = {
    "cluster-admin": (Severity.CRITICAL, Severity.HIGH),
    "admin": (Severity.HIGH, Severity.MEDIUM),
    "edit": (Severity.HIGH, Severity.MEDIUM),
}


def _user_bindings(ctx: Context) -> Iterator[Binding]:
    for b in ctx.rbac.bindings:
        if b.obj.labels.get("kubernetes.io/bootstrapping") == "rbac-defaults":
            continue
        if b.obj.from_cluster and b.obj.name.startswith("system:"):
            continue
        yield b


def _system_ns(ns: str | None) -> bool:
    return ns is not None and ns.startswith("kube-")


def _cluster_sa(check: Check, ctx: Context) -> Iterator[Finding]:
    for b in _user_bindings(ctx):
        if not b.cluster_wide:
            continue
        for s in b.subjects:
            if s.kind != "ServiceAccount" or _system_ns(s.namespace):
                continue
            sev = Severity.HIGH if s.name == "default" else check.severity
            yield check.finding(b.obj, f"{b.obj.ref} grants {b.role_kind} {b.role_name} cluster-wide to {s}", sev)


def _default_sa(check: Check, ctx: Context) -> Iterator[Finding]:
    for b in _user_bindings(ctx):
        if b.cluster_wide:
            continue  # reported (higher) by cluster-wide-serviceaccount-grant
        for s in b.subjects:
            if s.kind == "ServiceAccount" and s.name == "default" and not _system_ns(s.namespace):
                yield check.finding(
                    b.obj,
                    f"{b.obj.ref} grants {b.role_kind} {b.role_name} to {s}, which every "
                    "pod without its own service account uses",
                )


def _broad_group(check: Check, ctx: Context) -> Iterator[Finding]:
    for b in _user_bindings(ctx):
        if b.role_name in _SAFE_ROLES:
            continue
        for s in b.subjects:
            sev = None
            if s.kind == "Group":
                sev = _BROAD_GROUPS.get(s.name)
                if sev is None and s.name.startswith("system:serviceaccounts:"):
                    sev = Severity.MEDIUM
            elif s.kind == "User" and s.name == "system:anonymous":
                sev = Severity.CRITICAL
            if sev is None:
                continue
            if not b.cluster_wide and sev > Severity.MEDIUM:
                sev = Severity(sev - 1)
            yield check.finding(b.obj, f"{b.obj.ref} grants {b.role_kind} {b.role_name} ({b.scope()}) to {s}", sev)


def _admin_roles(check: Check, ctx: Context) -> Iterator[Finding]:
    for b in _user_bindings(ctx):
        sevs = _ADMIN_ROLES.get(b.role_name)
        if sevs is None or b.role_kind != "ClusterRole" or not b.subjects:
            continue
        sev = sevs[0] if b.cluster_wide else sevs[1]
        who = ", ".join(str(s) for s in b.subjects[:3]) + (" ..." if len(b.subjects) > 3 else "")
        yield check.finding(b.obj, f"{b.obj.ref} binds built-in {b.role_name} ({b.scope()}) to {who}", sev)


def _crb(name: str, role: str, subject: str) -> str:
    return (
        f"apiVersion: {_RB}\nkind: ClusterRoleBinding\nmetadata:\n  name: {name}\n"
        f"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {role}\n"
        f"subjects:\n{subject}"
    )


def _rb(name: str, role_kind: str, role: str, subject: str) -> str:
    return (
        f"apiVersion: {_RB}\nkind: RoleBinding\nmetadata:\n  name: {name}\n  namespace: app\n"
        f"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {role}\n"
        f"subjects:\n{subject}"
    )


_SA_DEFAULT = "- kind: ServiceAccount\n  name: default\n  namespace: app\n"
_SA_APP = "- kind: ServiceAccount\n  name: app-reader\n  namespace: app\n"

CHECKS = [
    Check(
        "cluster-wide-serviceaccount-grant",
        "Cluster-wide grant to an application or default service account",
        Severity.MEDIUM,
        "Use a RoleBinding in the namespaces the app needs, with a dedicated service account.",
        _cluster_sa,
        _crb("app-reader", "view", _SA_DEFAULT),
        _rb("app-reader", "ClusterRole", "view", _SA_APP),
        category="binding",
    ),
    Check(
        "default-serviceaccount-grant",
        "Role granted to a namespace's default service account",
        Severity.MEDIUM,
        "Create a dedicated service account for the workload and bind the role to it instead of `default`.",
        _default_sa,
        _rb("app-view", "ClusterRole", "view", _SA_DEFAULT),
        _rb("app-view", "ClusterRole", "view", _SA_APP),
        category="binding",
    ),
    Check(
        "broad-group-grant",
        "Grant to everyone (system:authenticated / unauthenticated / all service accounts)",
        Severity.HIGH,
        "Bind to named users, groups from your identity provider, or specific service accounts.",
        _broad_group,
        _crb(
            "everyone-view",
            "view",
            "- kind: Group\n  name: system:authenticated\n  apiGroup: rbac.authorization.k8s.io\n",
        ),
        _crb("ops-view", "view", "- kind: Group\n  name: ops-team\n  apiGroup: rbac.authorization.k8s.io\n"),
        category="binding",
    ),
    Check(
        "builtin-admin-binding",
        "Binding to cluster-admin, admin or edit",
        Severity.HIGH,
        "Write a role with only the verbs and resources needed; admin/edit include Secret reads and exec.",
        _admin_roles,
        _crb("ci-admin", "cluster-admin", _SA_APP),
        _crb("ci-view", "view", _SA_APP),
        category="binding",
    ),
]
