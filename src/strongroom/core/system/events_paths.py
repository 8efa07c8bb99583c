"""sys/events/kv: long-poll for KV change notifications (paths and indexes, never values).

    GET sys/events/kv?since=-1          -> {"index": N, "events": []}           (where to start)
    GET sys/events/kv?since=N&wait=25s  -> {"index": M, "events": [{"index", "path", "time"}], "reset": false}

Needs `read` on `sys/events/kv`; it reveals which keys changed (not their values) on every mount.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.events import attach
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core

MAX_WAIT = 60


def paths(core: Core) -> list[Path]:
    feed = attach(core)

    async def read(req: Request, d: FieldData) -> Response:
        since, wait = d.get("since"), d.get("wait")
        if wait < 0 or wait > MAX_WAIT:
            raise InvalidRequest(f"wait must be between 0 and {MAX_WAIT} seconds")
        if since >= 0:
            await feed.wait(since, float(wait))
            events, reset = feed.since(since)
        else:
            events, reset = [], False
        index = events[-1].index if events else feed.index
        return Response(data={"index": index, "events": [e.to_dict() for e in events], "reset": reset})

    return [Path("events/kv", {Op.READ: read},
                 fields={"since": Field(FieldType.INT, default=-1, query=True,
                                        description="last index seen; -1 returns the current index"),
                         "wait": Field(FieldType.DURATION, default=0, query=True,
                                       description="long-poll up to this long (max 60s) for a new event")},
                 help_synopsis="Long-poll for KV change notifications (paths only).")]
