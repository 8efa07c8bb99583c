"""THE request pipeline, once, for every API call:

    sealed? -> authenticate -> existence check (create vs update) -> ACL -> audit request -> route
            -> register lease / issue token -> wrap -> audit response -> count token use

Engines and auth methods only ever see an authorised `sdk.Request`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strongroom.core import clock
from strongroom.core.audit.entry import request_entry, response_entry
from strongroom.core.context import CallerContext, current
from strongroom.core.tokens.entry import TokenEntry
from strongroom.sdk.errors import InvalidRequest, PermissionDenied, Sealed, StrongroomError, UnsupportedPath
from strongroom.sdk.operations import Operation
from strongroom.sdk.request import Connection, Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.router import Route

# reachable while sealed (answered by the system backend)
SEALED_OK = ("sys/init", "sys/seal-status", "sys/unseal", "sys/health", "sys/leader", "sys/seal", "sys/step-down",
             "sys/rekey/", "sys/generate-root/")
# never need a token
UNAUTHENTICATED = ("sys/init", "sys/seal-status", "sys/unseal", "sys/health", "sys/leader", "sys/rekey/init",
                   "sys/rekey/update", "sys/rekey/verify", "sys/generate-root/attempt", "sys/generate-root/update",
                   "sys/internal/ui/mounts", "sys/wrapping/lookup")


def new_request_id() -> str:
    """A random UUIDv4 string, without the uuid module's per-call overhead."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:32]}"


@dataclass
class ApiRequest:
    """What the HTTP layer hands the core."""

    operation: Operation
    path: str
    data: dict[str, Any] = field(default_factory=dict)
    token: str = ""
    remote_addr: str = ""
    remote_port: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    wrap_ttl: int = 0
    id: str = field(default_factory=new_request_id)
    mount: str = ""  # set once routed; for metrics


@dataclass
class ApiResult:
    request_id: str
    response: Response | None
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    auth: dict[str, Any] | None = None
    wrap_info: dict[str, Any] | None = None
    mount_type: str = ""


class PathMatcher:
    """Vault's special-path lists, compiled once: `x` exact, `x/` or `x*` prefix. Called on every request."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        for p in patterns:
            if p.endswith("*"):
                prefixes.append(p[:-1])
            elif p.endswith("/"):
                prefixes.append(p)
                exact.add(p.rstrip("/"))
            else:
                exact.add(p)
                exact.add(p.rstrip("/"))
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)

    def __call__(self, path: str) -> bool:
        return path in self.exact or (bool(self.prefixes) and path.startswith(self.prefixes))


_matchers: dict[tuple[str, ...], PathMatcher] = {}


def matches(path: str, patterns: Sequence[str]) -> bool:
    """Matches against a pattern list, compiled once per distinct list (keyed by content, never identity)."""
    key = patterns if isinstance(patterns, tuple) else tuple(patterns)
    m = _matchers.get(key)
    if m is None:
        m = _matchers[key] = PathMatcher(key)
    return m(path)


UNAUTHED_REKEY = ("sys/rekey/", "sys/generate-root/")


class Pipeline:
    def __init__(self, core: Core) -> None:
        self.core = core
        # OpenBao's disable_unauthed_rekey_endpoints: without a token anyone can cancel a rekey (a DoS); with
        # it, these paths need a token like any other (and sudo, see the system backend's root paths)
        self.unauthenticated: tuple[str, ...] = UNAUTHENTICATED if core.config.unauthed_rekey else tuple(
            p for p in UNAUTHENTICATED if not p.startswith(UNAUTHED_REKEY))

    async def authenticate(self, token: str, remote_addr: str) -> TokenEntry:
        if not token:
            raise PermissionDenied("permission denied")
        entry = await self.core.tokens.lookup(token)
        if entry is None or entry.num_uses < 0:
            raise PermissionDenied("permission denied")
        if entry.bound_cidrs:
            try:
                addr = ipaddress.ip_address(remote_addr)
            except ValueError:  # no IP address (e.g. a unix socket): a bound token cannot be used from it
                raise PermissionDenied("permission denied") from None
            if not any(addr in ipaddress.ip_network(c, strict=False) for c in entry.bound_cidrs):
                raise PermissionDenied("permission denied")
        return entry

    async def handle(self, api: ApiRequest) -> ApiResult:
        core = self.core
        path = api.path.lstrip("/")
        if core.sealed:
            if not matches(path, SEALED_OK):
                raise Sealed()
            return await self._dispatch_system(api, path)

        found = core.find_route(path)
        if found is None:
            raise UnsupportedPath(f"no handler for route \"{path}\". route entry not found.")
        route, rel = found
        backend = route.backend
        unauth = matches(path, self.unauthenticated) or (
            route.entry.kind == "auth" and matches(rel, backend.unauthenticated_paths))
        ctx = CallerContext(token=api.token, request_id=api.id, remote_addr=api.remote_addr)
        api.mount = route.prefix
        audit = core.audit.broker
        entry: TokenEntry | None = None
        last_use = False
        try:
            entry = await self._identify(api, path, unauth)
            if entry is not None and entry.num_uses > 0:  # counted when checked, as Vault
                last_use = await core.tokens.use(entry)
            ctx.entry = entry
            req = self._request(api, route, rel, entry, unauth)
            if entry is not None and unauth:  # a token on an open path gives context, never a denial
                ctx.acl = await core.policies.acl(entry.policies)
            elif entry is not None:
                ctx.acl = await self._authorize(api, path, req, route, entry)
        except PermissionDenied as exc:  # failed authentication and denials are audited too
            core.anomaly.observe_request(api, route, entry, "denied" if entry else "auth_failed", exc)
            if audit.enabled:
                await audit.record(request_entry(api, route, entry, error=exc.message))
                await audit.record(response_entry(api, route, entry, None, error=exc.message))
            raise
        try:
            if audit.enabled:
                await audit.record(request_entry(api, route, entry))
            try:
                result = await self._serve(api, path, req, route, ctx, entry)
            except Exception as exc:  # every failure gets its response entry; the message never holds secrets
                core.anomaly.observe_request(api, route, entry, "error", exc)
                if audit.enabled:
                    message = exc.message if isinstance(exc, StrongroomError) else "internal error"
                    await audit.record(response_entry(api, route, entry, None, error=message))
                raise
            if audit.enabled:
                await audit.record(response_entry(api, route, entry, result))
            core.anomaly.observe_request(api, route, entry, "ok")
            return result
        finally:
            if last_use and entry is not None:  # the token's last permitted use, whatever the outcome
                await core.tokens.revoke_tree(entry)

    async def _serve(self, api: ApiRequest, path: str, req: Request, route: Route, ctx: CallerContext,
                     entry: TokenEntry | None) -> ApiResult:
        """Route to the backend, then the core's bookkeeping: issued tokens, leases, response wrapping."""
        token_ctx = current.set(ctx)
        try:
            resp = await route.backend.handle(req)
        finally:
            current.reset(token_ctx)
        result = ApiResult(api.id, resp, mount_type=route.entry.type)
        if resp is not None and resp.issued_auth is not None:
            result.auth = resp.issued_auth
        if resp is not None and resp.auth is not None:
            result.auth = await self.core.issue_login_token(resp, route, api)
        if resp is not None and resp.secret is not None:
            if route.backend.secret_type(resp.secret.type) is not None:
                await self.core.register_lease(result, req, route)
            else:  # a TTL hint (KV v1 `ttl`), not a lease: nothing to renew or revoke
                default = int(route.entry.config.get("default_lease_ttl", 0)) or self.core.config.default_lease_ttl
                result.lease_duration, result.renewable = resp.secret.ttl or default, False
        if api.wrap_ttl and resp is not None and (resp.data is not None or result.auth is not None):
            result.wrap_info = await self.core.wrapping.wrap(result, api.wrap_ttl, path, entry)
        return result

    async def _identify(self, api: ApiRequest, path: str, unauth: bool) -> TokenEntry | None:
        """The caller's token entry; None on unauthenticated paths (login, unseal...) without a valid token."""
        if unauth and not (api.token and path.startswith("sys/")):
            return None
        try:
            return await self.authenticate(api.token, api.remote_addr)
        except PermissionDenied:
            if unauth:
                return None
            raise

    @staticmethod
    def _request(api: ApiRequest, route: Route, rel: str, entry: TokenEntry | None, unauth: bool) -> Request:
        req = Request(operation=api.operation, path=rel, data=api.data, storage=route.view, id=api.id,
                      mount_point=route.prefix, mount_type=route.entry.type, mount_accessor=route.entry.accessor,
                      connection=Connection(api.remote_addr, api.remote_port), headers=api.headers,
                      query=api.query, unauthenticated=unauth)
        if entry is not None:
            req.client_token_id = entry.id_hash
            req.client_token_accessor = entry.accessor
            req.display_name = entry.display_name
            req.policies = tuple(entry.policies)
            req.entity_id = entry.entity_id
            req.token_meta = entry.meta
        return req

    async def _authorize(self, api: ApiRequest, path: str, req: Request, route: Route, entry: TokenEntry) -> Any:
        """Existence check (create vs update), then the ACL decision. Returns the compiled ACL."""
        backend = route.backend
        if req.operation == Operation.UPDATE:
            exists = await backend.exists(req)
            if exists is False:
                req.operation = Operation.CREATE
        acl = await self.core.policies.acl(entry.policies)
        decision = acl.check(path, req.operation, api.data, is_root_path=matches(req.path, backend.root_paths),
                             wrap_ttl=api.wrap_ttl or None)
        if not decision.allowed:
            raise PermissionDenied("permission denied")
        return acl

    async def _dispatch_system(self, api: ApiRequest, path: str) -> ApiResult:
        sys_backend = self.core.system_backend
        req = Request(operation=api.operation, path=path[len("sys/"):], data=api.data, id=api.id,
                      mount_point="sys/", mount_type="system", connection=Connection(api.remote_addr),
                      headers=api.headers, query=api.query, unauthenticated=True)
        token_ctx = current.set(CallerContext(token=api.token, request_id=api.id))
        try:
            resp = await sys_backend.handle(req)
        finally:
            current.reset(token_ctx)
        return ApiResult(api.id, resp, mount_type="system")


def now() -> float:
    return clock.now()


__all__ = ["ApiRequest", "ApiResult", "InvalidRequest", "Pipeline"]
