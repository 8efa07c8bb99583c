"""sys/audit (list, enable, disable) and sys/audit-hash/:path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.audit import AuditConfig
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def paths(core: Core) -> list[Path]:
    async def list_devices(req: Request, d: FieldData) -> Response:
        return Response(data=core.audit.listing(), top_level=True)

    async def enable(req: Request, d: FieldData) -> None:
        kind = d.get("type")
        if not kind:
            raise InvalidRequest("type is required (file, socket or syslog)")
        await core.audit.enable(AuditConfig(d.get("path"), kind, d.get("description"),
                                            {k: str(v) for k, v in d.get("options").items()}, d.get("local")))

    async def disable(req: Request, d: FieldData) -> None:
        await core.audit.disable(d.get("path"))

    async def audit_hash(req: Request, d: FieldData) -> Response:
        return Response(data={"hash": await core.audit.hash(d.get("path"), d.get("input"))}, top_level=True)

    fields = {"path": Field(FieldType.STRING), "type": Field(FieldType.STRING),
              "description": Field(FieldType.STRING), "options": Field(FieldType.KVPAIRS),
              "local": Field(FieldType.BOOL)}
    return [
        Path("audit/?", {Op.READ: list_devices}, help_synopsis="List the enabled audit devices."),
        Path(r"audit/(?P<path>.+)", {Op.UPDATE: enable, Op.DELETE: disable}, fields=fields,
             help_synopsis="Enable or disable an audit device."),
        Path(r"audit-hash/(?P<path>.+)", {Op.UPDATE: audit_hash},
             fields={"path": Field(FieldType.STRING), "input": Field(FieldType.STRING, sensitive=True)},
             help_synopsis="HMAC a value with an audit device's salt, to search its log."),
    ]
