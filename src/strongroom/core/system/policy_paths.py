"""sys/policy, sys/policies/acl and sys/capabilities*."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from strongroom.core.context import caller
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def _policy_text(d: FieldData) -> str:
    text = d.get("policy") or d.get("rules")
    if not text:
        raise InvalidRequest("'policy' parameter not supplied or empty")
    try:  # Vault accepts base64-encoded policy text too
        decoded = base64.b64decode(text, validate=True).decode()
        if "path" in decoded:
            return decoded
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    return str(text)


def paths(core: Core) -> list[Path]:  # noqa: C901 - a route table; mccabe counts its handlers into it
    async def list_policies(req: Request, d: FieldData) -> Response:
        names = await core.policies.names()
        return Response(data={"keys": names, "policies": names}, top_level=True)

    async def list_acl(req: Request, d: FieldData) -> Response:
        return Response(data={"keys": await core.policies.names()})

    def reader(key: str, top_level: bool) -> Any:
        # sys/policy/<name> answers {name, rules}; sys/policies/acl/<name> answers {name, policy}
        async def read(req: Request, d: FieldData) -> Response | None:
            name = d.get("name").lower()
            text = "" if name == "root" else await core.policies.get_text(name)
            if text is None:
                return None
            return Response(data={"name": name, key: text}, top_level=top_level)
        return read

    async def write(req: Request, d: FieldData) -> None:
        await core.policies.put(d.get("name"), _policy_text(d))

    async def delete(req: Request, d: FieldData) -> None:
        await core.policies.delete(d.get("name"))

    async def caps_for(policies: list[str], paths_: list[str]) -> Response:
        acl = await core.policies.acl(policies)
        data: dict[str, object] = {}
        for p in paths_:
            data[p] = acl.capabilities(p.lstrip("/"))
        if len(paths_) == 1:
            data["capabilities"] = data[paths_[0]]
        return Response(data=data, top_level=True)

    def requested_paths(d: FieldData) -> list[str]:
        ps = d.get("paths") or d.get("path")  # both are comma-string slices
        if not ps:
            raise InvalidRequest("missing paths")
        return list(ps)

    async def capabilities(req: Request, d: FieldData) -> Response:
        e = await core.tokens.lookup(d.get("token"))
        if e is None:
            raise InvalidRequest("invalid token")
        return await caps_for(e.policies, requested_paths(d))

    async def capabilities_self(req: Request, d: FieldData) -> Response:
        e = caller().entry
        if e is None:
            raise InvalidRequest("invalid token")
        return await caps_for(e.policies, requested_paths(d))

    async def capabilities_accessor(req: Request, d: FieldData) -> Response:
        e = await core.tokens.lookup_accessor(d.get("accessor"))
        if e is None:
            raise InvalidRequest("invalid accessor")
        return await caps_for(e.policies, requested_paths(d))

    name = {"name": Field(FieldType.STRING, "Policy name"),
            "policy": Field(FieldType.STRING, "Policy document (HCL or JSON)"),
            "rules": Field(FieldType.STRING, "Deprecated alias of policy", deprecated=True)}
    cap = {"token": Field(FieldType.STRING, sensitive=True), "accessor": Field(FieldType.STRING),
           "path": Field(FieldType.COMMA_STRING_SLICE), "paths": Field(FieldType.COMMA_STRING_SLICE)}
    return [
        Path("policy/?", {Op.READ: list_policies, Op.LIST: list_policies}),
        Path(r"policy/(?P<name>.+)", {Op.READ: reader("rules", True), Op.UPDATE: write, Op.DELETE: delete},
             fields=name),
        Path("policies/acl/?", {Op.LIST: list_acl, Op.READ: list_acl}),
        Path(r"policies/acl/(?P<name>.+)", {Op.READ: reader("policy", False), Op.UPDATE: write,
                                            Op.DELETE: delete}, fields=name),
        Path("capabilities", {Op.UPDATE: capabilities}, fields=cap),
        Path("capabilities-self", {Op.UPDATE: capabilities_self}, fields=cap),
        Path("capabilities-accessor", {Op.UPDATE: capabilities_accessor}, fields=cap),
    ]
