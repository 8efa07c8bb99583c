"""Minimal ASGI routing for the operator's small HTTP surfaces (health, metrics, the sealing API), served by
uvicorn inside the runtime's event loop.

Why not a web framework: a handful of fixed routes with no parameters; uvicorn (already a dependency) plus
a 40-line router is less to keep than another dependency. Signal handling stays with the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client: str


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[Request], Awaitable[Response]]
MAX_BODY = 4 * 1024 * 1024


@dataclass
class HttpApp:
    """ASGI app: exact-path routes, any method (as upstream sealed-secrets), 404 otherwise."""

    routes: dict[str, Handler] = field(default_factory=dict)

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > MAX_BODY:
                await _send(send, Response(413, b"request body too large\n"))
                return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = (scope.get("client") or ("", 0))[0]
        handler = self.routes.get(scope["path"])
        if handler is None:
            await _send(send, Response(404, b"404 page not found\n"))
            return
        try:
            resp = await handler(Request(scope["method"], scope["path"], headers, body, client))
        except Exception:
            log.exception("handler for %s failed", scope["path"])
            resp = Response(500, b"internal error\n")
        await _send(send, resp)


async def _send(send: Any, resp: Response) -> None:
    await send({"type": "http.response.start", "status": resp.status,
                "headers": [(b"content-type", resp.content_type.encode()),
                            (b"content-length", str(len(resp.body)).encode())]})
    await send({"type": "http.response.body", "body": resp.body})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the runtime owns SIGTERM/SIGINT
        yield


class HttpServer:
    """Serve `app` on host:port (port 0 picks a free one; read `.port` after `started`)."""

    def __init__(self, app: HttpApp, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self.started = asyncio.Event()
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                lifespan="off", timeout_keep_alive=120)
        self._server = _Server(config)

    def _bind(self) -> socket.socket:
        """Bind ourselves: uvicorn would call sys.exit() on a bind error, which no caller can handle."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    async def run(self) -> None:
        sock = self._bind()
        task = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        try:
            while not self._server.started and not task.done():
                await asyncio.sleep(0.01)
            self.started.set()
            await asyncio.shield(task)  # cancelling us must not cancel uvicorn mid-flight: it would skip
        finally:                        # closing its listener, and the selector would keep a stale fd
            self._server.should_exit = True
            if not task.done():
                with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), 5)
            if not task.done():
                task.cancel()
            for server in getattr(self._server, "servers", []):
                server.close()
            sock.close()
