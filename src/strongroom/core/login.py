"""Turns an auth method's `Auth` into a token (the auth method never mints tokens itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strongroom.core import clock
from strongroom.core.policy.names import sanitize_policy_names
from strongroom.core.tokens.entry import TokenEntry
from strongroom.core.tokens.store import TokenStore

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.request import ApiRequest
    from strongroom.core.router import Route
    from strongroom.sdk.request import Response


def auth_block(token: str, e: TokenEntry, *, now: float) -> dict[str, Any]:
    return {
        "client_token": token,
        "accessor": e.accessor,
        "policies": e.policies,
        "token_policies": e.policies,
        "metadata": e.meta or None,
        # the TTL granted at `now` (rounded: truncating would report 3599 for a fresh 1h token, Vault says 3600)
        "lease_duration": max(0, round(e.expire_time - now)) if e.expire_time else 0,
        "renewable": e.renewable and bool(e.expire_time),
        "entity_id": e.entity_id,
        "token_type": e.type,
        "orphan": e.orphan,
        "mfa_requirement": None,
        "num_uses": max(e.num_uses, 0),
    }


async def issue_login_token(core: Core, resp: Response, route: Route, api: ApiRequest) -> dict[str, Any]:
    auth = resp.auth
    assert auth is not None
    now = clock.now()
    policies = sanitize_policy_names(auth.token_policies or auth.policies,
                                     add_default=not auth.no_default_policy)
    cfg = route.entry.config
    ttl = TokenStore.compute_ttl(
        requested=auth.ttl, period=auth.period, explicit_max=auth.explicit_max_ttl,
        mount_default=int(cfg.get("default_lease_ttl", 0)) or core.config.default_lease_ttl,
        mount_max=auth.max_ttl or int(cfg.get("max_lease_ttl", 0)) or core.config.max_lease_ttl,
        now=now, created=now)
    display = f"{route.entry.path.rstrip('/')}-{auth.display_name}" if auth.display_name else \
        route.entry.path.rstrip("/")
    e = TokenEntry(id_hash="", accessor="", policies=policies, meta=dict(auth.metadata),
                   display_name=display.replace("/", "-"), num_uses=auth.num_uses, ttl=ttl.ttl,
                   explicit_max_ttl=auth.explicit_max_ttl, period=auth.period, renewable=auth.renewable,
                   path=api.path, orphan=True, expire_time=ttl.expire_time, bound_cidrs=list(auth.bound_cidrs),
                   internal={**auth.internal, "mount_accessor": route.entry.accessor,
                             "max_ttl": auth.max_ttl}, creation_time=now)
    token = await core.tokens.create(e)
    return auth_block(token, e, now=now)
