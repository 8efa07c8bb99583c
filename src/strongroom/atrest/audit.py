"""Classify etcd values: plaintext, encrypted with the current write key, stale, or under a key no longer in
the EncryptionConfiguration (unreadable after the next API server restart); and recover values for DR."""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import grpc
import orjson

from strongroom.atrest import formats, k8sproto
from strongroom.atrest.config import EncryptionConfig, Provider
from strongroom.atrest.etcd import KV
from strongroom.crypto import CryptoError

CURRENT, STALE, PLAINTEXT, UNKNOWN_KEY, ENCRYPTED, UNPARSEABLE = (
    "current",
    "stale",
    "plaintext",
    "unknown-key",
    "encrypted",
    "unparseable",
)


@dataclass(frozen=True)
class Finding:
    key: str
    group: str
    resource: str
    namespace: str
    name: str
    provider: str
    key_name: str
    status: str
    key_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# built-in resources whose etcd key differs from "<group>/<plural>" (the API server's storage prefixes)
_KEY_ALIASES: dict[str, tuple[str, str]] = {
    "services/specs": ("", "services"),
    "services/endpoints": ("", "endpoints"),
    "minions": ("", "nodes"),
    "controllers": ("", "replicationcontrollers"),
    "deployments": ("apps", "deployments"),
    "replicasets": ("apps", "replicasets"),
    "statefulsets": ("apps", "statefulsets"),
    "daemonsets": ("apps", "daemonsets"),
    "controllerrevisions": ("apps", "controllerrevisions"),
    "jobs": ("batch", "jobs"),
    "cronjobs": ("batch", "cronjobs"),
    "ingress": ("networking.k8s.io", "ingresses"),
    "networkpolicies": ("networking.k8s.io", "networkpolicies"),
    "horizontalpodautoscalers": ("autoscaling", "horizontalpodautoscalers"),
    "poddisruptionbudgets": ("policy", "poddisruptionbudgets"),
    "roles": ("rbac.authorization.k8s.io", "roles"),
    "rolebindings": ("rbac.authorization.k8s.io", "rolebindings"),
    "clusterroles": ("rbac.authorization.k8s.io", "clusterroles"),
    "clusterrolebindings": ("rbac.authorization.k8s.io", "clusterrolebindings"),
    "leases": ("coordination.k8s.io", "leases"),
}


def parse_key(key: bytes) -> tuple[str, str, str, str]:
    """/registry/[<group>/]<resource>/[<namespace>/]<name> -> (group, resource, namespace, name).

    Namespaced vs cluster-scoped is read from the number of segments; a few built-ins use other storage
    prefixes (services/specs, minions, deployments without their group, ...), mapped by `_KEY_ALIASES`.
    """
    parts = key.decode(errors="replace").split("/")
    parts = parts[parts.index("registry") + 1 :] if "registry" in parts else parts[2:]
    group = ""
    if len(parts) >= 2 and f"{parts[0]}/{parts[1]}" in _KEY_ALIASES:
        group, resource = _KEY_ALIASES[f"{parts[0]}/{parts[1]}"]
        parts = [resource, *parts[2:]]
    elif parts and parts[0] in _KEY_ALIASES:
        group, resource = _KEY_ALIASES[parts[0]]
        parts = [resource, *parts[1:]]
    elif parts and "." in parts[0] and len(parts) >= 3:
        group, parts = parts[0], parts[1:]
    resource = parts[0] if parts else ""
    if len(parts) >= 3:
        return group, resource, parts[1], "/".join(parts[2:])
    return group, resource, "", parts[1] if len(parts) == 2 else ""


def _is_current(provider: Provider, stored: formats.Stored, kms_key_ids: dict[str, str]) -> bool:
    if provider.kind != stored.provider or provider.name != stored.name:
        return False
    if provider.kind == "kms":
        current = kms_key_ids.get(provider.name)
        return stored.version == "v2" and (current is None or current == stored.key_id)
    return True


def classify(kv: KV, config: EncryptionConfig | None, kms_key_ids: dict[str, str] | None = None) -> Finding:
    group, resource, namespace, name = parse_key(kv.key)
    base = {
        "key": kv.key.decode(errors="replace"),
        "group": group,
        "resource": resource,
        "namespace": namespace,
        "name": name,
    }
    try:
        stored = formats.parse(kv.value)
    except CryptoError:
        return Finding(**base, provider="?", key_name="", status=UNPARSEABLE)
    info = {"provider": stored.provider, "key_name": stored.name, "key_id": stored.key_id}
    if stored.provider == "identity":
        return Finding(**base, **info, status=PLAINTEXT)
    if config is None:
        return Finding(**base, **info, status=ENCRYPTED)
    providers = config.providers_for(resource, group)
    if _is_current(providers[0], stored, kms_key_ids or {}):
        return Finding(**base, **info, status=CURRENT)
    readable = any(
        p.kind == stored.provider and (p.name == stored.name if p.kind == "kms" else p.key(stored.name))
        for p in providers
    )
    return Finding(**base, **info, status=STALE if readable else UNKNOWN_KEY)


def summarize(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Counts per (resource, namespace, provider, key name, status), sorted worst first."""
    order = {UNKNOWN_KEY: 0, UNPARSEABLE: 1, PLAINTEXT: 2, STALE: 3, ENCRYPTED: 4, CURRENT: 5}
    counts = Counter(
        (f"{f.resource}.{f.group}" if f.group else f.resource, f.namespace, f.provider, f.key_name, f.status)
        for f in findings
    )
    rows = [
        {"resource": r, "namespace": ns, "provider": p, "key": k, "status": s, "count": n}
        for (r, ns, p, k, s), n in counts.items()
    ]
    return sorted(rows, key=lambda x: (order.get(x["status"], 9), x["resource"], x["namespace"]))


def not_current(kvs: Iterable[KV], config: EncryptionConfig, rule: int) -> int:
    """How many values governed by `config.rules[rule]` are not under its current write key (rotation check)."""
    providers = config.rules[rule].providers
    n = 0
    for kv in kvs:
        f = classify(kv, config)
        if config.providers_for(f.resource, f.group) is providers and f.status != CURRENT:
            n += 1
    return n


def current_kms_key_ids(config: EncryptionConfig, sockets: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """kms provider name -> current key_id from its plugin's Status, to spot values under an old KEK.

    `sockets` (name -> endpoint) overrides the config's endpoints; when given, only those providers are asked.
    Returns (found, unreachable names).
    """
    from strongroom.kms.client import KMSClient

    found: dict[str, str] = {}
    unreachable: list[str] = []
    for rule in config.rules:
        for p in rule.providers:
            if p.kind != "kms" or p.name in found or p.name in unreachable or (sockets and p.name not in sockets):
                continue
            try:
                with KMSClient(sockets.get(p.name) or str(p.raw.get("endpoint", "")), timeout=2) as c:
                    found[p.name] = c.status().key_id
            except (grpc.RpcError, ValueError, OSError):
                unreachable.append(p.name)
    return found, unreachable


@dataclass
class Recovered:
    key: str
    provider: str
    key_name: str
    object: dict[str, Any] | None
    raw: bytes
    error: str = ""

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"key": self.key, "provider": self.provider, "keyName": self.key_name}
        if self.error:
            doc["error"] = self.error
        elif self.object is not None:
            doc["object"] = self.object
        else:
            doc["raw"] = base64.b64encode(self.raw).decode()
        return orjson.dumps(doc)

    def write_to(self, out_dir: str) -> None:
        """One JSON file per object, mode 0600, in a directory created 0700 (the content is secret)."""
        os.makedirs(out_dir, mode=0o700, exist_ok=True)
        name = self.key.strip("/").replace("/", "__") + ".json"
        fd = os.open(os.path.join(out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.to_json() + b"\n")


def recover(
    kvs: Iterable[KV], config: EncryptionConfig, kms_decrypt: Callable[[Provider], formats.KmsDecrypt] | None
) -> Iterator[Recovered]:
    """Decrypt each value with the providers the config lists for its resource; errors per object, not fatal."""
    for kv in kvs:
        group, resource, _, _ = parse_key(kv.key)
        key = kv.key.decode(errors="replace")
        providers = config.providers_for(resource, group)
        all_providers = providers + [p for rule in config.rules for p in rule.providers if p not in providers]
        try:
            plain, stored = formats.open_value(all_providers, kv.value, kv.key, kms_decrypt)
        except (CryptoError, OSError) as exc:
            yield Recovered(key, "?", "", None, b"", f"{exc.__class__.__name__}: {exc}")
            continue
        except grpc.RpcError as exc:  # the KMS plugin refused or is down: report per object, keep going
            code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
            yield Recovered(key, "kms", "", None, b"", f"KMS plugin Decrypt failed: {code}")
            continue
        try:
            obj: dict[str, Any] | None = k8sproto.decode_object(plain)
        except k8sproto.ProtoError:
            obj = None
        yield Recovered(key, stored.provider, stored.name, obj, plain)
