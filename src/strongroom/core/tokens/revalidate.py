"""Re-validation of login tokens on renewal. Vault's auth methods only re-check that the role still exists
(pain point 12): here the auth method that issued the token is asked again, and a PermissionDenied from it
revokes the token (the service account, pod, user or role is gone). An unavailable dependency (503) fails the
renewal without revoking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.context import caller
from strongroom.core.tokens.entry import TokenEntry
from strongroom.sdk.errors import PermissionDenied
from strongroom.sdk.operations import Operation
from strongroom.sdk.request import Auth, Connection, Request

if TYPE_CHECKING:
    from strongroom.core.core import Core


async def revalidate_login(core: Core, e: TokenEntry, increment: int) -> None:
    accessor = e.internal.get("mount_accessor")
    route = core.router.by_accessor(str(accessor)) if accessor else None
    if route is None or route.entry.kind != "auth" or route.backend.renew_login is None:
        return
    req = Request(operation=Operation.RENEW, path="login", storage=route.view, mount_point=route.prefix,
                  mount_type=route.entry.type, mount_accessor=route.entry.accessor,
                  connection=Connection(caller().remote_addr))
    auth = Auth(policies=list(e.policies), token_policies=list(e.policies), metadata=dict(e.meta),
                internal=dict(e.internal), ttl=e.ttl, period=e.period, explicit_max_ttl=e.explicit_max_ttl,
                max_ttl=int(e.internal.get("max_ttl", 0)), num_uses=max(e.num_uses, 0), increment=increment)
    try:
        new = await route.backend.renew_login(req, auth)
    except PermissionDenied:
        await core.tokens.revoke_tree(e)
        raise
    if new is not None:  # the method re-applies the role's TTL / max TTL / period
        e.period = new.period
        e.internal["max_ttl"] = new.max_ttl
        if new.ttl:
            e.internal["renewed_ttl"] = min(new.ttl, increment or new.ttl)
