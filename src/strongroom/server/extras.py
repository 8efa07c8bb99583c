"""Non-API routes (/metrics, /ui) plugged into the app, and the per-request metrics hook."""

from __future__ import annotations

from typing import Any

from strongroom.core.metrics import CONTENT_TYPE
from strongroom.core.request import ApiRequest
from strongroom.server.app import App, Receive, Scope, Send
from strongroom.server.config import ServerConfig


def install_extras(app: App, cfg: ServerConfig) -> None:
    metrics = app.core.metrics

    children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labels() is slow: bind each series once

    def observe(api: ApiRequest, status: int, seconds: float) -> None:
        key = (api.mount or "unrouted", api.operation.value, status)
        bound = children.get(key)
        if bound is None:
            if len(children) > 4096:  # mounts come and go: stay bounded
                children.clear()
            bound = children[key] = (metrics.requests.labels(key[0], key[1], str(status)),
                                     metrics.latency.labels(key[0], key[1]))
        bound[0].inc()
        bound[1].observe(seconds)

    app.on_request.append(observe)
    if cfg.unauthenticated_metrics_access:
        async def prometheus(scope: Scope, receive: Receive, send: Send) -> None:
            app.core.refresh_gauges()
            headers: list[Any] = [(b"content-type", CONTENT_TYPE.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": metrics.exposition()})

        app.extra_routes["/metrics"] = prometheus
    if cfg.ui:
        app.extra_routes["/ui"] = _LazyDashboard(app, secure_cookies=not cfg.listener.tls_disable)


class _LazyDashboard:
    """Builds the dashboard (Jinja2, httpx) on its first request, not at server start."""

    def __init__(self, app: App, *, secure_cookies: bool) -> None:
        self.app, self.secure_cookies = app, secure_cookies
        self.dashboard: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.dashboard is None:
            from strongroom.ui import Dashboard

            self.dashboard = Dashboard(self.app, secure_cookies=self.secure_cookies)
        await self.dashboard(scope, receive, send)
