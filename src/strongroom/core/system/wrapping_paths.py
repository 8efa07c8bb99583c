"""sys/wrapping/*: wrap, unwrap, lookup, rewrap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.context import caller
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path, parse_duration
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def paths(core: Core) -> list[Path]:
    def wrapping_token(d: FieldData) -> str:
        token = d.get("token") or caller().token
        if not token:
            raise InvalidRequest("wrapping token is not valid or does not exist")
        return str(token)

    async def wrap(req: Request, d: FieldData) -> Response:
        ttl = req.headers.get("x-vault-wrap-ttl")
        if not ttl:
            raise InvalidRequest("wrap TTL must be specified with the X-Vault-Wrap-TTL header")
        # the pipeline wraps the response for us; data is what gets wrapped
        return Response(data=dict(req.data))

    async def unwrap(req: Request, d: FieldData) -> Response:
        ctx = caller()
        from_header = not d.get("token") and ctx.entry is not None and ctx.token == wrapping_token(d)
        payload = await core.wrapping.unwrap(wrapping_token(d), used_by_this_request=from_header)
        payload["request_id"] = req.id
        return Response(data=payload, plain=True)

    async def lookup(req: Request, d: FieldData) -> Response:
        return Response(data=await core.wrapping.lookup(wrapping_token(d)))

    async def rewrap(req: Request, d: FieldData) -> Response:
        info = await core.wrapping.rewrap(wrapping_token(d))
        return Response(data={"request_id": req.id, "lease_id": "", "renewable": False, "lease_duration": 0,
                              "data": None, "wrap_info": info, "warnings": None, "auth": None}, plain=True)

    tok = {"token": Field(FieldType.STRING, "The wrapping token", sensitive=True)}
    _ = parse_duration
    return [
        Path("wrapping/wrap", {Op.UPDATE: wrap}, takes_arbitrary_input=True),
        Path("wrapping/unwrap", {Op.UPDATE: unwrap}, fields=tok),
        Path("wrapping/lookup", {Op.UPDATE: lookup, Op.READ: lookup}, fields=tok),
        Path("wrapping/rewrap", {Op.UPDATE: rewrap}, fields=tok),
    ]
