"""A minimal request/response layer for the dashboard's handful of routes (an ASGI app of its own).

Hand-written rather than a framework: about a dozen fixed routes, form posts and one JSON call; the security
headers (CSP, no-store, nosniff, frame denial) are set here once for every response.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

import orjson

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"), (b"cache-control", b"no-store"),
]
MAX_BODY = 1024 * 1024


@dataclass
class UiRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    session: Any = None


@dataclass
class UiResponse:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def redirect(cls, to: str) -> UiResponse:
        return cls(b"", 303, headers=[(b"location", to.encode())])

    @classmethod
    def json_body(cls, data: Any, status: int = 200) -> UiResponse:
        return cls(orjson.dumps(data), status, "application/json")


Handler = Callable[[UiRequest], Awaitable[UiResponse]]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool = False


async def read_request(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       prefix: str) -> UiRequest:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    jar = SimpleCookie()
    if "cookie" in headers:
        jar.load(headers["cookie"])
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if len(body) > MAX_BODY:
            raise ValueError("request body too large")
        if not msg.get("more_body"):
            break
    req = UiRequest(scope["method"], scope["path"][len(prefix):] or "/",
                    dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))), headers,
                    {k: m.value for k, m in jar.items()})
    ctype = headers.get("content-type", "")
    if body and ctype.startswith("application/x-www-form-urlencoded"):
        req.form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body and ctype.startswith("application/json"):
        req.json = orjson.loads(body)
    return req


async def send_response(send: Callable[[dict[str, Any]], Awaitable[None]], resp: UiResponse) -> None:
    headers = [(b"content-type", resp.content_type.encode()), *SECURITY_HEADERS, *resp.headers]
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": resp.body})
