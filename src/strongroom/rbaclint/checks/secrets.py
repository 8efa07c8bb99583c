"""Secret objects: literal values in Git, and namespaces that hold Secrets without a NetworkPolicy."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.loader import K8sObject

_PLACEHOLDER = re.compile(r"^\s*(\$\{[^}]*\}|\{\{.*\}\}|<[^>]*>|\$\(.*\)|changeme|redacted|\*+)?\s*$", re.I)
_SECRET_KINDS = ("Secret", "SealedSecret", "ExternalSecret")
_SYSTEM_NS = frozenset({"kube-system", "kube-public", "kube-node-lease"})


def _is_literal(value: Any, encoded: bool) -> bool:
    if value is None:
        return False
    text = str(value)
    if encoded:
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return bool(text.strip())
    return not _PLACEHOLDER.match(text)


def _literal_keys(obj: K8sObject) -> list[str]:
    keys: list[str] = []
    for field, encoded in (("data", True), ("stringData", False)):
        values = obj.raw.get(field)
        if isinstance(values, dict):
            keys.extend(str(k) for k, v in values.items() if _is_literal(v, encoded))
    return sorted(set(keys))


def _committed(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in ctx.kind("Secret"):
        if obj.from_cluster or obj.api_version != "v1":
            continue
        keys = _literal_keys(obj)
        if keys:
            yield check.finding(obj, f"{obj.ref} holds literal values for key(s) {', '.join(keys)} in a manifest")


def _sa_token(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in ctx.kind("Secret"):
        if obj.raw.get("type") == "kubernetes.io/service-account-token" and not obj.from_cluster:
            sa = obj.annotations.get("kubernetes.io/service-account.name", "?")
            yield check.finding(obj, f"{obj.ref} asks for a non-expiring token for service account {sa}")


def _netpol(check: Check, ctx: Context) -> Iterator[Finding]:
    covered = {o.namespace for o in ctx.kind("NetworkPolicy")}
    first: dict[str, K8sObject] = {}
    counts: dict[str, int] = {}
    for obj in ctx.kind(*_SECRET_KINDS):
        ns = obj.namespace or "default"
        if ns in covered or ns in _SYSTEM_NS:
            continue
        first.setdefault(ns, obj)
        counts[ns] = counts.get(ns, 0) + 1
    namespaces = {o.name: o for o in ctx.kind("Namespace")}
    for ns, obj in sorted(first.items()):
        anchor = namespaces.get(ns, obj)
        yield check.finding(anchor, f"namespace {ns} holds {counts[ns]} Secret object(s) but has no NetworkPolicy")


_SA_TOKEN = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci-token\n  namespace: app\n  annotations:\n"
    "    kubernetes.io/service-account.name: ci\n"
)
CHECKS = [
    Check(
        "committed-secret",
        "Secret manifest with literal values",
        Severity.HIGH,
        "Commit a SealedSecret (`strongroom seal`) or an ExternalSecret, and rotate the exposed values.",
        _committed,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\ntype: Opaque\n"
        "stringData:\n  password: hunter2-but-longer\n",
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: app\n"
        "spec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tmpl\n  namespace: app\n"
        "stringData:\n  password: ${DB_PASSWORD}\n",
        category="secret",
    ),
    Check(
        "namespace-without-networkpolicy",
        "Namespace holds Secrets but has no NetworkPolicy",
        Severity.LOW,
        "Add a default-deny NetworkPolicy to the namespace, then allow only the traffic the apps need.",
        _netpol,
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: shop\n"
        "spec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n",
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: shop\n"
        "spec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n"
        "  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
        category="secret",
    ),
    Check(
        "long-lived-serviceaccount-token",
        "Manifest creates a non-expiring service-account token",
        Severity.MEDIUM,
        "Use short-lived tokens (projected volumes or `kubectl create token`); delete legacy token Secrets.",
        _sa_token,
        _SA_TOKEN + "type: kubernetes.io/service-account-token\n",
        _SA_TOKEN + "type: Opaque\n",
        category="secret",
    ),
]
