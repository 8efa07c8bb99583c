"""SealedSecret -> Secret, as the controller and `kubeseal --recovery-unseal` do it (format notes §5, §10).

Pure: keys come in as objects. Every item is tried with every key, newest first as the caller orders them;
failures are collected per item and reported together by name, never by value.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from strongroom.crypto.errors import CryptoError
from strongroom.crypto.hybrid import RSAPrivateKey, RSAPublicKey, hybrid_open_any, hybrid_open_first
from strongroom.sealing.errors import InvalidObjectError, UnsealError
from strongroom.sealing.scope import ANNOTATION_SKIP_OWNER_REFERENCES, Scope, label_for, scope_of
from strongroom.sealing.seal import API_VERSION, KIND, require_kind, seal_secret, std_b64decode
from strongroom.sealing.template import render_templates


def decode_sealed(text: str) -> bytes:
    """Go's StdEncoding as upstream uses it: padding required, CR/LF ignored, anything else rejected."""
    try:
        return std_b64decode(text)
    except (binascii.Error, ValueError):
        raise UnsealError("not valid standard base64") from None


def unseal_value(private_keys: Sequence[RSAPrivateKey], scope: Scope, namespace: str | None, name: str | None,
                 sealed: str | bytes) -> bytes:
    """Open one base64 value (as `kubeseal --raw` prints it) sealed for `scope` at namespace/name."""
    raw = decode_sealed(sealed.decode() if isinstance(sealed, bytes) else sealed)
    try:
        return hybrid_open_any(private_keys, raw, label_for(scope, namespace, name))
    except CryptoError as exc:
        raise UnsealError(f"cannot unseal value: {exc}") from None


def _unseal_items(encrypted: Mapping[str, Any], keys: Sequence[RSAPrivateKey],
                  label: bytes) -> dict[str, bytes]:
    values: dict[str, bytes] = {}
    failed: list[str] = []
    order = list(keys)
    for item, text in encrypted.items():
        try:
            if not isinstance(text, str):
                raise UnsealError("not a string")
            index, values[str(item)] = hybrid_open_first(order, decode_sealed(text), label)
        except (UnsealError, CryptoError):
            failed.append(str(item))
            continue
        if index:  # items of one object are nearly always sealed with one key: try it first from now on
            order.insert(0, order.pop(index))
    if failed:
        names = ", ".join(sorted(failed))
        raise UnsealError(f"no key could decrypt item(s) {names} (wrong key, scope, name or namespace, "
                          "or the ciphertext was altered)", failed)
    return values


def _unseal_v1(blob: str, keys: Sequence[RSAPrivateKey], label: bytes) -> dict[str, Any]:
    """Deprecated `spec.data`: the whole Secret as JSON, sealed as one value."""
    try:
        secret = json.loads(hybrid_open_any(keys, decode_sealed(blob), label))
    except (UnsealError, CryptoError):
        raise UnsealError("no key could decrypt the deprecated spec.data", ["spec.data"]) from None
    except ValueError:
        raise UnsealError("the deprecated spec.data does not hold a JSON Secret", ["spec.data"]) from None
    if not isinstance(secret, dict):
        raise UnsealError("the deprecated spec.data does not hold a JSON Secret", ["spec.data"])
    return secret


def unseal_sealed_secret(sealed: Mapping[str, Any], private_keys: Sequence[RSAPrivateKey], *,
                         accept_v1_data: bool = True) -> dict[str, Any]:
    """The Secret the controller would create: template metadata/type/immutable, decrypted items, rendered
    `spec.template.data`, name/namespace forced to the SealedSecret's, and an ownerReference when the
    SealedSecret has a uid (unless the template asks to skip it)."""
    require_kind(sealed, API_VERSION, KIND)
    meta = sealed.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    spec = sealed.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise InvalidObjectError("the SealedSecret's spec is not a mapping")
    encrypted = spec.get("encryptedData") or {}
    if not isinstance(encrypted, Mapping):
        encrypted = {}  # upstream's Go type silently treats a malformed map as empty
    label = label_for(scope_of(sealed), namespace, name)
    template = spec.get("template") or {}
    if spec.get("data"):
        if encrypted:
            raise InvalidObjectError("the SealedSecret has both spec.data and spec.encryptedData")
        if not accept_v1_data:
            raise InvalidObjectError("the deprecated spec.data format is not accepted here")
        secret = _unseal_v1(str(spec["data"]), private_keys, label)
        secret.setdefault("metadata", {})
    else:
        values = _unseal_items(encrypted, private_keys, label)
        values.update(render_templates(template.get("data") or {}, values))
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": copy.deepcopy(dict(template.get("metadata") or {}))}
        if template.get("type"):
            secret["type"] = template["type"]
        if template.get("immutable") is not None:
            secret["immutable"] = bool(template["immutable"])
        secret["data"] = {k: base64.b64encode(v).decode() for k, v in values.items()}
    out_meta = secret["metadata"]
    for empty in ("creationTimestamp", "labels", "annotations"):  # Go omits empty maps and null times
        if not out_meta.get(empty):
            out_meta.pop(empty, None)
    out_meta["name"] = name
    if namespace:
        out_meta["namespace"] = namespace
    skip_owner = (out_meta.get("annotations") or {}).get(ANNOTATION_SKIP_OWNER_REFERENCES) == "true"
    if meta.get("uid") and not skip_owner:
        out_meta["ownerReferences"] = [{"apiVersion": API_VERSION, "kind": KIND, "name": name,
                                        "uid": meta["uid"], "controller": True}]
    return secret


def reseal_sealed_secret(sealed: Mapping[str, Any], private_keys: Sequence[RSAPrivateKey],
                         public_key: RSAPublicKey) -> dict[str, Any]:
    """What upstream's `/v1/rotate` returns: unseal with any key, seal again to `public_key` (the newest).

    Keeps the scope of the SealedSecret; rendered `template.data` entries come back as ordinary encrypted
    items, as upstream's do. Plaintext exists only in memory, inside this call.
    """
    secret = unseal_sealed_secret(sealed, private_keys)
    return seal_secret(secret, public_key, scope_of(sealed), allow_empty_data=True)
