"""sys/metrics: Prometheus text (format=prometheus) or a JSON summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.metrics import CONTENT_TYPE
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def paths(core: Core) -> list[Path]:
    async def metrics(req: Request, d: FieldData) -> Response:
        core.refresh_gauges()
        if d.get("format") == "prometheus":
            return Response(raw_status=200, raw_content_type=CONTENT_TYPE, raw_body=core.metrics.exposition())
        gauges = []
        for fam in core.metrics.registry.collect():
            for s in fam.samples:
                gauges.append({"Name": s.name, "Labels": s.labels, "Value": s.value})
        return Response(data={"Gauges": gauges, "Counters": [], "Samples": []}, plain=True)

    return [Path("metrics", {Op.READ: metrics}, fields={"format": Field(FieldType.STRING, query=True)},
                 help_synopsis="Server metrics (format=prometheus for the Prometheus text format).")]
