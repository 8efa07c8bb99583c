"""Back up and restore sealing keys (user pain: backing up one key is not enough after renewal, and a lost key
makes every SealedSecret in Git unreadable).

A backup is a `v1 List` of the key Secrets, the same shape as `kubectl get secret -l
sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`, so `kubeseal --recovery-unseal` and upstream's controller
read it too. Restore validates EVERY key before writing ANY (bad input loses nothing), keeps names, and never
overwrites a different key of the same name.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
from dataclasses import dataclass
from typing import Any

import yaml

from strongroom.operator.kube import AlreadyExists, Kube, NotFound, Obj, kinds
from strongroom.operator.sealedsecret.keys import SealingKey, is_wrapped_secret, key_from_secret
from strongroom.sealing import (
    DEFAULT_KEY_PREFIX,
    LABEL_SEALING_KEY,
    SealingError,
    certificate_not_before,
    key_fingerprint,
    load_manifests,
    load_recipient,
)

_SERVER_FIELDS = ("uid", "resourceVersion", "managedFields", "ownerReferences", "generation", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass(frozen=True)
class KeyRecord:
    name: str
    fingerprint: str
    not_before: str
    action: str = ""  # restore: "created" | "exists" | "would-create"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "fingerprint": self.fingerprint, "not_before": self.not_before,
                **({"action": self.action} if self.action else {})}


def _clean(secret: Obj) -> Obj:
    out = copy.deepcopy(secret)
    out["apiVersion"], out["kind"] = "v1", "Secret"
    for k in _SERVER_FIELDS:
        out.get("metadata", {}).pop(k, None)
    return out


async def key_secrets(kube: Kube, namespace: str, prefix: str = DEFAULT_KEY_PREFIX) -> list[Obj]:
    """Every key Secret the controller would load (active label, plus the legacy one named `prefix`)."""
    items, _ = await kube.list(kinds.SECRET, namespace, {LABEL_SEALING_KEY: "active"})
    with contextlib.suppress(NotFound):
        items.append(await kube.get(kinds.SECRET, prefix, namespace))
    return [_clean(s) for s in items]


def _identity(secret: Obj) -> SealingKey | KeyRecord:
    """A plain key Secret is fully validated; a transit-wrapped one (keywrap.py) can only be identified by its
    certificate here: its private key is checked when a controller with the transit key loads it."""
    if not is_wrapped_secret(secret):
        return key_from_secret(secret)
    name = secret.get("metadata", {}).get("name", "?")
    try:
        cert = base64.b64decode((secret.get("data") or {})["tls.crt"], validate=True)
        not_before = certificate_not_before(cert)
        public = load_recipient(cert, now=not_before)
    except (KeyError, binascii.Error, ValueError, SealingError) as exc:
        raise SealingError(f"key Secret {name!r} has no usable certificate ({type(exc).__name__})") from None
    return KeyRecord(name, key_fingerprint(public), not_before.isoformat())


def _record(secret: Obj) -> KeyRecord:
    key = _identity(secret)
    if isinstance(key, KeyRecord):
        return key
    return KeyRecord(key.secret_name, key.fingerprint, key.not_before.isoformat())


def describe(secrets: list[Obj]) -> list[KeyRecord]:
    out = []
    for s in secrets:
        key = _record(s)
        out.append(key)
    return sorted(out, key=lambda r: r.not_before, reverse=True)


def render_backup(secrets: list[Obj]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": secrets}, sort_keys=False)


def parse_backup(text: bytes) -> list[Obj]:
    """Secrets from a backup file; raises SealingError naming what is wrong (never the key material)."""
    objects = load_manifests(text, expand_lists=True)
    if not objects:
        raise SealingError("the backup holds no key Secrets")
    for obj in objects:
        if obj.get("kind") != "Secret":
            raise SealingError(f"the backup holds a {obj.get('kind')!r}, expected only Secrets")
        _identity(obj)  # validates
    return objects


async def restore(kube: Kube, namespace: str, secrets: list[Obj], *, dry_run: bool = False) -> list[KeyRecord]:
    """Create the key Secrets in `namespace` (label forced to active). Existing identical keys are left alone;
    a different key under the same name is an error and nothing after it is written."""
    records: list[KeyRecord] = []
    for secret in secrets:
        key = _record(secret)
        body = _clean(secret)
        meta = body.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta.pop("creationTimestamp", None)
        meta.setdefault("labels", {})[LABEL_SEALING_KEY] = "active"
        if not meta.get("name"):
            raise SealingError("a key Secret in the backup has no name")
        record = KeyRecord(meta["name"], key.fingerprint, key.not_before)
        try:
            existing = await kube.get(kinds.SECRET, meta["name"], namespace)
        except NotFound:
            existing = None
        if existing is not None:
            if _record(existing).fingerprint != key.fingerprint:
                raise SealingError(f"Secret {meta['name']!r} already exists in {namespace} with a different key")
            records.append(_with(record, "exists"))
            continue
        if dry_run:
            records.append(_with(record, "would-create"))
            continue
        try:
            await kube.create(kinds.SECRET, body)
        except AlreadyExists:
            records.append(_with(record, "exists"))
            continue
        records.append(_with(record, "created"))
    return records


def _with(record: KeyRecord, action: str) -> KeyRecord:
    return KeyRecord(record.name, record.fingerprint, record.not_before, action)


def summary(records: list[KeyRecord]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in records]
