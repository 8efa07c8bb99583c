"""Secret -> SealedSecret, exactly as kubeseal builds it (sealed-secrets-format.md §3-§4, §6). Pure."""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from typing import Any

from strongroom.crypto.hybrid import RSAPublicKey, hybrid_seal
from strongroom.sealing.errors import InvalidObjectError
from strongroom.sealing.scope import Scope, label_for, scope_from_annotations, with_scope_annotations

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"

# Annotations that hold the last applied object, plaintext included: never copied into a SealedSecret.
LAST_APPLIED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
)
_SERVER_FIELDS = ("selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "managedFields")


def std_b64decode(text: str) -> bytes:
    """Go's base64.StdEncoding.DecodeString: padding required, CR/LF skipped, nothing else tolerated."""
    if "\n" in text or "\r" in text:
        text = text.replace("\n", "").replace("\r", "")
    return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)


def seal_value(public_key: RSAPublicKey, scope: Scope, namespace: str | None, name: str | None,
               plaintext: bytes) -> str:
    """One value sealed for `scope` at namespace/name, as the standard base64 kubeseal `--raw` prints."""
    return base64.b64encode(hybrid_seal(public_key, plaintext, label_for(scope, namespace, name))).decode()


def require_kind(obj: Mapping[str, Any], api_version: str, kind: str) -> None:
    if obj.get("kind") != kind or obj.get("apiVersion") != api_version:
        got = f"{obj.get('apiVersion') or '?'} {obj.get('kind') or '?'}"
        raise InvalidObjectError(f"expected a {api_version} {kind}, got {got}")
    if not isinstance(obj.get("metadata") or {}, Mapping):
        raise InvalidObjectError(f"the {kind}'s metadata is not a mapping")


def secret_values(secret: Mapping[str, Any]) -> dict[str, bytes]:
    """Decoded `data` plus UTF-8 `stringData` (which wins on a shared key). Errors name the key only."""
    values: dict[str, bytes] = {}
    for field in ("data", "stringData"):
        section = secret.get(field) or {}
        if not isinstance(section, Mapping):
            raise InvalidObjectError(f"the Secret's {field} is not a mapping")
        for key, value in section.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidObjectError(f"{field}.{key} must be a string (quote it in YAML)")
            if field == "stringData":
                values[key] = value.encode()
                continue
            try:
                values[key] = std_b64decode(value)
            except (binascii.Error, ValueError):
                raise InvalidObjectError(f"data.{key} is not valid base64") from None
    return values


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of a Secret's metadata fit for `spec.template.metadata`: no server fields, no last-applied."""
    result = copy.deepcopy(dict(metadata))
    for field in _SERVER_FIELDS:
        result.pop(field, None)
    annotations = {k: v for k, v in (result.get("annotations") or {}).items()
                   if k not in LAST_APPLIED_ANNOTATIONS}
    if annotations:
        result["annotations"] = annotations
    else:
        result.pop("annotations", None)
    if not result.get("labels"):
        result.pop("labels", None)
    result["creationTimestamp"] = None
    return result


def _resolve_namespace(declared: str, namespace: str | None, default_namespace: str) -> str:
    if namespace and declared and declared != namespace:
        raise InvalidObjectError(
            f"namespace mismatch: the Secret says {declared!r}, --namespace says {namespace!r}")
    return declared or namespace or default_namespace


def seal_secret(secret: Mapping[str, Any], public_key: RSAPublicKey, scope: Scope | None = None, *,
                name: str | None = None, namespace: str | None = None, default_namespace: str = "default",
                allow_empty_data: bool = False) -> dict[str, Any]:
    """A SealedSecret for `secret`. `scope=None` keeps the scope its annotations declare; an explicit scope
    (strict included, unlike kubeseal) rewrites them. `namespace` must agree with the Secret's own, if any."""
    require_kind(secret, "v1", "Secret")
    metadata = dict(secret.get("metadata") or {})
    values = secret_values(secret)
    if not values and not allow_empty_data:
        raise InvalidObjectError("the Secret has no data or stringData (allow empty data to seal it anyway)")
    for field in ("labels", "annotations"):
        section = metadata.get(field) or {}
        if not isinstance(section, Mapping):
            raise InvalidObjectError(f"the Secret's metadata.{field} is not a mapping")
        for key, value in section.items():
            if not isinstance(value, str):
                raise InvalidObjectError(f"metadata.{field}.{key} must be a string (quote it in YAML)")
    annotations = metadata.get("annotations") or {}
    effective = scope if scope is not None else scope_from_annotations(annotations)
    metadata["annotations"] = with_scope_annotations(annotations, effective)
    metadata["name"] = name or metadata.get("name") or ""
    if not metadata["name"]:
        raise InvalidObjectError("the Secret has no metadata.name")
    ns = _resolve_namespace(str(metadata.get("namespace") or ""), namespace, default_namespace)
    metadata["namespace"] = ns
    label = label_for(effective, ns, metadata["name"])

    template: dict[str, Any] = {"metadata": clean_metadata(metadata)}
    if secret.get("type"):
        template["type"] = secret["type"]
    if secret.get("immutable") is not None:
        template["immutable"] = bool(secret["immutable"])
    top: dict[str, Any] = {"name": metadata["name"], "namespace": ns, "creationTimestamp": None}
    if effective is not Scope.STRICT:
        top["annotations"] = with_scope_annotations({}, effective)
    if not ns:
        del top["namespace"]
        del template["metadata"]["namespace"]
    encrypted = {key: base64.b64encode(hybrid_seal(public_key, value, label)).decode()
                 for key, value in values.items()}
    return {"kind": KIND, "apiVersion": API_VERSION, "metadata": top,
            "spec": {"template": template, "encryptedData": encrypted}}


def merge_into(existing: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """kubeseal `--merge-into`: copy `update`'s encrypted items and template labels/annotations/data into
    a copy of `existing`. Seal `update` with existing's name and namespace first; other items stay."""
    require_kind(existing, API_VERSION, KIND)
    require_kind(update, API_VERSION, KIND)
    result = copy.deepcopy(dict(existing))
    spec = result.setdefault("spec", {})
    new_spec = update.get("spec") or {}
    spec.setdefault("encryptedData", {}).update(new_spec.get("encryptedData") or {})
    new_template = new_spec.get("template") or {}
    new_meta = new_template.get("metadata") or {}
    if new_meta.get("labels") or new_meta.get("annotations") or new_template.get("data"):
        template = spec.setdefault("template", {})
        meta = template.setdefault("metadata", {})
        for field in ("labels", "annotations"):
            if new_meta.get(field):
                meta.setdefault(field, {}).update(new_meta[field])
        if new_template.get("data"):
            template.setdefault("data", {}).update(new_template["data"])
    return result
