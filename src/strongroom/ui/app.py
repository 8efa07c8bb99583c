"""The dashboard's ASGI app, mounted by the server at /ui. Every data access goes through the public /v1 API
with the signed-in user's token, so the ACL and the audit devices see the dashboard like any other client."""

from __future__ import annotations

import importlib.resources
import logging
import re
from typing import Any

import jinja2

from strongroom.ui.api import Api, ApiError
from strongroom.ui.session import COOKIE, SessionCodec
from strongroom.ui.views_access import AccessViews
from strongroom.ui.views_insight import InsightViews
from strongroom.ui.views_secrets import SecretViews
from strongroom.ui.web import Route, UiRequest, UiResponse, read_request, send_response

PREFIX = "/ui"
log = logging.getLogger("strongroom.ui")
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml"}


class Dashboard:
    def __init__(self, asgi_api: Any, *, secure_cookies: bool = False, idle_seconds: int = 900) -> None:
        self.api = Api(asgi_api)
        self.sessions = SessionCodec(idle_seconds=idle_seconds, secure=secure_cookies)
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("strongroom.ui", "templates"),
                                      autoescape=True)
        s = SecretViews(self.api, self.render)
        a = AccessViews(self.api, self.render)
        i = InsightViews(self.api, self.render)
        r = self._route
        self.routes: list[Route] = [
            r("GET", "/login", self.login_form, public=True), r("POST", "/login", self.login, public=True),
            r("POST", "/logout", self.logout), r("GET", "/", self.home), r("GET", "/secrets", s.index),
            r("POST", "/api/reveal", s.reveal),
            r("POST", r"/secrets/(?P<mount>[^/]+/)(?P<path>.+?)/-/(?P<action>[\w-]+)", s.action),
            r("POST", r"/secrets/(?P<mount>[^/]+/)(?P<path>.+)", s.save),
            r("GET", r"/secrets/(?P<mount>[^/]+/)(?P<path>.*)", s.browse),
            r("GET", "/policies", a.policies), r("GET", r"/policies/(?P<name>[\w.@-]+)", a.policy),
            r("GET", "/tokens", a.tokens), r("POST", "/revoke", a.revoke), r("GET", "/auth", a.auth),
            r("GET", "/activity", i.activity), r("GET", "/alerts", i.alerts), r("POST", "/alerts/ack", i.ack),
            r("GET", "/keys", i.keys), r("GET", r"/static/(?P<file>[\w.-]+)", self.static, public=True),
        ]

    @staticmethod
    def _route(method: str, pattern: str, handler: Any, *, public: bool = False) -> Route:
        return Route(method, re.compile("^" + pattern + "$"), handler, public)

    def render(self, req: UiRequest, template: str, status: int = 200, **ctx: Any) -> UiResponse:
        html = self.env.get_template(template).render(session=req.session, page=req.path, **ctx)
        return UiResponse(html.encode(), status)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            req = await read_request(scope, receive, PREFIX)
        except ValueError:
            await send_response(send, UiResponse(b"request too large", 413, "text/plain"))
            return
        try:
            resp = await self.dispatch(req)
        except Exception:  # a page bug must not take the server's error handling with it
            log.exception("dashboard error on %s %s", req.method, req.path)
            resp = UiResponse(b"Internal error; see the server log.", 500, "text/plain")
        if req.session is not None and resp.status < 400 and not any(h[0] == b"set-cookie" for h in resp.headers):
            resp.headers.append((b"set-cookie", self.sessions.set_cookie(req.session).encode()))  # sliding idle
        await send_response(send, resp)

    async def dispatch(self, req: UiRequest) -> UiResponse:
        for route in self.routes:
            if route.method != req.method:
                continue
            m = route.pattern.match(req.path)
            if not m:
                continue
            req.params = {k: v for k, v in m.groupdict().items() if v is not None}
            if not route.public:
                req.session = self.sessions.decode(req.cookies.get(COOKIE))
                if req.session is None:
                    if req.method == "GET":
                        return UiResponse.redirect("/ui/login")
                    return UiResponse.json_body({"error": "signed out"}, 401)
                if req.method == "POST" and not req.session.check_csrf(
                        req.form.get("csrf") or req.headers.get("x-csrf-token")):
                    return UiResponse(b"CSRF check failed", 403, "text/plain")
            try:
                resp: UiResponse = await route.handler(req)
                return resp
            except ApiError as e:
                if e.status == 403 and req.session is not None:
                    return self.render(req, "error.html", status=403,
                                       message="Permission denied by your policies (or your token expired).")
                return self.render(req, "error.html", status=e.status, message=str(e))
        return self.render(req, "error.html", status=404, message="No such page")

    async def static(self, req: UiRequest) -> UiResponse:
        name = req.params["file"]
        ext = name[name.rfind("."):]
        if ext not in STATIC_TYPES:
            return UiResponse(b"", 404, "text/plain")
        try:
            data = importlib.resources.files("strongroom.ui").joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return UiResponse(b"", 404, "text/plain")
        return UiResponse(data, 200, STATIC_TYPES[ext])

    async def login_form(self, req: UiRequest) -> UiResponse:
        return self.render(req, "login.html", error="")

    async def login(self, req: UiRequest) -> UiResponse:
        method = req.form.get("method", "token")
        try:
            if method == "userpass":
                user = req.form.get("username", "")
                mount = (req.form.get("mount") or "userpass").strip("/")
                body = await self.api.write(f"auth/{mount}/login/{user}", "", {"password": req.form.get("password")})
                token = ((body or {}).get("auth") or {}).get("client_token", "")
                display = user
            else:
                token = req.form.get("token", "").strip()
                me = await self.api.read("auth/token/lookup-self", token)
                display = ((me or {}).get("data") or {}).get("display_name", "token")
        except ApiError:
            return self.render(req, "login.html", status=401, error="Sign-in failed: check your credentials.")
        if not token:
            return self.render(req, "login.html", status=401, error="Sign-in failed: check your credentials.")
        session = self.sessions.new(token, str(display))
        resp = UiResponse.redirect("/ui/")
        resp.headers.append((b"set-cookie", self.sessions.set_cookie(session).encode()))
        return resp

    async def logout(self, req: UiRequest) -> UiResponse:
        resp = UiResponse.redirect("/ui/login")
        resp.headers.append((b"set-cookie", self.sessions.clear_cookie().encode()))
        return resp

    async def home(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        me = ((await self.api.read("auth/token/lookup-self", token) or {}).get("data")) or {}
        health = await self.api.read("sys/health", "") or {}
        return self.render(req, "home.html", me=me, health=health)
