"""sys/alerts: the anomaly detector's alerts. LIST/GET with filters (rule, acknowledged, since), GET one,
POST sys/alerts/:id/ack. Alerts carry accessors and paths, never secret values or tokens."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from strongroom.core import clock
from strongroom.core.anomaly.config import seconds
from strongroom.core.context import caller
from strongroom.sdk.errors import InvalidRequest, NotFound
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core

_ID = r"(?P<id>[0-9a-f]{12}-[0-9a-f]{8})"


def parse_since(value: str) -> float:
    """RFC 3339 time, unix seconds, or a duration back from now (`15m`, `24h`)."""
    value = value.strip()
    if not value:
        return 0.0
    if re.fullmatch(r"\d+(\.\d+)?", value) and float(value) > 1e9:
        return float(value)
    try:
        return clock.now() - seconds(value, "since")
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidRequest("since must be an RFC 3339 time, unix seconds or a duration like 24h") from None


def _ack_filter(d: FieldData) -> bool | None:
    raw = d.raw.get("acknowledged")
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("true", "1", "yes"):
        return True
    if str(raw).lower() in ("false", "0", "no"):
        return False
    raise InvalidRequest("acknowledged must be true or false")


def _public(a: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if k != "created"}


def paths(core: Core) -> list[Path]:
    def query(d: FieldData) -> list[dict[str, Any]]:
        limit = d.get("limit")
        if limit < 0:
            raise InvalidRequest("limit must be >= 0")
        return core.anomaly.store.query(rule=d.get("rule"), acknowledged=_ack_filter(d),
                                        since=parse_since(str(d.get("since") or "")), limit=limit)

    async def list_alerts(req: Request, d: FieldData) -> Response | None:
        found = query(d)
        if not found:
            return None
        return Response(data={"keys": [a["id"] for a in found],
                              "key_info": {a["id"]: {"rule": a["rule"], "severity": a["severity"], "time": a["time"],
                                                     "message": a["message"], "acknowledged": a["acknowledged"]}
                                           for a in found}})

    async def read_alerts(req: Request, d: FieldData) -> Response:
        found = query(d)
        return Response(data={"alerts": [_public(a) for a in found], "status": core.anomaly.status()})

    async def read_one(req: Request, d: FieldData) -> Response:
        a = core.anomaly.store.get(d.get("id"))
        if a is None:
            raise NotFound(f"no alert {d.get('id')}")
        return Response(data=_public(a))

    async def ack(req: Request, d: FieldData) -> Response:
        entry = caller().entry
        by = entry.accessor if entry is not None else ""
        note = str(d.get("note") or "")[:1000]
        a = await core.anomaly.store.acknowledge(d.get("id"), by, note)
        if a is None:
            raise NotFound(f"no alert {d.get('id')}")
        return Response(data=_public(a))

    filters = {"rule": Field(FieldType.STRING, description="only alerts of this rule"),
               "acknowledged": Field(FieldType.STRING, description="true or false"),
               "since": Field(FieldType.STRING, description="RFC 3339 time, unix seconds, or a duration (24h)"),
               "limit": Field(FieldType.INT, description="at most this many (newest)", default=0)}
    return [
        Path("alerts/?", {Op.LIST: list_alerts, Op.READ: read_alerts}, fields=filters,
             help_synopsis="List anomaly alerts (filters: rule, acknowledged, since, limit)."),
        Path(f"alerts/{_ID}", {Op.READ: read_one}, fields={"id": Field(FieldType.STRING)},
             help_synopsis="Read one anomaly alert."),
        Path(f"alerts/{_ID}/ack", {Op.UPDATE: ack},
             fields={"id": Field(FieldType.STRING), "note": Field(FieldType.STRING, description="why")},
             help_synopsis="Acknowledge an anomaly alert."),
    ]
