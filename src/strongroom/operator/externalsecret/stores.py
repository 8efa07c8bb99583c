"""Resolve an ExternalSecret's store and hand out provider clients, cached per store generation.

A client (and its login) lives as long as the store's spec is unchanged; a changed or deleted store closes
the old client (revoking the token it created). ClusterSecretStore `conditions` decide which namespaces may use it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from strongroom.operator.externalsecret.providers import REGISTRY, ProviderClient, StoreConfigError, StoreContext
from strongroom.operator.kube import Kube, KubeError, Obj, kinds
from strongroom.operator.runtime import Informer

log = logging.getLogger(__name__)


def store_ref(es_spec: dict[str, Any], entry: dict[str, Any] | None = None) -> tuple[str, str]:
    """(kind, name) of the store an ExternalSecret (or one data entry's sourceRef) uses."""
    ref = ((entry or {}).get("sourceRef") or {}).get("storeRef") or es_spec.get("secretStoreRef") or {}
    kind = str(ref.get("kind") or "SecretStore")
    if kind not in ("SecretStore", "ClusterSecretStore"):
        raise StoreConfigError(f"secretStoreRef.kind must be SecretStore or ClusterSecretStore, not {kind!r}")
    if not ref.get("name"):
        raise StoreConfigError("secretStoreRef.name is required")
    return kind, str(ref["name"])


def _label_selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def namespace_allowed(conditions: list[dict[str, Any]], namespace: str, ns_labels: dict[str, str]) -> bool:
    """ESO: with conditions, the namespace must match at least one condition (namespaces, namespaceRegexes or
    namespaceSelector); no conditions = every namespace."""
    if not conditions:
        return True
    for cond in conditions:
        if namespace in (cond.get("namespaces") or []):
            return True
        if any(re.search(rx, namespace) for rx in cond.get("namespaceRegexes") or []):
            return True
        sel = cond.get("namespaceSelector")
        if sel is not None and _label_selector_matches(sel, ns_labels):
            return True
    return False


class StoreManager:
    def __init__(self, kube: Kube, stores: Informer, cluster_stores: Informer, *,
                 on_change: Callable[[tuple[str, str, str], str], None] | None = None,
                 read_cache_seconds: float = 10.0) -> None:
        self.kube, self.stores, self.cluster_stores = kube, stores, cluster_stores
        self.on_change = on_change
        self.read_cache_seconds = read_cache_seconds
        self._clients: dict[tuple[str, str, str], tuple[str, ProviderClient]] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    def store_object(self, kind: str, name: str, namespace: str) -> Obj | None:
        if kind == "ClusterSecretStore":
            return self.cluster_stores.get(name)
        return self.stores.get(f"{namespace}/{name}")

    @staticmethod
    def store_id(kind: str, name: str, namespace: str) -> tuple[str, str, str]:
        return (kind, "" if kind == "ClusterSecretStore" else namespace, name)

    async def check_namespace(self, store: Obj, namespace: str) -> None:
        conditions = (store.get("spec") or {}).get("conditions") or []
        if not conditions:
            return
        labels: dict[str, str] = {}
        if any(c.get("namespaceSelector") is not None for c in conditions):
            try:
                ns = await self.kube.get(kinds.NAMESPACE, namespace)
                labels = dict(ns.get("metadata", {}).get("labels") or {})
            except KubeError:
                labels = {}
            labels.setdefault("kubernetes.io/metadata.name", namespace)
        if not namespace_allowed(conditions, namespace, labels):
            raise StoreConfigError(f'using ClusterSecretStore "{store["metadata"]["name"]}" is not allowed '
                                   f'from namespace "{namespace}"')

    async def client(self, kind: str, name: str, namespace: str, *, check_namespace: bool = True
                     ) -> tuple[ProviderClient, tuple[str, str, str]]:
        """The cached client of a store (created on first use). Raises StoreConfigError / ProviderError."""
        store = self.store_object(kind, name, namespace)
        if store is None:
            raise StoreConfigError(f'{kind} "{name}" not found')
        if kind == "ClusterSecretStore" and check_namespace:
            await self.check_namespace(store, namespace)
        sid = self.store_id(kind, name, namespace)
        version = f'{store["metadata"].get("uid", "")}/{store["metadata"].get("generation", "")}'
        lock = self._locks.setdefault(sid, asyncio.Lock())
        async with lock:
            cached = self._clients.get(sid)
            if cached is not None and cached[0] == version:
                return cached[1], sid
            if cached is not None:
                await self._close(cached[1])
                self._clients.pop(sid, None)
            client = await self.build(store, kind, sid)
            self._clients[sid] = (version, client)
            return client, sid

    async def build(self, store: Obj, kind: str, sid: tuple[str, str, str]) -> ProviderClient:
        spec = dict(store.get("spec") or {})
        provider = dict(spec.get("provider") or {})
        if len(provider) != 1:
            raise StoreConfigError("spec.provider must set exactly one provider")
        pname = next(iter(provider))
        factory = REGISTRY.get(pname)
        if factory is None:
            raise StoreConfigError(f'provider "{pname}" is not supported (have: {", ".join(sorted(REGISTRY))})')

        def changed(path: str) -> None:
            if self.on_change is not None:
                self.on_change(sid, path)

        ctx = StoreContext(kind, store["metadata"]["name"], store["metadata"].get("namespace") or "", spec, self.kube,
                           on_change=changed, extra={"read_cache_seconds": self.read_cache_seconds})
        return await factory(ctx)

    def cached(self, sid: tuple[str, str, str]) -> ProviderClient | None:
        hit = self._clients.get(sid)
        return hit[1] if hit else None

    async def forget(self, sid: tuple[str, str, str]) -> None:
        hit = self._clients.pop(sid, None)
        if hit is not None:
            await self._close(hit[1])

    async def _close(self, client: ProviderClient) -> None:
        try:
            await client.close()
        except Exception as exc:  # a failed revoke must not break reconciling
            log.warning("closing %s provider client failed: %s", client.name, type(exc).__name__)

    async def close(self) -> None:
        for sid in list(self._clients):
            await self.forget(sid)


class StoreReconciler:
    """SecretStore / ClusterSecretStore status: Ready=True/Valid when the provider validates, else why not."""

    def __init__(self, manager: StoreManager, kind: str) -> None:
        from strongroom.operator.runtime import StatusWriter

        self.manager, self.kind = manager, kind
        rk = kinds.CLUSTER_SECRET_STORE if kind == "ClusterSecretStore" else kinds.SECRET_STORE
        self.informer = manager.cluster_stores if kind == "ClusterSecretStore" else manager.stores
        self.status = StatusWriter(manager.kube, rk)
        self._validated: dict[str, str] = {}

    async def reconcile(self, key: str) -> Any:
        from strongroom.operator.externalsecret.providers import ProviderError
        from strongroom.operator.runtime import Result

        store = self.informer.get(key)
        ns, _, name = key.rpartition("/")
        sid = self.manager.store_id(self.kind, name, ns)
        if store is None:
            self._validated.pop(key, None)
            await self.manager.forget(sid)
            return None
        version = f'{store["metadata"].get("uid")}/{store["metadata"].get("generation")}'
        if self._validated.get(key) == version:
            return None
        try:
            client, _ = await self.manager.client(self.kind, name, ns, check_namespace=False)
            await client.validate()
        except StoreConfigError as exc:
            await self._write(store, False, "InvalidProviderConfig", str(exc))
            return None
        except ProviderError as exc:
            await self._write(store, False, "ValidationFailed", str(exc))
            return Result(30.0)
        self._validated[key] = version
        await self._write(store, True, "Valid", "store validated")
        return None

    async def _write(self, store: Obj, ok: bool, reason: str, message: str) -> None:
        from strongroom.operator.externalsecret.metrics import STORE_CONDITION

        meta = store["metadata"]
        for value in ("True", "False"):
            STORE_CONDITION.labels(self.kind, meta["name"], meta.get("namespace", ""), "Ready", value).set(
                1 if (value == "True") == ok else 0)
        updated = await self.status.write(store, "Ready", ok, reason=reason, message=message,
                                          extra={"capabilities": "ReadOnly"})
        if updated is not None:
            self.informer.remember(updated, based_on=store["metadata"].get("resourceVersion"))
