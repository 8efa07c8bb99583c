"""Status conditions, computed as pure functions and written in ONE place (`StatusWriter`).

The writer sends a status patch only when the condition flips or the observed generation moves, so a steady
state costs no API writes (no hot loops, no churn in GitOps tools).
"""

from __future__ import annotations

import copy
from typing import Any

from strongroom.operator.kube import Kube, Obj, ResourceKind
from strongroom.operator.runtime.events import now_rfc3339


def set_condition(conditions: list[dict[str, Any]], type_: str, status: bool, *, reason: str = "",
                  message: str = "", now: str | None = None) -> list[dict[str, Any]]:
    """Return a new condition list with `type_` set; lastTransitionTime moves only when the status flips."""
    now = now or now_rfc3339()
    value = "True" if status else "False"
    out = [copy.deepcopy(c) for c in conditions if c.get("type") != type_]
    old = next((c for c in conditions if c.get("type") == type_), None)
    cond: dict[str, Any] = {"type": type_, "status": value, "lastUpdateTime": now,
                            "lastTransitionTime": old["lastTransitionTime"]
                            if old and old.get("status") == value and old.get("lastTransitionTime") else now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return [cond, *out]


def condition_changed(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    """True when any condition differs in status, reason or message (timestamps ignored)."""
    def strip(cs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in cs)

    return strip(old) != strip(new)


class StatusWriter:
    """The single place where a controller writes an object's status subresource."""

    def __init__(self, kube: Kube, kind: ResourceKind) -> None:
        self.kube, self.kind = kube, kind

    async def write(self, obj: Obj, type_: str, ok: bool, *, reason: str = "", message: str = "",
                    extra: dict[str, Any] | None = None) -> Obj | None:
        """Set condition `type_` and observedGeneration. Returns the server's updated object when a write was
        needed (give it to `Informer.remember`), None when the status was already right."""
        status = obj.get("status") or {}
        old = status.get("conditions") or []
        new = set_condition(old, type_, ok, reason=reason, message=message)
        generation = obj.get("metadata", {}).get("generation")
        extra = extra or {}
        if (not condition_changed(old, new) and status.get("observedGeneration") == generation
                and all(status.get(k) == v for k, v in extra.items())):
            return None
        patch: dict[str, Any] = {"conditions": new, "observedGeneration": generation, **extra}
        meta = obj["metadata"]
        return await self.kube.patch_status(self.kind, meta["name"], patch, meta.get("namespace"))
