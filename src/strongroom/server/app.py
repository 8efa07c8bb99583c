"""The ASGI application: HTTP verb (incl. LIST) -> operation, body limits, Vault JSON envelope.

Written directly against ASGI rather than a framework: the surface is one catch-all route, and the hot path
(a KV read) should cost a parse, a dict lookup and an orjson dump, nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from strongroom.core.core import Core
from strongroom.core.envelope import envelope
from strongroom.core.request import ApiRequest, ApiResult
from strongroom.sdk.errors import InvalidRequest, PayloadTooLarge, StrongroomError
from strongroom.sdk.framework import parse_duration
from strongroom.sdk.operations import Operation
from strongroom.server.errors import to_status

log = logging.getLogger("strongroom.server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
VERBS = {"GET": Operation.READ, "HEAD": Operation.READ, "LIST": Operation.LIST, "POST": Operation.UPDATE,
         "PUT": Operation.UPDATE, "PATCH": Operation.PATCH, "DELETE": Operation.DELETE}
PASS_HEADERS = ("x-vault-wrap-ttl", "x-vault-request", "content-type", "user-agent", "x-vault-namespace",
                "x-vault-wrap-format", "x-vault-policy-override")


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        body = msg.get("body", b"")
        size += len(body)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(body)
        if not msg.get("more_body"):
            break
    return b"".join(chunks)


def _headers(scope: Scope) -> tuple[dict[str, str], str]:
    """The headers engines may see, and the caller's token (X-Vault-Token or Authorization: Bearer)."""
    headers: dict[str, str] = {}
    token = ""
    for k, v in scope["headers"]:
        name = k.decode("latin-1").lower()
        if name == "x-vault-token":
            token = v.decode("latin-1").strip()
        elif name == "authorization":
            val = v.decode("latin-1")
            if val[:7].lower() == "bearer ":
                token = val[7:].strip()
        elif name in PASS_HEADERS:
            headers[name] = v.decode("latin-1")
    return headers, token


class UnsupportedMediaType(StrongroomError):
    status = 415


def _check_merge_patch(headers: dict[str, str]) -> None:
    """As Vault: a PATCH body is a JSON merge patch and must say so."""
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/merge-patch+json":
        raise UnsupportedMediaType("PATCH requires Content-Type of application/merge-patch+json, "
                                   f"provided {ctype or 'none'}")


def _wrapping_lookup_token(path: str, data: dict[str, Any], token: str) -> tuple[dict[str, Any], str]:
    """As Vault: looking a wrapping token up from the header must not spend its single use, so it moves into
    the body and the (unauthenticated) lookup runs without a caller token."""
    if path.rstrip("/") == "sys/wrapping/lookup" and token and "token" not in data:
        return {**data, "token": token}, ""
    return data, token


def _headless(send: Send) -> Send:
    async def wrapped(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.body":
            msg = {**msg, "body": b""}
        await send(msg)
    return wrapped


class App:
    def __init__(self, core: Core, *, extra_routes: dict[str, Callable[..., Awaitable[None]]] | None = None) -> None:
        self.core = core
        self.extra_routes = extra_routes or {}
        self.on_request: list[Callable[[ApiRequest, int, float], None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if not path.startswith("/v1/"):
            for prefix, handler in self.extra_routes.items():
                if path == prefix or path.startswith(prefix + "/"):
                    await handler(scope, receive, send)
                    return
            await self._send(send, 404, {"errors": []})
            return
        await self._api(scope, receive, send, path[4:])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _send(self, send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None,
                    raw: bytes | None = None) -> None:
        payload = raw if raw is not None else orjson.dumps(body)
        await send({"type": "http.response.start", "status": status, "headers": headers or JSON_HEADERS})
        await send({"type": "http.response.body", "body": payload})

    def _parse(self, scope: Scope, body: bytes, path: str) -> ApiRequest:
        method = scope["method"]
        op = VERBS.get(method)
        if op is None:
            raise InvalidRequest(f"unsupported HTTP method {method}")
        headers, token = _headers(scope)
        if op == Operation.PATCH:
            _check_merge_patch(headers)
        qs = scope.get("query_string", b"")
        query = dict(parse_qsl(qs.decode("latin-1"), keep_blank_values=True)) if qs else {}
        data: dict[str, Any] = {}
        if op in (Operation.READ, Operation.LIST, Operation.DELETE):
            if op == Operation.READ and query.get("list", "").lower() == "true":
                op = Operation.LIST
            data = {k: v for k, v in query.items() if k not in ("list", "help")}
            if query.get("help") in ("1", "true"):
                op = Operation.HELP
        if body.strip():
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise InvalidRequest(f"failed to decode JSON input: {exc.msg}") from None
            if parsed is None:
                parsed = {}
            if not isinstance(parsed, dict):
                raise InvalidRequest("failed to decode JSON input: the request body must be a JSON object")
            if op in (Operation.UPDATE, Operation.PATCH, Operation.DELETE) or parsed:
                data = {**data, **parsed}
        if op == Operation.LIST and not path.endswith("/"):
            path += "/"  # as Vault's HTTP layer: a LIST addresses a directory (routing and ACL both see it)
        data, token = _wrapping_lookup_token(path, data, token)
        wrap_ttl = 0
        if "x-vault-wrap-ttl" in headers:
            try:
                wrap_ttl = parse_duration(headers["x-vault-wrap-ttl"])
            except ValueError:
                raise InvalidRequest("error parsing X-Vault-Wrap-TTL header") from None
        client = scope.get("client") or ("", 0)
        return ApiRequest(operation=op, path=path, data=data, token=token, remote_addr=client[0] or "",
                          remote_port=client[1] or 0, headers=headers, query=query, wrap_ttl=wrap_ttl)

    async def _api(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if scope["method"] == "HEAD":  # e.g. load balancers probing sys/health: status only, no body
            send = _headless(send)
        start = time.perf_counter()
        api: ApiRequest | None = None
        status = 500
        try:
            body = await _read_body(receive, self.core.config.max_request_size)
            api = self._parse(scope, body, path)
            result = await self.core.handle(api)
            status = await self._respond(send, result, api)
        except Exception as exc:  # mapped to a status in one place
            rid = api.id if api else ""
            status, errors = to_status(exc, rid)
            await self._send(send, status, {"errors": errors})
        finally:
            if api is not None:
                for hook in self.on_request:
                    hook(api, status, time.perf_counter() - start)

    async def _respond(self, send: Send, result: ApiResult, api: ApiRequest) -> int:
        resp = result.response
        if resp is not None and resp.raw_body is not None:
            ctype = (resp.raw_content_type or "application/octet-stream").encode()
            status = resp.raw_status or 200
            await self._send(send, status, None, [(b"content-type", ctype)], raw=resp.raw_body)
            return status
        if resp is not None and resp.plain:
            status = resp.raw_status or 200
            await self._send(send, status, resp.data)
            return status
        if resp is None or (resp.data is None and resp.auth is None and result.auth is None
                            and not resp.warnings and result.wrap_info is None and not result.lease_id):
            if api.operation in (Operation.READ, Operation.LIST) and result.wrap_info is None:
                await self._send(send, 404, {"errors": []})
                return 404
            await send({"type": "http.response.start", "status": 204, "headers": [(b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": b""})
            return 204
        status = resp.raw_status or 200
        await self._send(send, status, envelope(result))
        return status
