"""sys/mounts, sys/auth and sys/internal/ui/mounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strongroom.core.context import caller
from strongroom.core.mounts import MountEntry, normalize_path
from strongroom.sdk.errors import InvalidRequest, PermissionDenied
from strongroom.sdk.framework import Field, FieldData, FieldType, Path, parse_duration
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core

TUNABLE = ("default_lease_ttl", "max_lease_ttl", "audit_non_hmac_request_keys", "audit_non_hmac_response_keys",
           "listing_visibility", "passthrough_request_headers", "allowed_response_headers", "token_type",
           "force_no_cache")


def _config(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in TUNABLE:
            continue
        if k in ("default_lease_ttl", "max_lease_ttl"):
            try:
                out[k] = 0 if v in ("", "system") else parse_duration(v)
            except ValueError:
                raise InvalidRequest(f"invalid {k}: {v!r}") from None
        else:
            out[k] = v
    return out


BUILTIN_TYPES = ("system", "cubbyhole", "token", "identity")


def view(e: MountEntry) -> dict[str, Any]:
    """A mount as OpenBao lists it: built-in mounts carry no deprecation status; token/ and sys/ their defaults."""
    v = e.api_view()
    if e.type in BUILTIN_TYPES:
        v.pop("deprecation_status", None)
    if e.type == "token":
        v["config"].setdefault("token_type", "default-service")
    if e.type == "system":
        v["config"].setdefault("passthrough_request_headers", ["Accept"])
    return v


def paths(core: Core) -> list[Path]:  # noqa: C901 - a route table; mccabe counts its handlers into it
    def table(kind: str) -> dict[str, Any]:
        entries = core.auth_mounts if kind == "auth" else core.mounts
        return {e.path: view(e) for e in entries}

    async def list_mounts(req: Request, d: FieldData) -> Response:
        return Response(data=table("secret"), top_level=True)

    async def list_auth(req: Request, d: FieldData) -> Response:
        return Response(data=table("auth"), top_level=True)

    def entry_from(d: FieldData, kind: str) -> MountEntry:
        mtype = d.get("type")
        if not mtype:
            raise InvalidRequest("backend type must be specified as a string")
        options = {k: str(v) for k, v in (d.get("options") or {}).items()}
        if mtype == "kv-v2":
            mtype, options["version"] = "kv", "2"
        return MountEntry(d.get("path"), mtype, d.get("description"), kind=kind, local=d.get("local"),
                          seal_wrap=d.get("seal_wrap"), config=_config(d.get("config") or {}), options=options)

    async def enable(req: Request, d: FieldData) -> None:
        await core.mount(entry_from(d, "secret"))

    async def enable_auth(req: Request, d: FieldData) -> None:
        await core.mount(entry_from(d, "auth"))

    async def disable(req: Request, d: FieldData) -> None:
        await core.unmount(d.get("path"))

    async def disable_auth(req: Request, d: FieldData) -> None:
        await core.unmount(d.get("path"), kind="auth")

    def find(path: str, kind: str) -> MountEntry:
        path = normalize_path(path)
        entries = core.auth_mounts if kind == "auth" else core.mounts
        for e in entries:
            if e.path == path:
                return e
        raise InvalidRequest(f"No {'auth' if kind == 'auth' else 'secret'} engine at {path}")

    async def read_mount(req: Request, d: FieldData) -> Response:
        return Response(data=view(find(d.get("path"), "secret")), top_level=True)

    async def read_auth(req: Request, d: FieldData) -> Response:
        return Response(data=view(find(d.get("path"), "auth")), top_level=True)

    def tune_view(e: MountEntry) -> Response:
        v = view(e)
        cfg = v["config"]
        data = {"default_lease_ttl": cfg["default_lease_ttl"] or core.config.default_lease_ttl,
                "max_lease_ttl": cfg["max_lease_ttl"] or core.config.max_lease_ttl,
                "force_no_cache": False, "description": e.description}
        if e.options:  # OpenBao leaves `options` out when the mount has none
            data["options"] = e.options
        for k in TUNABLE:
            if k in cfg and k not in data:
                data[k] = cfg[k]
        return Response(data=data, top_level=True)

    async def read_tune(req: Request, d: FieldData) -> Response:
        return tune_view(find(d.get("path"), "secret"))

    async def read_auth_tune(req: Request, d: FieldData) -> Response:
        return tune_view(find(d.get("path"), "auth"))

    async def tune(req: Request, d: FieldData) -> None:
        changes = _config({k: v for k, v in req.data.items() if k in TUNABLE})
        if "description" in req.data:
            changes["description"] = str(req.data["description"])
        if isinstance(req.data.get("options"), dict):
            changes["options"] = req.data["options"]
        await core.tune(d.get("path"), changes)

    async def tune_auth(req: Request, d: FieldData) -> None:
        changes = _config({k: v for k, v in req.data.items() if k in TUNABLE})
        if "description" in req.data:
            changes["description"] = str(req.data["description"])
        await core.tune("auth/" + normalize_path(d.get("path")), changes)

    async def ui_mounts(req: Request, d: FieldData) -> Response:
        entry = caller().entry
        if entry is None:
            return Response(data={"secret": {}, "auth": {}})
        return Response(data={"secret": table("secret"), "auth": table("auth")})

    async def ui_mount(req: Request, d: FieldData) -> Response:
        entry = caller().entry
        if entry is None:
            raise PermissionDenied()
        path = d.get("path").lstrip("/")
        found = core.find_route(path)
        if found is None or found[0].entry.kind == "auth":
            raise InvalidRequest(f"no mount found for path {path!r}")
        route = found[0]
        acl = caller().acl
        if acl is not None and not _can_see(acl, route.prefix):
            raise PermissionDenied()
        data = route.entry.api_view()
        data["path"] = route.entry.path
        return Response(data=data)

    mount_fields = {
        "path": Field(FieldType.STRING, "Mount path"),
        "type": Field(FieldType.STRING, "Engine type (kv, transit, database, ...)"),
        "description": Field(FieldType.STRING), "config": Field(FieldType.MAP), "options": Field(FieldType.KVPAIRS),
        "local": Field(FieldType.BOOL), "seal_wrap": Field(FieldType.BOOL),
        "external_entropy_access": Field(FieldType.BOOL), "plugin_name": Field(FieldType.STRING),
        "plugin_version": Field(FieldType.STRING),
    }
    tune_fields: dict[str, Field] = {"path": Field(FieldType.STRING), "description": Field(FieldType.STRING),
                                     "options": Field(FieldType.KVPAIRS)}
    tune_fields.update({k: Field(FieldType.STRING) for k in TUNABLE})
    return [
        Path("mounts", {Op.READ: list_mounts}, help_synopsis="List the mounted secrets engines."),
        Path(r"mounts/(?P<path>.+?)/tune/?", {Op.READ: read_tune, Op.UPDATE: tune}, fields=tune_fields,
             takes_arbitrary_input=True),
        Path(r"mounts/(?P<path>.+)", {Op.READ: read_mount, Op.UPDATE: enable, Op.DELETE: disable},
             fields=mount_fields, help_synopsis="Enable, read or disable a secrets engine."),
        Path("auth", {Op.READ: list_auth}, help_synopsis="List the enabled auth methods."),
        Path(r"auth/(?P<path>.+?)/tune/?", {Op.READ: read_auth_tune, Op.UPDATE: tune_auth}, fields=tune_fields,
             takes_arbitrary_input=True),
        Path(r"auth/(?P<path>.+)", {Op.READ: read_auth, Op.UPDATE: enable_auth, Op.DELETE: disable_auth},
             fields=mount_fields, help_synopsis="Enable, read or disable an auth method."),
        Path("internal/ui/mounts", {Op.READ: ui_mounts}),
        Path(r"internal/ui/mounts/(?P<path>.+)", {Op.READ: ui_mount}, fields={"path": Field(FieldType.STRING)}),
    ]


def _can_see(acl: Any, prefix: str) -> bool:
    caps = acl.capabilities(prefix)
    if caps and caps != ["deny"]:
        return True
    return bool(getattr(acl, "has_any_under", lambda p: True)(prefix))
