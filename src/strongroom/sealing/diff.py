"""Which items and fields differ between two Secrets/SealedSecrets, without ever revealing a value.

What can be known (docs/sealing.md, "seal diff"):
* added / removed items: always (item names are in clear);
* template type, labels, annotations, template data keys, name, namespace, scope: always (all in clear);
* a common item's value: compared exactly when both plaintexts are available (a plain Secret, or a
  SealedSecret plus a private key that opens it); otherwise identical ciphertexts mean unchanged, and a
  different value *length* means changed (the format leaks the length: ciphertext = 2 + RSA block + value +
  16); same length with different ciphertexts is `unknown`, because sealing is randomised.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from strongroom.crypto import constant_time_eq
from strongroom.crypto.errors import CryptoError
from strongroom.crypto.hybrid import RSAPrivateKey, hybrid_open_any
from strongroom.sealing.errors import InvalidObjectError
from strongroom.sealing.scope import label_for, scope_of
from strongroom.sealing.seal import API_VERSION, KIND, LAST_APPLIED_ANNOTATIONS, secret_values

_TAG = 16


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ItemDiff:
    item: str
    change: Change
    basis: str  # how we know, e.g. "decrypted values compared"


@dataclass(frozen=True)
class SealedDiff:
    items: list[ItemDiff]
    fields: list[tuple[str, str]] = field(default_factory=list)  # (field path, "added"/"removed"/"changed")

    @property
    def has_changes(self) -> bool:
        """True when anything differs or may differ (an `unknown` item counts)."""
        return bool(self.fields) or any(d.change is not Change.UNCHANGED for d in self.items)

    @property
    def status(self) -> str:
        """`changed` (something certainly differs), `unknown` (only unknown items) or `unchanged`."""
        if self.fields or any(d.change not in (Change.UNCHANGED, Change.UNKNOWN) for d in self.items):
            return "changed"
        return "unknown" if any(d.change is Change.UNKNOWN for d in self.items) else "unchanged"

    def as_json(self) -> dict[str, Any]:
        return {"items": [{"item": d.item, "change": d.change.value, "basis": d.basis} for d in self.items],
                "fields": [{"field": f, "change": c} for f, c in self.fields],
                "status": self.status, "changed": self.has_changes}


@dataclass
class _Side:
    """One object reduced to what can be compared: plaintexts, ciphertexts and clear metadata."""

    plain: dict[str, bytes]
    sealed: dict[str, bytes]
    lengths: dict[str, int]
    public: dict[str, Any]


def _sealed_side(obj: Mapping[str, Any], keys: Sequence[RSAPrivateKey]) -> _Side:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    scope = scope_of(obj)
    label = label_for(scope, meta.get("namespace"), meta.get("name"))
    plain: dict[str, bytes] = {}
    sealed: dict[str, bytes] = {}
    lengths: dict[str, int] = {}
    for item, text in (spec.get("encryptedData") or {}).items():
        try:
            raw = base64.b64decode(str(text).replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidObjectError(f"encryptedData.{item} is not valid base64") from None
        sealed[item] = raw
        if len(raw) >= 2:
            body = len(raw) - 2 - int.from_bytes(raw[:2], "big") - _TAG
            if body >= 0:
                lengths[item] = body
        if keys:
            with contextlib.suppress(CryptoError):
                plain[item] = hybrid_open_any(keys, raw, label)
    tmeta = template.get("metadata") or {}
    public = {"name": meta.get("name"), "namespace": meta.get("namespace"), "scope": scope.value,
              "type": template.get("type"), "immutable": template.get("immutable"),
              "labels": tmeta.get("labels") or {}, "annotations": tmeta.get("annotations") or {},
              "template data": {k: "" for k in template.get("data") or {}}}
    return _Side(plain, sealed, lengths, public)


def _secret_side(obj: Mapping[str, Any]) -> _Side:
    meta = obj.get("metadata") or {}
    plain = secret_values(obj)
    public = {"name": meta.get("name"), "namespace": meta.get("namespace"), "scope": scope_of(obj).value,
              "type": obj.get("type"), "immutable": obj.get("immutable"),
              "labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {},
              "template data": {}}
    return _Side(plain, {}, {k: len(v) for k, v in plain.items()}, public)


def _side(obj: Mapping[str, Any], keys: Sequence[RSAPrivateKey]) -> _Side:
    if obj.get("kind") == KIND and obj.get("apiVersion") == API_VERSION:
        return _sealed_side(obj, keys)
    if obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1":
        return _secret_side(obj)
    raise InvalidObjectError("diff compares v1 Secrets and bitnami.com/v1alpha1 SealedSecrets only")


def _compare_item(old: _Side, new: _Side, item: str) -> ItemDiff:
    if item in old.plain and item in new.plain:
        same = constant_time_eq(old.plain[item], new.plain[item])
        return ItemDiff(item, Change.UNCHANGED if same else Change.CHANGED, "values compared")
    if item in old.sealed and item in new.sealed and constant_time_eq(old.sealed[item], new.sealed[item]):
        return ItemDiff(item, Change.UNCHANGED, "identical ciphertext")
    if item in old.lengths and item in new.lengths and old.lengths[item] != new.lengths[item]:
        return ItemDiff(item, Change.CHANGED, "value length differs")
    return ItemDiff(item, Change.UNKNOWN, "re-sealed with the same length; a private key would tell")


def _compare_fields(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in old:
        a, b = old[name], new[name]
        if isinstance(a, dict):
            for key in sorted(set(a) | set(b)):
                if key in LAST_APPLIED_ANNOTATIONS:
                    continue
                if key not in a:
                    out.append((f"{name}.{key}", "added"))
                elif key not in b:
                    out.append((f"{name}.{key}", "removed"))
                elif a[key] != b[key]:
                    out.append((f"{name}.{key}", "changed"))
        elif a != b:
            out.append((name, "changed"))
    return out


def diff_objects(old: Mapping[str, Any], new: Mapping[str, Any],
                 private_keys: Sequence[RSAPrivateKey] = ()) -> SealedDiff:
    """Compare two objects (each a Secret or a SealedSecret) item by item and field by field."""
    a, b = _side(old, private_keys), _side(new, private_keys)
    names_a = set(a.sealed) | set(a.plain)
    names_b = set(b.sealed) | set(b.plain)
    items = [ItemDiff(i, Change.REMOVED, "item names") for i in sorted(names_a - names_b)]
    items += [ItemDiff(i, Change.ADDED, "item names") for i in sorted(names_b - names_a)]
    items += [_compare_item(a, b, i) for i in sorted(names_a & names_b)]
    items.sort(key=lambda d: d.item)
    return SealedDiff(items, _compare_fields(a.public, b.public))
