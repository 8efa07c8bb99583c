"""Sealing scopes and the OAEP label each one binds a value to (sealed-secrets-format.md §2)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from strongroom.sealing.errors import InvalidObjectError

ANNOTATION_NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
ANNOTATION_CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
ANNOTATION_MANAGED = "sealedsecrets.bitnami.com/managed"
ANNOTATION_PATCH = "sealedsecrets.bitnami.com/patch"
ANNOTATION_SKIP_OWNER_REFERENCES = "sealedsecrets.bitnami.com/skip-set-owner-references"
LABEL_SEALING_KEY = "sealedsecrets.bitnami.com/sealed-secrets-key"


class Scope(StrEnum):
    """Where a sealed value may be unsealed: only under its name, anywhere in its namespace, or anywhere."""

    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"


def scope_from_annotations(annotations: Mapping[str, Any] | None) -> Scope:
    """Upstream's rule: the value must be exactly "true" (case-sensitive); cluster-wide wins."""
    annotations = annotations or {}
    if annotations.get(ANNOTATION_CLUSTER_WIDE) == "true":
        return Scope.CLUSTER_WIDE
    if annotations.get(ANNOTATION_NAMESPACE_WIDE) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def scope_of(obj: Mapping[str, Any]) -> Scope:
    """Scope of a Secret or SealedSecret, from its top-level `metadata.annotations`."""
    metadata = obj.get("metadata") or {}
    return scope_from_annotations(metadata.get("annotations") if isinstance(metadata, Mapping) else None)


def label_for(scope: Scope, namespace: str | None, name: str | None) -> bytes:
    """OAEP label: `namespace/name` (strict), `namespace` (namespace-wide), empty (cluster-wide)."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if not namespace:
        raise InvalidObjectError(f"a {scope.value} secret must declare a namespace")
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    if not name:
        raise InvalidObjectError("a strict secret must have a name")
    return f"{namespace}/{name}".encode()


def with_scope_annotations(annotations: Mapping[str, str] | None, scope: Scope) -> dict[str, str]:
    """A copy of `annotations` with both scope annotations removed and the one for `scope` set."""
    result = {k: v for k, v in (annotations or {}).items()
              if k not in (ANNOTATION_NAMESPACE_WIDE, ANNOTATION_CLUSTER_WIDE)}
    if scope is Scope.NAMESPACE_WIDE:
        result[ANNOTATION_NAMESPACE_WIDE] = "true"
    elif scope is Scope.CLUSTER_WIDE:
        result[ANNOTATION_CLUSTER_WIDE] = "true"
    return result
