"""sys/leases/* (and the legacy sys/renew, sys/revoke)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core import clock
from strongroom.core.expiration import remaining
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def paths(core: Core) -> list[Path]:
    def lease_id(d: FieldData) -> str:
        lid = d.get("lease_id") or d.get("url_lease_id")
        if not lid:
            raise InvalidRequest("lease_id must be specified")
        return str(lid)

    async def lookup(req: Request, d: FieldData) -> Response:
        lease = await core.expiration.lookup(lease_id(d))
        if lease is None:
            raise InvalidRequest("invalid lease")
        return Response(data={
            "id": lease.lease_id, "issue_time": clock.rfc3339(lease.issue_time),
            "expire_time": clock.rfc3339(lease.expire_time),
            "last_renewal": clock.rfc3339(lease.last_renewal_time) if lease.last_renewal_time else None,
            "renewable": lease.renewable, "ttl": remaining(lease)})

    async def list_leases(req: Request, d: FieldData) -> Response | None:
        keys = await core.expiration.list_prefix(d.get("prefix"))
        return Response(data={"keys": keys}) if keys else None

    async def renew(req: Request, d: FieldData) -> Response:
        lease = await core.expiration.renew(lease_id(d), d.get("increment"))
        return Response(
            data={"lease_id": lease.lease_id, "renewable": lease.renewable, "lease_duration": remaining(lease),
                  "request_id": req.id, "data": None, "wrap_info": None, "warnings": None, "auth": None},
            plain=True)

    async def revoke(req: Request, d: FieldData) -> None:
        await core.expiration.revoke(lease_id(d), sync=d.get("sync"))

    async def revoke_prefix(req: Request, d: FieldData) -> None:
        await core.expiration.revoke_prefix(d.get("prefix"), sync=d.get("sync"))

    async def revoke_force(req: Request, d: FieldData) -> None:
        await core.expiration.revoke_prefix(d.get("prefix"), force=True)

    async def tidy(req: Request, d: FieldData) -> Response:
        await core.expiration.tidy()
        return Response(warnings=["Tidy operation successfully started. Any information from the operation "
                                  "will be printed to Strongroom's server logs."], raw_status=202)

    async def count(req: Request, d: FieldData) -> Response:
        kind = d.get("type") or "all"
        if kind not in ("all", "irrevocable"):
            raise InvalidRequest("type must be 'irrevocable' (or 'all')")
        n, per_mount = await core.expiration.count(kind)
        return Response(data={"lease_count": n, "counts": per_mount})

    f = {"lease_id": Field(FieldType.STRING), "url_lease_id": Field(FieldType.STRING),
         "increment": Field(FieldType.DURATION), "sync": Field(FieldType.BOOL, default=True)}
    pf = {"prefix": Field(FieldType.STRING), "sync": Field(FieldType.BOOL, default=True)}
    return [
        Path("leases/lookup", {Op.UPDATE: lookup}, fields=f),
        Path(r"leases/lookup/(?P<prefix>.*)", {Op.LIST: list_leases}, fields=pf),
        Path(r"(leases/)?renew(/(?P<url_lease_id>.+))?", {Op.UPDATE: renew}, fields=f),
        Path(r"(leases/)?revoke(/(?P<url_lease_id>.+))?", {Op.UPDATE: revoke}, fields=f),
        Path(r"(leases/)?revoke-prefix/(?P<prefix>.+)", {Op.UPDATE: revoke_prefix}, fields=pf),
        Path(r"(leases/)?revoke-force/(?P<prefix>.+)", {Op.UPDATE: revoke_force}, fields=pf),
        Path("leases/tidy", {Op.UPDATE: tidy}),
        Path("leases/count", {Op.READ: count}, fields={"type": Field(FieldType.STRING, query=True)}),
    ]
