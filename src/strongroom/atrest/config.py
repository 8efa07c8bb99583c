"""Kubernetes EncryptionConfiguration (apiserver.config.k8s.io/v1): load, validate, generate, write back.

The file is the operator's: we keep unknown fields and key order where we can, and write atomically (tmp +
rename, mode 0600) so a crash never leaves a half-written file that would stop every API server.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from strongroom.crypto import random_bytes

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
LOCAL_KINDS = ("aescbc", "aesgcm", "secretbox")
PROVIDER_KINDS = (*LOCAL_KINDS, "kms", "identity")


class ConfigError(ValueError):
    """The EncryptionConfiguration is unreadable or invalid. Messages never contain key material."""


@dataclass(frozen=True)
class Key:
    name: str
    secret: bytes = field(repr=False)


@dataclass
class Provider:
    kind: str
    keys: list[Key] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """Provider name for kms; the primary key's name for local providers; '' for identity."""
        if self.kind == "kms":
            return str(self.raw.get("name", ""))
        return self.keys[0].name if self.keys else ""

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


@dataclass
class Rule:
    resources: list[str]
    providers: list[Provider]


@dataclass
class EncryptionConfig:
    rules: list[Rule]
    doc: dict[str, Any] = field(repr=False)
    _memo: dict[tuple[str, str], list[Provider]] = field(default_factory=dict, repr=False, compare=False)

    def providers_for(self, resource: str, group: str = "") -> list[Provider]:
        """Providers that apply to `resource` in API `group` (first rule that matches wins, as upstream)."""
        cached = self._memo.get((resource, group))
        if cached is not None:
            return cached
        found = next(
            (
                rule.providers
                for rule in self.rules
                if any(_matches(pattern, resource, group) for pattern in rule.resources)
            ),
            None,
        )
        if found is None:
            found = [Provider("identity")]
        self._memo[(resource, group)] = found
        return found

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.doc, sort_keys=False)


def _matches(pattern: str, resource: str, group: str) -> bool:
    full = f"{resource}.{group}" if group else resource
    if pattern == "*.*":
        return True
    if pattern == "*.":
        return group == ""
    if pattern.startswith("*."):
        return group == pattern[2:]
    return pattern == full


def _decode_secret(provider: str, name: str, secret: object) -> bytes:
    if not isinstance(secret, str):
        raise ConfigError(f"{provider} key {name!r}: secret must be a base64 string")
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{provider} key {name!r}: secret is not valid base64") from None
    sizes = (32,) if provider == "secretbox" else (16, 24, 32)
    if len(raw) not in sizes:
        raise ConfigError(f"{provider} key {name!r}: secret is {len(raw)} bytes; {provider} needs {sizes}")
    return raw


def _parse_provider(item: object, where: str) -> Provider:
    if not isinstance(item, dict) or len(item) != 1:
        raise ConfigError(f"{where}: each provider item must have exactly one provider type")
    kind, body = next(iter(item.items()))
    if kind not in PROVIDER_KINDS:
        raise ConfigError(f"{where}: unknown provider type {kind!r}")
    body = body or {}
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: {kind} must be a mapping")
    keys: list[Key] = []
    if kind in LOCAL_KINDS:
        entries = body.get("keys")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{where}: {kind} needs a non-empty keys list")
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("name"):
                raise ConfigError(f"{where}: every {kind} key needs a name")
            keys.append(Key(str(entry["name"]), _decode_secret(kind, str(entry["name"]), entry.get("secret"))))
        if len({k.name for k in keys}) != len(keys):
            raise ConfigError(f"{where}: duplicate key names in {kind}")
    if kind == "kms" and (not body.get("name") or not body.get("endpoint")):
        raise ConfigError(f"{where}: kms needs name and endpoint")
    return Provider(kind, keys, body)


def parse(doc: object) -> EncryptionConfig:
    if not isinstance(doc, dict):
        raise ConfigError("not a YAML mapping")
    if doc.get("kind") != KIND:
        raise ConfigError(f"kind is {doc.get('kind')!r}, expected {KIND}")
    items = doc.get("resources")
    if not isinstance(items, list) or not items:
        raise ConfigError("resources must be a non-empty list")
    rules: list[Rule] = []
    for i, item in enumerate(items):
        where = f"resources[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping")
        res, provs = item.get("resources"), item.get("providers")
        if not isinstance(res, list) or not res or not isinstance(provs, list) or not provs:
            raise ConfigError(f"{where}: needs non-empty resources and providers lists")
        providers = [_parse_provider(p, f"{where}.providers[{j}]") for j, p in enumerate(provs)]
        rules.append(Rule([str(r) for r in res], providers))
    return EncryptionConfig(rules, doc)


def load(path: str | Path) -> EncryptionConfig:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    return parse(doc)


def write_atomic(path: str | Path, text: str) -> None:
    """Replace `path` atomically with mode 0600 (the file holds keys)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_secret(kind: str) -> str:
    return base64.b64encode(random_bytes(32)).decode()


def generate(
    *,
    provider: str,
    resources: Iterable[str] = ("secrets",),
    key_name: str = "key1",
    kms_name: str = "strongroom",
    endpoint: str = "unix:///var/run/kmsplugin/socket.sock",
    timeout: str = "3s",
) -> dict[str, Any]:
    """A fresh EncryptionConfiguration document: `provider` first, identity last (reads old plaintext)."""
    if provider not in (*LOCAL_KINDS, "kms"):
        raise ConfigError(f"cannot generate a config for provider {provider!r}")
    first: dict[str, Any]
    if provider == "kms":
        first = {"kms": {"apiVersion": "v2", "name": kms_name, "endpoint": endpoint, "timeout": timeout}}
    else:
        first = {provider: {"keys": [{"name": key_name, "secret": new_secret(provider)}]}}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "resources": [{"resources": list(resources), "providers": [first, {"identity": {}}]}],
    }
