"""RBAC checks: direct Secret reads, indirect read paths, and risky bindings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.model import WORKLOAD_RESOURCES, PolicyRule, Role, workload_group

_RB = "rbac.authorization.k8s.io/v1"
_SAFE_GROUP_ROLES = frozenset(
    {
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
        "system:service-account-issuer-discovery",
    }
)


def _user_roles(ctx: Context) -> Iterator[Role]:
    """Roles written by people: skip the apiserver's bootstrap roles and `system:` roles of a cluster dump."""
    for role in ctx.rbac.roles.values():
        if role.builtin or (role.obj is not None and role.obj.from_cluster and role.name.startswith("system:")):
            continue
        yield role


def _full_wildcard(rule: PolicyRule) -> bool:
    return "*" in rule.verbs and "*" in rule.api_groups and "*" in rule.resources and not rule.resource_names


def _rule_check(
    pred: Callable[[PolicyRule], str | None], *, wildcard: bool = False
) -> Callable[[Check, Context], Iterator[Finding]]:
    """Build a check that reports the first role rule for which `pred` returns a description.

    A `*/*/*` rule is reported once, by `wildcard-all`, instead of by every check it would also trigger.
    """

    def run(check: Check, ctx: Context) -> Iterator[Finding]:
        for role in _user_roles(ctx):
            if role.selectors:
                continue  # the controller overwrites an aggregated role's rules; they are reported at the sources
            for rule in role.rules:
                if _full_wildcard(rule) != wildcard:
                    continue
                what = pred(rule)
                if what:
                    where = ctx.rbac.bound_to(role)
                    # a namespaced Role cannot reach cluster-scoped resources: one step lower for critical checks
                    sev = Severity.HIGH if role.kind == "Role" and check.severity == Severity.CRITICAL else None
                    yield check.finding(role.obj, f"{role.ref} {what} [{rule.describe()}]; {where}", sev)
                    break

    return run


def _secrets_wildcard(rule: PolicyRule) -> str | None:
    if rule.resource_names or not rule.covers_resource("", "secrets"):
        return None
    if not any(rule.allows_verb(v) for v in ("get", "list", "watch")):
        return None
    if "*" in rule.resources or ("*" in rule.verbs and "secrets" in rule.resources):
        return "can read Secrets through a wildcard"
    return None


def _secrets_list_watch(rule: PolicyRule) -> str | None:
    if rule.resource_names or "secrets" not in rule.resources or not rule.covers_group(""):
        return None
    verbs = sorted(v for v in ("list", "watch") if v in rule.verbs)
    return f"can {'/'.join(verbs)} Secrets, which returns every Secret's values" if verbs else None


def _secrets_get_all(rule: PolicyRule) -> str | None:
    if rule.resource_names or "secrets" not in rule.resources or not rule.covers_group(""):
        return None
    if "get" in rule.verbs and not {"list", "watch", "*"} & rule.verbs:
        return "can get any Secret by name (no resourceNames)"
    return None


def _create_workloads(rule: PolicyRule) -> str | None:
    hits = [r for r in WORKLOAD_RESOURCES if rule.matches("create", workload_group(r), r)]
    if hits:
        return f"can create {', '.join(hits)}, and a pod it creates can mount any Secret of the namespace"
    return None


def _exec_attach(rule: PolicyRule) -> str | None:
    for sub in ("pods/exec", "pods/attach"):
        if rule.covers_resource("", sub) and (rule.allows_verb("create") or rule.allows_verb("get")):
            return f"can use {sub}, reading the Secrets mounted in running pods"
    return None


def _impersonate(rule: PolicyRule) -> str | None:
    for res, group in (
        ("users", ""),
        ("groups", ""),
        ("serviceaccounts", ""),
        ("uids", "authentication.k8s.io"),
    ):
        if rule.matches("impersonate", group, res):
            return f"can impersonate {res}, and so act as any identity that can read Secrets"
    return None


def _escalate_bind(rule: PolicyRule) -> str | None:
    for verb in ("escalate", "bind"):
        for res in ("roles", "clusterroles"):
            if rule.matches(verb, "rbac.authorization.k8s.io", res):
                return f"can {verb} {res}, granting itself any permission (including Secret reads)"
    return None


def _sa_token(rule: PolicyRule) -> str | None:
    if rule.matches("create", "", "serviceaccounts/token"):
        return "can mint tokens for service accounts (serviceaccounts/token) and use their permissions"
    return None


def _nodes_proxy(rule: PolicyRule) -> str | None:
    if rule.covers_resource("", "nodes/proxy") and (rule.allows_verb("get") or rule.allows_verb("create")):
        return "can use nodes/proxy, i.e. the kubelet API (exec into any pod on the node)"
    return None


def _cr(name: str, rules: str, extra: str = "") -> str:
    return f"apiVersion: {_RB}\nkind: ClusterRole\nmetadata:\n  name: {name}\n{extra}rules:\n{rules}"


def _role(name: str, rules: str) -> str:
    return f"apiVersion: {_RB}\nkind: Role\nmetadata:\n  name: {name}\n  namespace: app\nrules:\n{rules}"


CHECKS = [
    Check(
        "wildcard-all",
        "Role grants every verb on every resource",
        Severity.CRITICAL,
        "Replace `*` with the API groups, resources and verbs the subject needs (this is cluster-admin).",
        _rule_check(lambda rule: "grants * on * (cluster-admin equivalent in its scope)", wildcard=True),
        _cr("god", "- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']\n"),
        _cr("god", "- apiGroups: ['*']\n  resources: ['*']\n  verbs: [get]\n"),
    ),
    Check(
        "secrets-wildcard-read",
        "Secrets readable through a wildcard",
        Severity.HIGH,
        "List resources explicitly instead of `*`, and leave `secrets` out (or add resourceNames).",
        _rule_check(_secrets_wildcard),
        _cr("reader", "- apiGroups: ['*']\n  resources: ['*']\n  verbs: [get, list]\n"),
        _cr("reader", "- apiGroups: ['']\n  resources: [configmaps, pods]\n  verbs: [get, list]\n"),
    ),
    Check(
        "secrets-list-watch",
        "list/watch on Secrets exposes every Secret",
        Severity.HIGH,
        "Grant only `get` with `resourceNames: [the-secret]`; list/watch return every Secret's values.",
        _rule_check(_secrets_list_watch),
        _role("lister", "- apiGroups: ['']\n  resources: [secrets]\n  verbs: [list]\n"),
        _role("lister", "- apiGroups: ['']\n  resources: [secrets]\n  resourceNames: [app-db]\n  verbs: [get]\n"),
    ),
    Check(
        "secrets-get-unnamed",
        "get on Secrets without resourceNames",
        Severity.MEDIUM,
        "Add `resourceNames:` listing the Secrets this role really needs.",
        _rule_check(_secrets_get_all),
        _role("getter", "- apiGroups: ['']\n  resources: [secrets]\n  verbs: [get]\n"),
        _role("getter", "- apiGroups: ['']\n  resources: [secrets]\n  resourceNames: [tls]\n  verbs: [get]\n"),
    ),
    Check(
        "create-workloads",
        "Creating pods or workloads reads Secrets indirectly",
        Severity.HIGH,
        "Let a CD system create workloads; people and apps should not hold `create` on pods or controllers.",
        _rule_check(_create_workloads),
        _role("deployer", "- apiGroups: [apps]\n  resources: [deployments]\n  verbs: [create, update]\n"),
        _role("deployer", "- apiGroups: [apps]\n  resources: [deployments]\n  verbs: [get, list, patch]\n"),
        category="indirect",
    ),
    Check(
        "pods-exec-attach",
        "pods/exec or pods/attach reads mounted Secrets",
        Severity.HIGH,
        "Remove pods/exec and pods/attach (`create`, and `get` for websockets) outside break-glass roles.",
        _rule_check(_exec_attach),
        _role("debugger", "- apiGroups: ['']\n  resources: [pods/exec]\n  verbs: [create]\n"),
        _role("debugger", "- apiGroups: ['']\n  resources: [pods/log]\n  verbs: [get]\n"),
        category="indirect",
    ),
    Check(
        "impersonate",
        "impersonate lets a subject act as others",
        Severity.CRITICAL,
        "Remove `impersonate`, or restrict it with resourceNames to one harmless identity.",
        _rule_check(_impersonate),
        _cr("sudo", "- apiGroups: ['']\n  resources: [users, groups]\n  verbs: [impersonate]\n"),
        _cr("sudo", "- apiGroups: ['']\n  resources: [users]\n  verbs: [get]\n"),
        category="indirect",
    ),
    Check(
        "escalate-bind",
        "escalate/bind on roles grants any permission",
        Severity.CRITICAL,
        "Remove the `escalate` and `bind` verbs; RBAC managers should be cluster administrators only.",
        _rule_check(_escalate_bind),
        _cr(
            "rbac-manager",
            "- apiGroups: [rbac.authorization.k8s.io]\n  resources: [clusterroles]\n  verbs: [bind, escalate]\n",
        ),
        _cr(
            "rbac-manager",
            "- apiGroups: [rbac.authorization.k8s.io]\n  resources: [clusterroles]\n  verbs: [get, list]\n",
        ),
        category="indirect",
    ),
    Check(
        "serviceaccount-token",
        "serviceaccounts/token mints tokens for other identities",
        Severity.HIGH,
        "Remove `create` on serviceaccounts/token, or narrow it with resourceNames to one service account.",
        _rule_check(_sa_token),
        _role("minter", "- apiGroups: ['']\n  resources: [serviceaccounts/token]\n  verbs: [create]\n"),
        _role("minter", "- apiGroups: ['']\n  resources: [serviceaccounts]\n  verbs: [get]\n"),
        category="indirect",
    ),
    Check(
        "nodes-proxy",
        "nodes/proxy gives the kubelet API",
        Severity.HIGH,
        "Remove nodes/proxy; use metrics endpoints (nodes/metrics, nodes/stats) for monitoring.",
        _rule_check(_nodes_proxy),
        _cr("monitor", "- apiGroups: ['']\n  resources: [nodes/proxy]\n  verbs: [get]\n"),
        _cr("monitor", "- apiGroups: ['']\n  resources: [nodes/metrics, nodes/stats]\n  verbs: [get]\n"),
        category="indirect",
    ),
]
