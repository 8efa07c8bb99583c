"""The provider protocol: a provider is one module that registers a factory under its `spec.provider` key.

A factory gets the store (a parsed `StoreContext`) and returns a `ProviderClient`. Clients are cached per store
generation by `stores.StoreManager`, so logins happen once per store, not once per reconcile (ESO#376).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from strongroom.operator.kube import Kube


class ProviderError(Exception):
    """The provider could not be reached or answered an error: temporary, the last good Secret is kept."""


class NoSecretError(ProviderError):
    """The referenced secret (or property) does not exist at the provider (deletionPolicy decides)."""


class StoreConfigError(Exception):
    """The store's spec is wrong (InvalidProviderConfig): not retried until the store changes."""


@dataclass
class StoreContext:
    kind: str  # SecretStore | ClusterSecretStore
    name: str
    namespace: str  # the store's namespace ("" for ClusterSecretStore)
    spec: dict[str, Any]
    kube: Kube
    # where secret references without a namespace are resolved: the ExternalSecret's namespace for
    # SecretStores; ClusterSecretStore refs must name their namespace
    on_change: Callable[[str], None] | None = None  # provider push: called with a changed remote key
    extra: dict[str, Any] = field(default_factory=dict)

    def provider_spec(self, name: str) -> dict[str, Any]:
        return dict((self.spec.get("provider") or {}).get(name) or {})

    def ref_namespace(self, ref: dict[str, Any]) -> str:
        if self.kind == "ClusterSecretStore":
            ns = ref.get("namespace")
            if not ns:
                raise StoreConfigError("secret references of a ClusterSecretStore must set namespace")
            return str(ns)
        return self.namespace


@dataclass(frozen=True)
class Ref:
    """One read: ESO's remoteRef / dataFrom.extract (the fields a provider needs)."""

    key: str
    property: str = ""
    version: str = ""
    metadata_policy: str = "None"

    @staticmethod
    def of(spec: dict[str, Any]) -> Ref:
        return Ref(str(spec.get("key") or ""), str(spec.get("property") or ""), str(spec.get("version") or ""),
                   str(spec.get("metadataPolicy") or "None"))


class ProviderClient(Protocol):
    name: str

    async def validate(self) -> None:
        """Check the store works (login, reachability). Raises ProviderError or StoreConfigError."""

    async def get_secret(self, ref: Ref) -> bytes:
        """One value (the property, or the whole secret JSON-encoded). Raises NoSecretError when absent."""

    async def get_secret_map(self, ref: Ref) -> dict[str, bytes]:
        """All key/values of one secret (dataFrom.extract)."""

    async def find(self, path: str, name_regexp: str, tags: dict[str, str]) -> dict[str, bytes]:
        """dataFrom.find: secrets under `path` whose name matches; keys are names with '/' replaced by '_'."""

    async def close(self) -> None:
        """Release sessions (revoke tokens we created)."""


Factory = Callable[[StoreContext], Awaitable[ProviderClient]]
REGISTRY: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    REGISTRY[name] = factory


def encode_value(value: Any) -> bytes:
    """ESO's typed-value rule: strings as their bytes, everything else JSON-encoded."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":"), sort_keys=False).encode()


def gjson_get(doc: Any, path: str) -> Any:
    """The gjson subset ESO users write in `property`: dot-separated keys, `\\.` for a literal dot, numeric
    indexes into arrays, `#` for an array's length. Returns None when the path does not exist."""
    parts, cur = [], ""
    i = 0
    while i < len(path):
        if path[i] == "\\" and i + 1 < len(path):
            cur += path[i + 1]
            i += 2
            continue
        if path[i] == ".":
            parts.append(cur)
            cur = ""
        else:
            cur += path[i]
        i += 1
    parts.append(cur)
    node = doc
    for part in parts:
        if isinstance(node, dict):
            if part not in node:
                return None
            node = node[part]
        elif isinstance(node, list):
            if part == "#":
                node = len(node)
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        else:
            return None
    return node


def select_property(secret: dict[str, Any], prop: str, what: str) -> bytes:
    """The value of `prop` in a secret's map (a gjson path when it is not a top-level key)."""
    if not prop:
        return encode_value(secret)
    if prop in secret:
        return encode_value(secret[prop])
    value = gjson_get(secret, prop)
    if value is None:
        raise NoSecretError(f"property {prop!r} not found in {what}")
    return encode_value(value)
