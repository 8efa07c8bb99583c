"""API server configuration: EncryptionConfiguration (Secrets at rest) and audit Policy (Secrets in logs).

Key material found in an EncryptionConfiguration is only measured (length, randomness); it never appears in a
finding.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.loader import K8sObject

_AES_PROVIDERS = ("aescbc", "aesgcm", "secretbox")
_BODY_LEVELS = ("Request", "RequestResponse")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _encryption_configs(ctx: Context) -> Iterator[K8sObject]:
    for obj in ctx.kind("EncryptionConfiguration"):
        if obj.api_version.startswith("apiserver.config.k8s.io"):
            yield obj


def _secrets_entry(obj: K8sObject) -> dict[str, Any] | None:
    """The first `resources` entry that covers secrets: the API server uses the first match."""
    for entry in _list(obj.raw.get("resources")):
        names = {str(r) for r in _list(_dict(entry).get("resources"))}
        if names & {"secrets", "*.*", "*."}:
            return _dict(entry)
    return None


def _provider_name(provider: Any) -> str:
    keys = list(_dict(provider))
    return keys[0] if keys else "?"


def _not_covered(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _encryption_configs(ctx):
        if _secrets_entry(obj) is None:
            yield check.finding(obj, f"{obj.ref} has no resources entry for secrets: they are stored in plaintext")


def _identity_first(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _encryption_configs(ctx):
        entry = _secrets_entry(obj)
        providers = _list(entry.get("providers")) if entry else []
        if providers and _provider_name(providers[0]) == "identity":
            yield check.finding(obj, f"{obj.ref} lists identity first for secrets: new writes are not encrypted")


def _aescbc(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _encryption_configs(ctx):
        entry = _secrets_entry(obj)
        providers = _list(entry.get("providers")) if entry else []
        if providers and _provider_name(providers[0]) == "aescbc":
            yield check.finding(
                obj,
                f"{obj.ref} encrypts secrets with aescbc (padding-oracle prone, not recommended by Kubernetes)",
            )


def _key_problem(provider: str, secret: Any) -> str | None:
    if not isinstance(secret, str) or not secret.strip():
        return "is empty"
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64 (a placeholder?)"
    if (len(raw) < 32 and provider != "aesgcm") or len(raw) < 16:
        return f"is {len(raw)} bytes (want 32 random bytes)"
    if len(set(raw)) < len(raw) // 4:
        return "has too few distinct bytes to be random"
    if all(32 <= b < 127 for b in raw):
        return "decodes to printable text (a passphrase or sample, not random bytes)"
    return None


def _weak_keys(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _encryption_configs(ctx):
        for entry in _list(obj.raw.get("resources")):
            for provider in _list(_dict(entry).get("providers")):
                name = _provider_name(provider)
                if name not in _AES_PROVIDERS:
                    continue
                for key in _list(_dict(_dict(provider)[name]).get("keys")):
                    problem = _key_problem(name, _dict(key).get("secret"))
                    if problem:
                        yield check.finding(obj, f"{obj.ref}: {name} key {_dict(key).get('name')!r} {problem}")


def _kms_v1(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _encryption_configs(ctx):
        for entry in _list(obj.raw.get("resources")):
            for provider in _list(_dict(entry).get("providers")):
                kms = _dict(_dict(provider).get("kms"))
                if kms and kms.get("apiVersion") != "v2":
                    yield check.finding(
                        obj,
                        f"{obj.ref}: kms provider {kms.get('name')!r} uses KMS v1 "
                        "(deprecated, one remote call per write)",
                    )


def _audit_policies(ctx: Context) -> Iterator[K8sObject]:
    for obj in ctx.kind("Policy"):
        if obj.api_version.startswith("audit.k8s.io"):
            yield obj


def _matches_secrets(rule: dict[str, Any]) -> tuple[bool, bool]:
    """(matches some secret requests, matches all of them)."""
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False, False
    narrowed = any(rule.get(k) for k in ("users", "userGroups", "verbs", "namespaces"))
    resources = _list(rule.get("resources"))
    if not resources:
        return True, not narrowed
    for gr in resources:
        gr = _dict(gr)
        if gr.get("group", "") not in ("", "*"):
            continue
        names = {str(n) for n in _list(gr.get("resources"))}
        if not names or names & {"secrets", "*"}:
            return True, not narrowed and not gr.get("resourceNames")
    return False, False


def _audit_walk(obj: K8sObject) -> tuple[list[str], str | None]:
    """Levels of partial matches before the first full match, and that full match's level (None: none)."""
    body: list[str] = []
    for index, rule in enumerate(_list(obj.raw.get("rules"))):
        some, every = _matches_secrets(_dict(rule))
        if not some:
            continue
        level = str(_dict(rule).get("level", "None"))
        if level in _BODY_LEVELS:
            body.append(f"rule #{index + 1} logs secrets at {level}")
        if every:
            return body, level
    return body, None


def _audit_body(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _audit_policies(ctx):
        body, _ = _audit_walk(obj)
        if body:
            yield check.finding(obj, f"{obj.ref}: {'; '.join(body)}, writing Secret values into the audit log")


def _audit_missing(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj in _audit_policies(ctx):
        _, level = _audit_walk(obj)
        if level in (None, "None"):
            yield check.finding(obj, f"{obj.ref} does not log every access to secrets (add a Metadata rule)")


_ENC = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
_SAMPLE_KEY = "dGhpcy1pcy1hLXNhbXBsZS1rZXktMzItYnl0ZXMtb2s="  # 32 printable bytes: the positive example
_RANDOM_KEY = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs="  # 32 bytes, not printable


def _enc(resources: str, provider: str) -> str:
    return _ENC + f"- resources: [{resources}]\n  providers:\n{provider}"


_SECRETBOX = f"  - secretbox:\n      keys:\n      - name: key1\n        secret: {_RANDOM_KEY}\n"
_KMS2 = "  - kms:\n      apiVersion: v2\n      name: strongroom\n      endpoint: unix:///var/run/kms.sock\n"
_AUDIT = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
_META_SECRETS = "- level: Metadata\n  resources:\n  - group: ''\n    resources: [secrets, configmaps]\n"

CHECKS = [
    Check(
        "encryption-secrets-not-covered",
        "EncryptionConfiguration does not cover secrets",
        Severity.CRITICAL,
        "Add `secrets` to a resources entry with a kms v2 (or secretbox/aesgcm) provider first.",
        _not_covered,
        _enc("configmaps", _SECRETBOX),
        _enc("secrets", _SECRETBOX),
        category="encryption",
    ),
    Check(
        "encryption-identity-first",
        "identity provider first: Secrets written in plaintext",
        Severity.CRITICAL,
        "Put the encrypting provider first; keep identity last only while migrating existing data.",
        _identity_first,
        _enc("secrets", "  - identity: {}\n" + _SECRETBOX),
        _enc("secrets", _SECRETBOX + "  - identity: {}\n"),
        category="encryption",
    ),
    Check(
        "encryption-aescbc",
        "aescbc provider in use",
        Severity.MEDIUM,
        "Move to kms v2 (`strongroom kms-plugin`) or secretbox, then rewrite all Secrets.",
        _aescbc,
        _enc("secrets", f"  - aescbc:\n      keys:\n      - name: k1\n        secret: {_RANDOM_KEY}\n"),
        _enc("secrets", _SECRETBOX),
        category="encryption",
    ),
    Check(
        "encryption-weak-key",
        "Encryption key short, sample or not random",
        Severity.CRITICAL,
        "Generate keys with `head -c 32 /dev/urandom | base64` (or `strongroom atrest`) and rotate.",
        _weak_keys,
        _enc("secrets", f"  - aesgcm:\n      keys:\n      - name: k1\n        secret: {_SAMPLE_KEY}\n"),
        _enc("secrets", _SECRETBOX),
        category="encryption",
    ),
    Check(
        "encryption-kms-v1",
        "KMS v1 provider",
        Severity.HIGH,
        "Set `apiVersion: v2` on the kms provider and run a KMS v2 plugin.",
        _kms_v1,
        _enc("secrets", "  - kms:\n      name: legacy\n      endpoint: unix:///var/run/kms.sock\n"),
        _enc("secrets", _KMS2),
        category="encryption",
    ),
    Check(
        "audit-secrets-request-body",
        "Audit policy logs Secret bodies",
        Severity.HIGH,
        "Add a `level: Metadata` rule for secrets (and tokenreviews) before any Request-level rule.",
        _audit_body,
        _AUDIT + "- level: RequestResponse\n",
        _AUDIT + _META_SECRETS + "- level: RequestResponse\n",
        category="audit",
    ),
    Check(
        "audit-secrets-not-logged",
        "Audit policy does not record Secret access",
        Severity.MEDIUM,
        "Add `- level: Metadata` with `resources: [{group: '', resources: [secrets]}]`.",
        _audit_missing,
        _AUDIT + "- level: None\n  resources:\n  - group: ''\n    resources: [secrets]\n",
        _AUDIT + _META_SECRETS,
        category="audit",
    ),
]
