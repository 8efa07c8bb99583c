"""`lint unused`: roles no binding uses, bindings whose role is missing, and Secrets nothing refers to.

Only the input is known, so "unused" means "unused by anything in the input"; a Secret read through the API by
an application is counted as used when some role names it in resourceNames. References from custom resources
are found by field name (`secretName`, `secretRef`, `existingSecret`, ...), which covers cert-manager,
ExternalSecret, Ingress and most Helm charts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from strongroom.rbaclint.base import Context
from strongroom.rbaclint.loader import K8sObject
from strongroom.rbaclint.model import BUILTIN_ROLES

__all__ = ["Unused", "find_unused"]

_AGGREGATE_TO_BUILTIN = (
    "rbac.authorization.k8s.io/aggregate-to-admin",
    "rbac.authorization.k8s.io/aggregate-to-edit",
    "rbac.authorization.k8s.io/aggregate-to-view",
    "rbac.authorization.k8s.io/aggregate-to-cluster-reader",
)
_SKIP_SECRET_TYPES = frozenset(
    {"kubernetes.io/service-account-token", "helm.sh/release.v1", "bootstrap.kubernetes.io/token"}
)
_REF_KEYS = frozenset(
    {
        "secret",  # projected volume source: secret: {name: ...}
        "secretName",
        "existingSecret",
        "secretRef",
        "secretKeyRef",
        "secretTemplate",
        "imagePullSecrets",
        "tokenSecretRef",
        "credentialsSecretRef",
    }
)


@dataclass(frozen=True, slots=True)
class Unused:
    obj: K8sObject
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "object": self.obj.ref,
            "reason": self.reason,
            "source": self.obj.source,
            "line": None if self.obj.from_cluster else self.obj.line,
        }


def _names(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict) and isinstance(value.get("name"), str):
        yield value["name"]
    elif isinstance(value, list):
        for item in value:
            yield from _names(item)


def _walk_refs(value: Any, depth: int = 0) -> Iterator[str]:
    """Secret names under well-known reference keys anywhere in an object."""
    if depth > 12:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            if key in _REF_KEYS:
                yield from _names(child)
            if isinstance(child, dict | list):
                yield from _walk_refs(child, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_refs(item, depth + 1)


def _secret_refs(ctx: Context) -> set[tuple[str | None, str]]:
    refs: set[tuple[str | None, str]] = set()
    for obj in ctx.objects:
        if obj.kind == "Secret":
            continue
        if obj.kind in ("SealedSecret", "ExternalSecret"):
            refs.add((obj.namespace, obj.name))  # they produce a Secret of (by default) the same name
        refs.update((obj.namespace, n) for n in _walk_refs(obj.raw))
        if obj.kind == "ServiceAccount":
            refs.update((obj.namespace, n) for n in _names(obj.raw.get("secrets")))
    for role in ctx.rbac.roles.values():
        for rule in role.rules:
            if rule.covers_resource("", "secrets"):
                refs.update((role.namespace, n) for n in rule.resource_names)
                if role.namespace is None:
                    refs.update(
                        (ns, n) for ns in {o.namespace for o in ctx.kind("Secret")} for n in rule.resource_names
                    )
    return refs


def find_unused(ctx: Context) -> list[Unused]:
    out: list[Unused] = []
    model = ctx.rbac
    used_roles = {id(r) for b in model.bindings if (r := model.role_for(b)) is not None}
    for role in model.roles.values():
        if role.builtin or id(role) in used_roles or role.obj is None:
            continue
        if role.name.startswith("system:") or any(role.obj.labels.get(k) == "true" for k in _AGGREGATE_TO_BUILTIN):
            continue
        if any(
            any(o is role for o, _ in other.aggregated) and id(other) in used_roles for other in model.roles.values()
        ):
            continue
        out.append(Unused(role.obj, "no binding refers to this role"))
    for binding in model.bindings:
        if (
            model.role_for(binding) is None
            and binding.role_name not in BUILTIN_ROLES
            and not (binding.role_kind == "ClusterRole" and binding.role_name.startswith("system:"))
        ):
            out.append(Unused(binding.obj, f"refers to missing {binding.role_kind} {binding.role_name}"))
        elif not binding.subjects:
            out.append(Unused(binding.obj, "has no subjects"))
    refs = _secret_refs(ctx)
    for secret in ctx.kind("Secret"):
        if str(secret.raw.get("type", "")) in _SKIP_SECRET_TYPES:
            continue
        if (secret.namespace, secret.name) not in refs:
            out.append(Unused(secret, "no pod, service account, ingress, role or custom resource refers to it"))
    return out
