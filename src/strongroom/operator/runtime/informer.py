"""Informer: list + watch one kind into a local cache and tell handlers what changed.

Level-triggered: handlers only learn *which* object changed; reconcilers read the current state from the cache.
A watch that ends is resumed from the last resourceVersion seen; 410 Gone (history compacted) triggers a full
re-list, and objects that vanished meanwhile are reported as deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from strongroom.operator.kube import Gone, Kube, KubeError, Obj, ResourceKind
from strongroom.operator.runtime import metrics

log = logging.getLogger(__name__)

Handler = Callable[[str, Obj], None]  # (ADDED | MODIFIED | DELETED, object)


def _rv(obj: Obj) -> int:
    try:
        return int(obj.get("metadata", {}).get("resourceVersion") or 0)
    except ValueError:  # resourceVersions are opaque; real servers use integers, we only compare if they are
        return 0


def object_key(obj: Obj) -> str:
    """'namespace/name' (or 'name' for cluster-scoped objects): the work-queue key."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


class Informer:
    """Cache of one kind (optionally one namespace / label selector), kept current by list+watch."""

    def __init__(self, kube: Kube, kind: ResourceKind, namespace: str | None = None,
                 labels: dict[str, Any] | None = None, *, watch_timeout: int = 300,
                 retry_delay: float = 0.5, max_retry_delay: float = 30.0) -> None:
        self.kube, self.kind, self.namespace, self.labels = kube, kind, namespace, labels
        self.cache: dict[str, Obj] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.watch_timeout = watch_timeout
        self.retry_delay, self.max_retry_delay = retry_delay, max_retry_delay
        self.relists = 0

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, key: str) -> Obj | None:
        return self.cache.get(key)

    def items(self) -> list[Obj]:
        return list(self.cache.values())

    def remember(self, obj: Obj, based_on: str | None = None) -> None:
        """Write-through after our own write: cache the server's answer now, so the echo of our write (same
        resourceVersion) arriving on the watch is recognised and does not trigger another reconcile.

        `based_on` is the resourceVersion our write started from; if the cache had moved past it meanwhile
        (someone else changed the object), handlers are told, since the watch event for that change may now be
        skipped as older than the cache."""
        key = object_key(obj)
        old = self.cache.get(key)
        if old is not None and _rv(old) > _rv(obj) > 0:
            return
        self.cache[key] = obj
        old_rv = (old or {}).get("metadata", {}).get("resourceVersion")
        if based_on is not None and old is not None and old_rv != based_on:
            self._notify("MODIFIED", obj)

    def _notify(self, typ: str, obj: Obj) -> None:
        for handler in self.handlers:
            try:
                handler(typ, obj)
            except Exception:
                log.exception("informer handler failed for %s %s", self.kind.kind, object_key(obj))

    async def relist(self) -> None:
        items, rv = await self.kube.list(self.kind, self.namespace, self.labels)
        self.relists += 1
        metrics.INFORMER_RELISTS.labels(kind=self.kind.kind).inc()
        fresh = {object_key(o): o for o in items}
        for key in [k for k in self.cache if k not in fresh]:
            self._notify("DELETED", self.cache.pop(key))
        for key, obj in fresh.items():
            old = self.cache.get(key)
            self.cache[key] = obj
            if old is None:
                self._notify("ADDED", obj)
            elif old.get("metadata", {}).get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._notify("MODIFIED", obj)
        self.resource_version = rv
        self.synced.set()

    def _apply(self, typ: str, obj: Obj) -> None:
        rv = obj.get("metadata", {}).get("resourceVersion")
        if rv:
            self.resource_version = rv
        if typ == "BOOKMARK":
            return
        key = object_key(obj)
        if typ == "DELETED":
            self.cache.pop(key, None)
        else:
            old = self.cache.get(key)
            if old is not None and (old.get("metadata", {}).get("resourceVersion") == rv
                                    or 0 < _rv(obj) < _rv(old)):
                return  # the echo of our own write, or older than what we already hold
            self.cache[key] = obj
        self._notify(typ, obj)

    async def run(self) -> None:
        """Run until cancelled."""
        delay, need_list = self.retry_delay, True
        while True:
            try:
                if need_list:
                    await self.relist()
                    need_list = False
                async for typ, obj in self.kube.watch(self.kind, self.namespace, labels=self.labels,
                                                      resource_version=self.resource_version,
                                                      timeout_seconds=self.watch_timeout):
                    self._apply(typ, obj)
                    delay = self.retry_delay
            except Gone:
                log.info("watch of %s expired (410); re-listing", self.kind.kind)
                need_list = True
                continue
            except KubeError as exc:
                metrics.WATCH_ERRORS.labels(kind=self.kind.kind).inc()
                log.warning("watch of %s failed (%s); retrying in %.1fs", self.kind.kind, exc, delay)
                await asyncio.sleep(delay)
                delay = min(self.max_retry_delay, delay * 2)
