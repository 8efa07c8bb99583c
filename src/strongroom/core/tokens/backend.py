"""auth/token/*: the token store's HTTP face (create, lookup, renew, revoke, roles, tidy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from strongroom.core import clock
from strongroom.core.context import caller
from strongroom.core.login import auth_block
from strongroom.core.policy.names import sanitize_policy_names
from strongroom.core.tokens.entry import TokenEntry
from strongroom.core.tokens.revalidate import revalidate_login
from strongroom.core.tokens.store import TokenStore
from strongroom.sdk.errors import InvalidRequest, PermissionDenied
from strongroom.sdk.framework import Backend, BackendConfig, Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core

S, N, B, D, L = (FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.DURATION,
                 FieldType.COMMA_STRING_SLICE)

CREATE_FIELDS = {
    "id": Field(S, "Token value to use (root only)", sensitive=True),
    "role_name": Field(S, "Token role"),
    "policies": Field(L, "Policies for the token"),
    "meta": Field(FieldType.KVPAIRS, "Arbitrary metadata"),
    "no_parent": Field(B, "Create an orphan token (root/sudo only)"),
    "no_default_policy": Field(B),
    "renewable": Field(B, default=True),
    "ttl": Field(D), "explicit_max_ttl": Field(D), "period": Field(D),
    "display_name": Field(S), "num_uses": Field(N), "type": Field(S, default="service"),
    "entity_alias": Field(S), "lease": Field(S, deprecated=True),
}

ROLE_FIELDS = {
    "role_name": Field(S),
    "allowed_policies": Field(L), "disallowed_policies": Field(L),
    "allowed_policies_glob": Field(L), "disallowed_policies_glob": Field(L),
    "orphan": Field(B), "renewable": Field(B, default=True), "path_suffix": Field(S),
    "allowed_entity_aliases": Field(L), "token_period": Field(D), "period": Field(D),
    "token_explicit_max_ttl": Field(D), "explicit_max_ttl": Field(D), "token_ttl": Field(D),
    "token_max_ttl": Field(D), "token_type": Field(S, default="default-service"), "token_num_uses": Field(N),
    "token_no_default_policy": Field(B), "token_bound_cidrs": Field(L),
}


def _q(names: list[str]) -> str:
    """Go's %q of a []string, as Vault formats policy lists in error messages."""
    return "[" + " ".join(f'"{n}"' for n in names) + "]"


def lookup_view(e: TokenEntry, token: str | None) -> dict[str, Any]:
    now = clock.now()
    return {
        "accessor": e.accessor, "creation_time": int(e.creation_time), "creation_ttl": e.ttl,
        "display_name": e.display_name, "entity_id": e.entity_id,
        "expire_time": clock.rfc3339(e.expire_time) if e.expire_time else None,
        "explicit_max_ttl": e.explicit_max_ttl, "id": token or "", "issue_time": clock.rfc3339(e.issue_time),
        "meta": e.meta or None, "num_uses": max(e.num_uses, 0), "orphan": e.orphan, "path": e.path,
        "policies": e.policies, "renewable": e.renewable and bool(e.expire_time), "ttl": e.ttl_remaining(now),
        "type": e.type, **({"period": e.period} if e.period else {}), **({"role": e.role} if e.role else {}),
        **({"last_renewal_time": int(e.last_renewal_time)} if e.last_renewal_time else {}),
        **({"bound_cidrs": e.bound_cidrs} if e.bound_cidrs else {}),
    }


def build(core: Core, config: BackendConfig) -> Backend:  # noqa: C901 - a route table (handlers are closures)
    store = core.tokens
    roles = config.storage

    def me() -> TokenEntry:
        e = caller().entry
        if e is None:
            raise PermissionDenied()
        return e

    async def load_role(name: str) -> dict[str, Any] | None:
        raw = await roles.get(f"roles/{name}")
        return None if raw is None else dict(orjson.loads(raw))

    async def create(req: Request, d: FieldData, *, orphan: bool = False, role_name: str = "") -> Response:
        parent = me()
        is_root = "root" in parent.policies
        role = await load_role(role_name) if role_name else None
        if role_name and role is None:
            raise InvalidRequest(f"unknown role {role_name}")
        if d.get("type") == "batch":
            raise InvalidRequest("batch tokens are not supported; use a service token")
        policies = d.get("policies") or ([] if role else list(parent.policies))
        no_default = d.get("no_default_policy") or (role or {}).get("token_no_default_policy", False)
        if role:
            allowed = role.get("allowed_policies") or []
            if allowed:
                bad = [p for p in policies if p not in allowed and p != "default"]
                if bad:
                    shown = sanitize_policy_names(policies, add_default=not no_default)
                    globs = role.get("allowed_policies_glob") or []
                    raise InvalidRequest(f"token policies ({_q(shown)}) must be subset of the role's allowed "
                                         f"policies ({_q(allowed)}) or glob policies ({_q(globs)})")
                policies = policies or list(allowed)
            disallowed = set(role.get("disallowed_policies") or [])
            if disallowed & set(policies):
                raise InvalidRequest(f"token policy ({_q(sorted(disallowed & set(policies)))}) is disallowed by "
                                     "this role")
        policies = sanitize_policy_names(policies, add_default=not no_default)
        if not is_root and not role:
            parent_set = set(parent.policies)
            extra = [p for p in policies if p not in parent_set and p != "default"]
            if extra:
                raise PermissionDenied("child policies must be subset of parent")
        if d.get("id") and not is_root:
            raise PermissionDenied("root or sudo privileges required to specify token id")
        want_orphan = orphan or d.get("no_parent") or bool((role or {}).get("orphan"))
        if d.get("no_parent") and not orphan and not is_root:
            raise PermissionDenied("root or sudo privileges required to create orphan token")
        now = clock.now()
        period = d.get("period") or (role or {}).get("token_period", 0)
        explicit = d.get("explicit_max_ttl") or (role or {}).get("token_explicit_max_ttl", 0)
        requested = d.get("ttl") or (role or {}).get("token_ttl", 0)
        if period and not is_root and not role:
            raise PermissionDenied("root or sudo privileges required to create periodic token")
        if "root" in policies and not is_root:
            raise PermissionDenied("root tokens may not be created by non-root tokens")
        mount_cfg = core.router.get("auth/token/")
        mcfg = mount_cfg.entry.config if mount_cfg else {}
        ttl = TokenStore.compute_ttl(
            requested=requested, period=period, explicit_max=explicit,
            mount_default=int(mcfg.get("default_lease_ttl", 0)) or core.config.default_lease_ttl,
            mount_max=int(mcfg.get("max_lease_ttl", 0)) or core.config.max_lease_ttl, now=now, created=now,
            max_expire=0.0 if (want_orphan or not parent.expire_time) else parent.expire_time)
        if policies == ["root"] and not requested and not period and not explicit:
            ttl.ttl, ttl.expire_time = 0, 0.0
        display = d.get("display_name") or ""
        display = ("token-" + display) if display else "token"
        num_uses = d.get("num_uses")
        if num_uses < 0:
            raise InvalidRequest("number of uses cannot be negative")
        e = TokenEntry(id_hash="", accessor="", policies=policies, meta=d.get("meta"),
                       display_name=display.replace(" ", "-"), num_uses=num_uses or (role or {}).get(
                           "token_num_uses", 0), ttl=ttl.ttl, explicit_max_ttl=explicit, period=period,
                       renewable=d.get("renewable") and (role or {}).get("renewable", True),
                       path=req.mount_point + req.path, orphan=bool(want_orphan),
                       parent_hash="" if want_orphan else parent.id_hash, expire_time=ttl.expire_time,
                       role=role_name, bound_cidrs=list((role or {}).get("token_bound_cidrs") or []),
                       creation_time=now)
        token = await store.create(e, token_id=d.get("id") or None)
        return _auth_response(token, e, now)

    def _auth_response(token: str, e: TokenEntry, now: float) -> Response:
        return Response(issued_auth=auth_block(token, e, now=now))

    async def h_create(req: Request, d: FieldData) -> Response:
        return await create(req, d, role_name=d.get("role_name"))

    async def h_create_orphan(req: Request, d: FieldData) -> Response:
        return await create(req, d, orphan=True)

    async def target(d: FieldData, *, by: str = "token") -> tuple[TokenEntry, str | None]:
        if by == "accessor":
            acc = d.get("accessor")
            e = await store.lookup_accessor(acc) if acc else None
            if e is None:
                raise InvalidRequest("invalid accessor")
            return e, None
        token = d.get("token")
        if not token:
            raise InvalidRequest("missing token to look up")
        e = await store.lookup(token)
        if e is None:
            raise PermissionDenied("bad token")  # as OpenBao: 403 for an unknown token
        return e, token

    async def lookup(req: Request, d: FieldData) -> Response:
        e, tok = await target(d)
        return Response(data=lookup_view(e, tok))

    async def lookup_self(req: Request, d: FieldData) -> Response:
        return Response(data=lookup_view(me(), caller().token))

    async def lookup_accessor(req: Request, d: FieldData) -> Response:
        e, _ = await target(d, by="accessor")
        return Response(data=lookup_view(e, None))

    async def renew_entry(e: TokenEntry, increment: int, token: str | None) -> Response:
        if not e.renewable or not e.expire_time:
            raise InvalidRequest("invalid lease ID" if not e.expire_time else "lease is not renewable")
        await revalidate_login(core, e, increment)
        now = clock.now()
        mcfg = core.router.get("auth/token/")
        cfg = mcfg.entry.config if mcfg else {}
        max_ttl = int(e.internal.get("max_ttl", 0)) or int(cfg.get("max_lease_ttl", 0)) or \
            core.config.max_lease_ttl
        if e.period:
            ttl = e.period
        else:
            # as Vault: no increment re-grants the TTL of the last renewal (or the creation TTL)
            ttl = increment or int(e.internal.get("renewed_ttl", 0)) or e.ttl
            ttl = min(ttl, max(0, int(e.creation_time + max_ttl - now)))
        if e.explicit_max_ttl:
            ttl = min(ttl, max(0, int(e.creation_time + e.explicit_max_ttl - now)))
        e.expire_time = now + ttl
        e.last_renewal_time = now
        if not e.period:
            e.internal["renewed_ttl"] = ttl
        await store.update(e)
        resp = _auth_response(token or "", e, now)
        if ttl < increment:
            resp.warnings.append(f"TTL of \"{ttl}s\" exceeded the effective max_ttl; TTL value is capped "
                                 "accordingly")
        return resp

    async def renew(req: Request, d: FieldData) -> Response:
        e, tok = await target(d)
        return await renew_entry(e, d.get("increment"), tok)

    async def renew_self(req: Request, d: FieldData) -> Response:
        return await renew_entry(me(), d.get("increment"), caller().token)

    async def renew_accessor(req: Request, d: FieldData) -> Response:
        e, _ = await target(d, by="accessor")
        resp = await renew_entry(e, d.get("increment"), None)
        return resp

    async def revoke(req: Request, d: FieldData) -> None:
        e, _ = await target(d)
        await store.revoke_tree(e)

    async def revoke_self(req: Request, d: FieldData) -> None:
        await store.revoke_tree(me())

    async def revoke_accessor(req: Request, d: FieldData) -> None:
        acc = d.get("accessor")
        e = await store.lookup_accessor(acc) if acc else None
        if e is not None:  # as OpenBao: revoking an unknown (e.g. already revoked) accessor succeeds
            await store.revoke_tree(e)

    async def revoke_orphan(req: Request, d: FieldData) -> None:
        e, _ = await target(d)
        await store.revoke_orphan(e)

    async def list_accessors(req: Request, d: FieldData) -> Response:
        keys: list[str] = []
        for h in await store.view.list("id/"):
            e = await store.lookup_hash(h)
            if e is not None:
                keys.append(e.accessor)
        return Response(data={"keys": sorted(keys)})

    async def role_read(req: Request, d: FieldData) -> Response | None:
        name = d.get("role_name")
        role = await load_role(name)
        if role is None:
            return None
        role["name"] = name
        return Response(data=role)

    async def role_write(req: Request, d: FieldData) -> None:
        name = d.get("role_name")
        role = await load_role(name) or {}
        for k in ROLE_FIELDS:
            if k != "role_name" and (d.has(k) or k not in role):
                role[k] = d.get(k)
        if d.has("period") and not d.has("token_period"):
            role["token_period"] = d.get("period")
        if d.has("explicit_max_ttl") and not d.has("token_explicit_max_ttl"):
            role["token_explicit_max_ttl"] = d.get("explicit_max_ttl")
        role["allowed_policies"] = sanitize_policy_names(role.get("allowed_policies") or [], add_default=False)
        await roles.put(f"roles/{name}", orjson.dumps(role))

    async def role_delete(req: Request, d: FieldData) -> None:
        await roles.delete(f"roles/{d.get('role_name')}")

    async def role_list(req: Request, d: FieldData) -> Response | None:
        keys = await roles.list("roles/")
        return Response(data={"keys": keys}) if keys else None

    async def role_exists(req: Request, d: FieldData) -> bool:
        return await load_role(d.get("role_name")) is not None

    async def tidy(req: Request, d: FieldData) -> Response:
        await store.tidy()
        await core.expiration.tidy()
        return Response(warnings=["Tidy operation successfully started. Any information from the operation "
                                  "will be printed to Strongroom's server logs."], raw_status=202)

    tok = {"token": Field(S, "Token", sensitive=True), "increment": Field(D)}
    acc = {"accessor": Field(S), "increment": Field(D)}
    inc = {"increment": Field(D)}
    return Backend(
        paths=[
            Path("create", {Op.UPDATE: h_create}, fields=CREATE_FIELDS, help_synopsis="Create a child token."),
            Path("create-orphan", {Op.UPDATE: h_create_orphan}, fields=CREATE_FIELDS),
            Path(r"create/(?P<role_name>[\w.-]+)", {Op.UPDATE: h_create}, fields=CREATE_FIELDS),
            Path("lookup", {Op.UPDATE: lookup, Op.READ: lookup}, fields=tok),
            Path("lookup-self", {Op.READ: lookup_self, Op.UPDATE: lookup_self}, fields=tok),
            Path("lookup-accessor", {Op.UPDATE: lookup_accessor}, fields=acc),
            Path("renew", {Op.UPDATE: renew}, fields=tok),
            Path("renew-self", {Op.UPDATE: renew_self}, fields={**inc, "token": Field(S, sensitive=True)}),
            Path("renew-accessor", {Op.UPDATE: renew_accessor}, fields=acc),
            Path("revoke", {Op.UPDATE: revoke}, fields=tok),
            Path("revoke-self", {Op.UPDATE: revoke_self}),
            Path("revoke-accessor", {Op.UPDATE: revoke_accessor}, fields=acc),
            Path("revoke-orphan", {Op.UPDATE: revoke_orphan}, fields=tok),
            Path("accessors/?", {Op.LIST: list_accessors}),
            Path("roles/?", {Op.LIST: role_list}),
            Path(r"roles/(?P<role_name>[\w.-]+)", {Op.READ: role_read, Op.UPDATE: role_write,
                                                   Op.DELETE: role_delete},
                 fields=ROLE_FIELDS, existence_check=role_exists),
            Path("tidy", {Op.UPDATE: tidy}),
        ],
        help="The token credential backend is always enabled and builtin to Strongroom.",
        root_paths=("revoke-orphan", "accessors/*", "accessors/"),
        kind="credential",
    )
