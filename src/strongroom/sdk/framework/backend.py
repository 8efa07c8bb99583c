"""A backend = a list of Paths. The framework routes, validates, warns about unknown fields, answers help and
writes OpenAPI. Engines and auth methods subclass nothing; they build a Backend.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from strongroom.sdk.errors import UnsupportedOperation, UnsupportedPath
from strongroom.sdk.framework.fields import OPENAPI_TYPES, FieldData
from strongroom.sdk.framework.path import Path, SecretType
from strongroom.sdk.operations import Operation
from strongroom.sdk.request import Auth, Request, Response
from strongroom.sdk.storage import Storage


@dataclass
class BackendConfig:
    """What the core gives a backend instance when it is mounted."""

    storage: Storage
    mount_path: str
    mount_type: str
    options: dict[str, str] = field(default_factory=dict)
    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    # notified after a write lands, so other parts (change feeds) can react; engines call it via notify_change
    on_change: Callable[[str], Awaitable[None]] | None = None


@dataclass
class Backend:
    paths: Sequence[Path]
    help: str = ""
    root_paths: Sequence[str] = ()  # need sudo; trailing * = prefix
    unauthenticated_paths: Sequence[str] = ()  # login endpoints
    secrets: Sequence[SecretType] = ()
    kind: str = "logical"  # or "credential"
    initialize: Callable[[], Awaitable[None]] | None = None
    periodic: Callable[[], Awaitable[None]] | None = None
    clean: Callable[[], Awaitable[None]] | None = None
    renew_login: Callable[[Request, Auth], Awaitable[Auth | None]] | None = None  # re-validate on token renew

    # recent path -> (route, captures); keyed with the route count so paths added later are never missed
    _routes: dict[tuple[str, int], tuple[Path, dict[str, str]]] = field(default_factory=dict, repr=False,
                                                                        compare=False)

    def route(self, path: str) -> tuple[Path, dict[str, str]]:
        key = (path, len(self.paths))
        hit = self._routes.get(key)
        if hit is not None:
            return hit[0], dict(hit[1])
        for p in self.paths:
            m = p.regex.match(path)
            if m:
                captures = {k: v for k, v in m.groupdict().items() if v is not None}
                if len(self._routes) >= 2048:
                    self._routes.clear()
                self._routes[key] = (p, captures)
                return p, dict(captures)
        raise UnsupportedPath()

    def _field_data(self, p: Path, captures: dict[str, str], req: Request) -> tuple[FieldData, list[str]]:
        warnings: list[str] = []
        raw: dict[str, Any] = {}
        for k, v in req.data.items():
            if k in p.fields:
                raw[k] = v
            elif not p.takes_arbitrary_input:
                warnings.append(f"Endpoint ignored these unrecognized parameters: [{k}]")
        if p.takes_arbitrary_input:
            raw = dict(req.data)
        for k, v in captures.items():
            if k in req.data and req.data[k] != v:
                warnings.append(f"Endpoint replaced the value of these parameters with the values captured "
                                f"from the endpoint's path: [{k}]")
            raw[k] = v
        fd = FieldData(raw, p.fields)
        return fd, warnings

    async def handle(self, req: Request) -> Response | None:
        p, captures = self.route(req.path)
        op = req.operation
        spec = p.spec(op)
        if spec is None and op == Operation.CREATE:
            spec = p.spec(Operation.UPDATE)
        if spec is None:
            if op == Operation.HELP:
                return Response(data={"help": self.help_text(p), "openapi": self.openapi("")})
            raise UnsupportedOperation()
        fd, warnings = self._field_data(p, captures, req)
        fd.validate()
        resp = await spec.handler(req, fd)
        if warnings and resp is not None:  # as Vault: a handler with no response drops them (204)
            resp.warnings.extend(warnings)
        return resp

    async def exists(self, req: Request) -> bool | None:
        """None when the path has no existence check (then writes are 'update')."""
        try:
            p, captures = self.route(req.path)
        except UnsupportedPath:
            return None
        if p.existence_check is None:
            return None
        fd, _ = self._field_data(p, captures, req)
        return await p.existence_check(req, fd)

    def secret_type(self, name: str) -> SecretType | None:
        for s in self.secrets:
            if s.name == name:
                return s
        return None

    def help_text(self, p: Path) -> str:
        return f"{p.help_synopsis}\n\n{p.help_description}".strip()

    def openapi(self, mount_path: str) -> dict[str, Any]:
        """OpenAPI 3 path items for this backend, generated from the route table."""
        out: dict[str, Any] = {}
        for p in self.paths:
            url, params = _pattern_to_openapi(p.pattern)
            item: dict[str, Any] = {"description": p.help_synopsis}
            if params:
                item["parameters"] = [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"},
                     "description": p.fields[n].description if n in p.fields else ""}
                    for n in params
                ]
            body_fields = {k: v for k, v in p.fields.items() if k not in params}
            for op in p.operations:
                method = {Operation.READ: "get", Operation.LIST: "get", Operation.DELETE: "delete",
                          Operation.PATCH: "patch"}.get(op, "post")
                spec = p.spec(op)
                entry: dict[str, Any] = {"summary": spec.summary if spec else "",
                                         "responses": {"200": {"description": "OK"}}}
                if op == Operation.LIST:
                    entry["parameters"] = [{"name": "list", "in": "query", "required": True,
                                            "schema": {"type": "string", "enum": ["true"]}}]
                if method in ("post", "patch") and body_fields:
                    props: dict[str, Any] = {}
                    for name, f in body_fields.items():
                        t, sub = OPENAPI_TYPES[f.type]
                        schema: dict[str, Any] = {"type": t, "description": f.description}
                        if t == "array" and sub:
                            schema["items"] = {"type": sub}
                        elif sub == "seconds":
                            schema["format"] = "duration"
                        if f.default is not None and not callable(f.default):
                            schema["default"] = f.default
                        props[name] = schema
                    entry["requestBody"] = {"content": {"application/json": {"schema": {
                        "type": "object", "properties": props}}}}
                if method in item and op == Operation.LIST:
                    continue
                item.setdefault(method, entry)
            out["/" + mount_path + url] = item
        return out


def _pattern_to_openapi(pattern: str) -> tuple[str, list[str]]:
    """Turns a route regex into an OpenAPI path template (best effort, like Vault's expandPattern)."""
    import re

    params: list[str] = []

    def repl(m: re.Match[str]) -> str:
        params.append(m.group(1))
        return "{" + m.group(1) + "}"

    s = pattern
    # drop nested unnamed groups inside named captures first
    s = re.sub(r"\(\?P<(\w+)>(?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)", repl, s)
    s = re.sub(r"\(\?:?[^)]*\)\??", "", s)
    s = s.replace("/?", "").replace("$", "").replace("^", "").replace("\\", "")
    s = re.sub(r"[?*+]", "", s)
    return s, params


__all__ = ["Backend", "BackendConfig"]
