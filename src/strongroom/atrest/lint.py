"""Lint an EncryptionConfiguration: rules as data (id, severity, text, fix), findings never quote a key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from strongroom.atrest.config import ConfigError, EncryptionConfig, Provider, load

RULES: dict[str, tuple[str, str, str]] = {
    # id: (severity, short description, remediation)
    "SRAR000": ("error", "configuration cannot be parsed", "fix the file; the API server will not start"),
    "SRAR001": (
        "error",
        "identity is the first provider: new writes are stored in plain text",
        "put aesgcm/secretbox/kms first and keep identity last only while migrating",
    ),
    "SRAR002": (
        "error",
        "secrets are not covered by any encrypting rule",
        "add a rule with resources: [secrets] and an encrypting provider first",
    ),
    "SRAR003": (
        "warning",
        "aescbc is weak (padding oracle) and not recommended",
        "migrate to kms v2, secretbox or aesgcm with `strongroom atrest rotate`",
    ),
    "SRAR004": (
        "error",
        "kms v1 is deprecated and disabled by default since Kubernetes 1.29",
        "use kms with apiVersion: v2 (strongroom kms-plugin)",
    ),
    "SRAR005": ("warning", "key shorter than 32 bytes", "generate a 32-byte key (`strongroom atrest gen-config`)"),
    "SRAR006": (
        "error",
        "weak or sample key (low entropy, repeated, sequential or typed text)",
        "replace it with 32 random bytes and re-encrypt",
    ),
    "SRAR007": ("warning", "the same key material is used twice", "every key must be unique"),
    "SRAR008": (
        "error",
        "resource listed in more than one rule (masked by earlier rule)",
        "list each resource once; the API server rejects overlaps",
    ),
    "SRAR009": ("error", "kms endpoint is not a unix socket", "use endpoint: unix:///path/to.sock"),
    "SRAR010": (
        "info",
        "aesgcm keys must be rotated before 200,000 writes (random 96-bit nonces)",
        "rotate regularly, or prefer kms v2 / secretbox",
    ),
    "SRAR011": ("info", "cachesize is ignored by kms v2", "remove it"),
    "SRAR012": ("warning", "configuration file is readable by group or others", "chmod 600: it holds encryption keys"),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    location: str
    remediation: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _f(rule: str, location: str, detail: str = "") -> Finding:
    sev, msg, fix = RULES[rule]
    return Finding(rule, sev, f"{msg}{': ' + detail if detail else ''}", location, fix)


def weak_key(secret: bytes) -> str | None:
    """Why `secret` looks chosen by a person or copied from docs, or None."""
    if len(set(secret)) <= len(secret) // 4:
        return "few distinct bytes"
    steps = {(secret[i + 1] - secret[i]) % 256 for i in range(len(secret) - 1)}
    if len(steps) == 1:
        return "sequential bytes"
    if all(32 <= b < 127 for b in secret):
        return "printable text, not random bytes"
    half = len(secret) // 2
    if secret[:half] == secret[half:]:
        return "repeated halves"
    return None


def _provider_findings(p: Provider, where: str, seen: dict[bytes, str]) -> Iterator[Finding]:
    if p.kind == "aescbc":
        yield _f("SRAR003", where)
    if p.kind == "aesgcm":
        yield _f("SRAR010", where)
    if p.kind == "kms":
        if str(p.raw.get("apiVersion", "v1")) != "v2":
            yield _f("SRAR004", where, f"provider {p.name!r}")
        elif "cachesize" in p.raw:
            yield _f("SRAR011", where)
        if not str(p.raw.get("endpoint", "")).startswith("unix://"):
            yield _f("SRAR009", where)
    for k in p.keys:
        loc = f"{where}.keys[{k.name}]"
        if len(k.secret) < 32:
            yield _f("SRAR005", loc, f"{len(k.secret)} bytes")
        why = weak_key(k.secret)
        if why:
            yield _f("SRAR006", loc, why)
        if k.secret in seen:
            yield _f("SRAR007", loc, f"also {seen[k.secret]}")
        seen.setdefault(k.secret, loc)


def lint_config(cfg: EncryptionConfig) -> list[Finding]:
    out: list[Finding] = []
    seen_keys: dict[bytes, str] = {}
    seen_res: dict[str, int] = {}
    for i, rule in enumerate(cfg.rules):
        where = f"resources[{i}]"
        for r in rule.resources:
            if r in seen_res:
                out.append(_f("SRAR008", where, f"{r!r} already in resources[{seen_res[r]}]"))
            seen_res.setdefault(r, i)
        if rule.providers[0].kind == "identity":
            out.append(_f("SRAR001", f"{where}.providers[0]", ", ".join(rule.resources)))
        for j, p in enumerate(rule.providers):
            out.extend(_provider_findings(p, f"{where}.providers[{j}].{p.kind}", seen_keys))
    if cfg.providers_for("secrets")[0].kind == "identity" and not any(f.rule == "SRAR001" for f in out):
        out.append(_f("SRAR002", "resources"))
    return out


def lint_file(path: str | Path) -> list[Finding]:
    try:
        cfg = load(path)
    except ConfigError as exc:
        return [_f("SRAR000", str(path), str(exc))]
    out = lint_config(cfg)
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        out.append(_f("SRAR012", str(path), oct(mode & 0o777)))
    return out


def to_sarif(findings: list[Finding], path: str) -> dict[str, Any]:
    level = {"error": "error", "warning": "warning", "info": "note"}
    rules = [
        {
            "id": rid,
            "shortDescription": {"text": d},
            "help": {"text": fix},
            "defaultConfiguration": {"level": level[sev]},
        }
        for rid, (sev, d, fix) in RULES.items()
    ]
    results = [
        {
            "ruleId": f.rule,
            "level": level[f.severity],
            "message": {"text": f"{f.message} ({f.location})"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": path}},
                    "logicalLocations": [{"fullyQualifiedName": f.location}],
                }
            ],
        }
        for f in findings
    ]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "strongroom-atrest-lint", "rules": rules}}, "results": results}],
    }
