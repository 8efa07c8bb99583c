"""login {role_id, secret_id} and token renewal for AppRole."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from strongroom.auth.approle.store import AppRoleStore, SecretIDEntry
from strongroom.sdk import Auth, InvalidRequest, Operation, PermissionDenied, Request, Response
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.tokenfields import check_cidrs, fill_auth

INVALID = "invalid role or secret ID"  # one message for every unknown/expired/used-up credential, as OpenBao


async def _use_secret_id(store: AppRoleStore, name: str, secret_id: str, remote: str) -> SecretIDEntry:
    """Checks a secret ID and counts one use (deleting it at its last use or once expired)."""
    sid_hmac = await store.hmac(secret_id)
    entry = await store.secret_id(name, sid_hmac)
    if entry is not None and entry.num_uses == 0 and not entry.expired(time.time()):
        _check_secret_cidrs(entry, remote)  # unlimited uses: nothing to count, no lock on the hot path
        return entry
    async with store.lock:
        entry = await store.secret_id(name, sid_hmac)  # re-read under the lock: another login may have used it
        if entry is None:
            raise InvalidRequest(INVALID)
        if entry.expired(time.time()):
            await store.delete_secret_id(name, sid_hmac)
            raise InvalidRequest(INVALID)
        _check_secret_cidrs(entry, remote)
        if entry.num_uses == 1:
            await store.delete_secret_id(name, sid_hmac)
        elif entry.num_uses > 1:
            entry.num_uses -= 1
            entry.last_updated_time = time.time()
            await store.put_secret_id(name, sid_hmac, entry, new=False)
    return entry


def _check_secret_cidrs(entry: SecretIDEntry, remote: str) -> None:
    if entry.cidr_list and not check_cidrs(entry.cidr_list, remote):
        raise InvalidRequest(f"source address {remote!r} unauthorized through CIDR restrictions on the "
                             "secret ID")


def login_paths(store: AppRoleStore) -> list[Path]:
    async def login(req: Request, d: FieldData) -> Response:
        role_id = d.get("role_id").strip()
        if not role_id:
            raise InvalidRequest("missing role_id")
        found = await store.role_by_id(role_id)
        if found is None:
            raise InvalidRequest(INVALID)
        name, role = found
        remote = req.connection.remote_addr
        metadata: dict[str, str] = {}
        entry: SecretIDEntry | None = None
        if role["bind_secret_id"]:
            secret_id = d.get("secret_id").strip()
            if not secret_id:
                raise InvalidRequest("missing secret_id")
            entry = await _use_secret_id(store, name, secret_id, remote)
            metadata = dict(entry.metadata)
        if role["secret_id_bound_cidrs"] and not check_cidrs(role["secret_id_bound_cidrs"], remote):
            raise InvalidRequest(f"source address {remote!r} unauthorized by CIDR restrictions on the role")
        metadata["role_name"] = name
        auth = fill_auth(role)
        if entry is not None and entry.token_bound_cidrs:
            auth.bound_cidrs = list(entry.token_bound_cidrs)
        auth.metadata = metadata
        auth.display_name = name
        auth.alias_name = role_id
        auth.internal = {"role_name": name}
        return Response(auth=auth)

    return [Path("login", {Operation.UPDATE: login},
                 fields={"role_id": Field(FieldType.STRING, "Unique identifier of the role."),
                         "secret_id": Field(FieldType.STRING, "Secret ID belonging to the role.", sensitive=True)},
                 help_synopsis="Issue a token based on the credentials supplied.")]


def renewer(store: AppRoleStore) -> Callable[[Request, Auth], Awaitable[Auth]]:
    async def renew(req: Request, auth: Auth) -> Auth:
        """Vault's pathLoginRenew: the role must still exist; its TTL/max TTL/period are re-applied."""
        name = str(auth.internal.get("role_name", ""))
        role = await store.role(name) if name else None
        if role is None:
            raise PermissionDenied(f"role {name!r} does not exist during renewal")
        auth.ttl, auth.max_ttl, auth.period = role["token_ttl"], role["token_max_ttl"], role["token_period"]
        return auth
    return renew


__all__ = ["login_paths", "renewer"]
