"""Kubernetes Events (core/v1) about the objects we reconcile. Best effort: a failed Event never fails a reconcile.

Messages must never contain a secret value; callers pass redacted text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets

from strongroom.operator.kube import Kube, KubeError, Obj, kinds
from strongroom.operator.runtime import metrics

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Emits Events as `component` (shown as the Event's source)."""

    def __init__(self, kube: Kube, component: str, *, host: str = "") -> None:
        self.kube, self.component, self.host = kube, component, host
        self._pending: set[asyncio.Task[None]] = set()
        self._inflight: asyncio.Semaphore | None = None  # bounds connections opened for Events

    def emit(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Fire and forget (as client-go's recorder): the reconcile does not wait for the Event write."""
        task = asyncio.ensure_future(self.record(obj, type_, reason, message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Wait for Events still being written (tests, shutdown)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") or "default"
        now = now_rfc3339()
        event = {
            "metadata": {"name": f"{meta.get('name', 'object')}.{secrets.token_hex(8)}", "namespace": ns},
            "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                               "name": meta.get("name"), "namespace": meta.get("namespace"),
                               "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "message": message[:1024], "type": type_,
            "source": {"component": self.component, "host": self.host},
            "reportingComponent": self.component, "reportingInstance": self.host,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        metrics.EVENTS_TOTAL.labels(type=type_, reason=reason).inc()
        if self._inflight is None:
            self._inflight = asyncio.Semaphore(4)
        try:
            async with self._inflight:
                await self.kube.create(kinds.EVENT, event)
        except KubeError as exc:
            log.warning("could not record event %s on %s/%s: %s", reason, ns, meta.get("name"), exc)
