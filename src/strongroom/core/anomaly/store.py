"""Alerts persisted behind the barrier (sys/anomaly/alerts/<id>), with bounded retention: at most
`max_alerts`, none older than `retention`. Ids sort by time. The index lives in memory (10k small dicts)."""

from __future__ import annotations

import os
from typing import Any, Protocol

import orjson

from strongroom.core import clock
from strongroom.core.anomaly.seen import Store

PREFIX = "alerts/"


class ListableStore(Store, Protocol):
    async def delete(self, key: str) -> None: ...
    async def list(self, prefix: str) -> list[str]: ...


def new_id(now: float) -> str:
    return f"{int(now * 1000):012x}-{os.urandom(4).hex()}"


class AlertStore:
    def __init__(self, storage: ListableStore, *, max_alerts: int, retention: float) -> None:
        self.storage = storage
        self.max_alerts = max_alerts
        self.retention = retention
        self.alerts: dict[str, dict[str, Any]] = {}  # id -> alert, insertion = time order

    async def load(self) -> None:
        self.alerts.clear()
        ids = sorted(await self.storage.list(PREFIX))
        for i in ids:
            raw = await self.storage.get(PREFIX + i)
            if raw:
                self.alerts[i] = orjson.loads(raw)
        await self.prune(clock.now())

    async def add(self, alert: dict[str, Any]) -> None:
        self.alerts[alert["id"]] = alert
        await self.storage.put(PREFIX + alert["id"], orjson.dumps(alert))
        await self.prune(clock.now())

    async def prune(self, now: float) -> None:
        cutoff = now - self.retention
        drop = [i for i, a in self.alerts.items() if a.get("created", 0) < cutoff]
        excess = len(self.alerts) - len(drop) - self.max_alerts
        if excess > 0:
            dropped = set(drop)
            keep = [i for i in self.alerts if i not in dropped]
            drop.extend(keep[:excess])
        for i in drop:
            self.alerts.pop(i, None)
            await self.storage.delete(PREFIX + i)

    def get(self, alert_id: str) -> dict[str, Any] | None:
        return self.alerts.get(alert_id)

    async def acknowledge(self, alert_id: str, by: str, note: str = "") -> dict[str, Any] | None:
        a = self.alerts.get(alert_id)
        if a is None:
            return None
        if not a.get("acknowledged"):
            a.update(acknowledged=True, acknowledged_at=clock.rfc3339(clock.now()), acknowledged_by=by,
                     note=note)
            await self.storage.put(PREFIX + alert_id, orjson.dumps(a))
        return a

    def query(self, *, rule: str = "", acknowledged: bool | None = None, since: float = 0.0,
              limit: int = 0) -> list[dict[str, Any]]:
        out = [a for a in self.alerts.values()
               if (not rule or a["rule"] == rule) and (acknowledged is None or a["acknowledged"] == acknowledged)
               and a["created"] >= since]
        return out[-limit:] if limit else out
