"""role/ and role/:name, role/:name/role-id: AppRole definitions."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from strongroom.auth.approle.store import AppRoleStore
from strongroom.sdk import InvalidRequest, Operation, Request, Response
from strongroom.sdk.framework import Field, FieldData, FieldType, Path, generic_name
from strongroom.sdk.tokenfields import LEGACY_KEY, parse_token_fields, token_data, token_fields

ROLE = "role/" + generic_name("role_name")
NAME = {"role_name": Field(FieldType.STRING, "Name of the role.")}
ROLE_FIELDS: dict[str, Field] = {
    **NAME,
    "bind_secret_id": Field(FieldType.BOOL, "Impose secret_id to be presented when logging in using this role.",
                            default=True),
    "secret_id_bound_cidrs": Field(FieldType.COMMA_STRING_SLICE, "CIDR blocks allowed to log in with secret IDs "
                                                                 "of this role."),
    "secret_id_num_uses": Field(FieldType.INT, "Number of times a secret ID can access the role (0: unlimited)."),
    "secret_id_ttl": Field(FieldType.DURATION, "Duration after which a secret ID expires (0: never)."),
    "local_secret_ids": Field(FieldType.BOOL, "Secret IDs of this role are local to the cluster (set at "
                                              "creation only)."),
    "role_id": Field(FieldType.STRING, "Identifier of the role. Defaults to a UUID."),
    **token_fields(("policies", "period")),
}


def cidrs(values: list[str], field_name: str) -> list[str]:
    out = []
    for c in values:
        try:
            out.append(str(ipaddress.ip_network(c.strip(), strict=False)))
        except ValueError:
            raise InvalidRequest(f"invalid CIDR block {c!r} in {field_name!r}") from None
    return out


def role_view(role: dict[str, Any]) -> dict[str, Any]:
    return {"bind_secret_id": role["bind_secret_id"], "local_secret_ids": role["local_secret_ids"],
            "secret_id_bound_cidrs": role["secret_id_bound_cidrs"] or None,
            "secret_id_num_uses": role["secret_id_num_uses"], "secret_id_ttl": role["secret_id_ttl"],
            **token_data(role)}


def role_paths(store: AppRoleStore) -> list[Path]:  # noqa: C901 - a route table (handlers are closures)
    async def exists(req: Request, d: FieldData) -> bool:
        return await store.role(d.get("role_name")) is not None

    async def write(req: Request, d: FieldData) -> None:
        name = d.get("role_name")
        async with store.lock:
            old = await store.role(name)
            role: dict[str, Any] = dict(old or {})
            create = old is None
            for key in ("bind_secret_id", "secret_id_num_uses", "secret_id_ttl", "local_secret_ids"):
                if d.has(key) or create:
                    role[key] = d.get(key)
            if old is not None and d.has("local_secret_ids") and \
                    d.get("local_secret_ids") != old.get("local_secret_ids"):
                raise InvalidRequest("local_secret_ids can only be modified during role creation")
            if d.has("secret_id_bound_cidrs") or create:
                role["secret_id_bound_cidrs"] = cidrs(d.get("secret_id_bound_cidrs"), "secret_id_bound_cidrs")
            if role["secret_id_num_uses"] < 0:
                raise InvalidRequest("secret_id_num_uses cannot be negative")
            if role["secret_id_ttl"] < 0:
                raise InvalidRequest("secret_id_ttl cannot be negative")
            role.update(parse_token_fields(d, role, create=create))
            if not (role["bind_secret_id"] or role["secret_id_bound_cidrs"] or role["token_bound_cidrs"]):
                raise InvalidRequest("at least one constraint should be enabled on the role")
            new_id = d.get("role_id") if d.has("role_id") else (role.get("role_id") or str(uuid.uuid4()))
            if not new_id.strip():
                raise InvalidRequest("role_id cannot be empty")
            await _claim_role_id(store, name, role.get("role_id", ""), new_id)
            role["role_id"] = new_id
            await store.put_role(name, role)

    async def read(req: Request, d: FieldData) -> Response | None:
        role = await store.role(d.get("role_name"))
        return None if role is None else Response(data=role_view(role))

    async def delete(req: Request, d: FieldData) -> None:
        name = d.get("role_name")
        async with store.lock:
            role = await store.role(name)
            if role is not None:
                await store.delete_role(name, role)

    async def list_roles(req: Request, d: FieldData) -> Response | None:
        keys = await store.roles()
        return Response(data={"keys": keys}) if keys else None

    async def role_id_read(req: Request, d: FieldData) -> Response | None:
        role = await store.role(d.get("role_name"))
        return None if role is None else Response(data={"role_id": role["role_id"]})

    async def role_id_write(req: Request, d: FieldData) -> None:
        name = d.get("role_name")
        new_id = d.get("role_id").strip()
        if not new_id:
            raise InvalidRequest("missing role_id")
        async with store.lock:
            role = await store.role(name)
            if role is None:
                raise InvalidRequest(f"role \"{name}\" does not exist")
            await _claim_role_id(store, name, role["role_id"], new_id)
            role["role_id"] = new_id
            await store.put_role(name, role)

    return [
        Path("role/?", {Operation.LIST: list_roles}, help_synopsis="Lists all the roles registered with the "
                                                                    "backend."),
        Path(ROLE, {Operation.READ: read, Operation.UPDATE: write, Operation.CREATE: write,
                    Operation.DELETE: delete},
             fields=ROLE_FIELDS, existence_check=exists, help_synopsis="Register a role with the backend."),
        Path(ROLE + "/role-id", {Operation.READ: role_id_read, Operation.UPDATE: role_id_write},
             fields={**NAME, "role_id": Field(FieldType.STRING, "Identifier of the role.")},
             help_synopsis="Returns the 'role_id' of the role."),
        *[_property_path(store, suffix, stored, shown, write) for suffix, (stored, shown) in PROPERTIES.items()],
    ]


# role/:name/<suffix> -> (the role field it reads/writes, the names a read shows it under), as Vault's path_role.go
PROPERTIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "policies": ("token_policies", ("policies", "token_policies")),
    "local-secret-ids": ("local_secret_ids", ("local_secret_ids",)),
    "bind-secret-id": ("bind_secret_id", ("bind_secret_id",)),
    "secret-id-bound-cidrs": ("secret_id_bound_cidrs", ("secret_id_bound_cidrs",)),
    "token-bound-cidrs": ("token_bound_cidrs", ("token_bound_cidrs",)),
    "secret-id-num-uses": ("secret_id_num_uses", ("secret_id_num_uses",)),
    "secret-id-ttl": ("secret_id_ttl", ("secret_id_ttl",)),
    "period": ("token_period", ("period", "token_period")),
    "token-num-uses": ("token_num_uses", ("token_num_uses",)),
    "token-ttl": ("token_ttl", ("token_ttl",)),
    "token-max-ttl": ("token_max_ttl", ("token_max_ttl",)),
}
_RESET = {"bind_secret_id": True}  # DELETE puts a property back to its default (zero unless listed)


def _property_path(store: AppRoleStore, suffix: str, stored: str, shown: tuple[str, ...],
                   write_role: Callable[[Request, FieldData], Awaitable[None]]) -> Path:
    """One role property on its own path: read it, set it, or (DELETE) reset it, through the role's own
    validation."""
    fields = {**NAME, **{n: ROLE_FIELDS[n] for n in shown}}

    async def must(d: FieldData) -> dict[str, Any]:
        role = await store.role(d.get("role_name"))
        if role is None:
            raise InvalidRequest(f"role \"{d.get('role_name')}\" does not exist")
        return role

    async def read(req: Request, d: FieldData) -> Response | None:
        role = await store.role(d.get("role_name"))
        if role is None:
            return None
        value = role_view(role)[stored]
        if stored.endswith("_cidrs"):
            value = value or None  # as OpenBao shows an empty CIDR list here
        legacy = [n for n in shown if n != stored and n in role.get(LEGACY_KEY, [])]
        return Response(data={n: value for n in (*legacy, stored)})

    async def update(req: Request, d: FieldData) -> None:
        await must(d)
        if suffix == "local-secret-ids":
            raise InvalidRequest("local_secret_ids can only be modified during role creation")
        if not any(d.has(n) for n in shown):
            raise InvalidRequest(f"missing {shown[-1]}")
        await write_role(req, d)

    async def delete(req: Request, d: FieldData) -> None:
        await must(d)
        if suffix == "local-secret-ids":
            raise InvalidRequest("local_secret_ids can only be modified during role creation")
        reset = FieldData({"role_name": d.get("role_name"), stored: _RESET.get(stored, zero_of(stored))},
                          ROLE_FIELDS)
        await write_role(req, reset)

    ops: dict[Operation, Any] = {Operation.READ: read}
    if suffix != "local-secret-ids":
        ops.update({Operation.UPDATE: update, Operation.DELETE: delete})
    return Path(ROLE + "/" + suffix, ops, fields=fields, help_synopsis=f"Read or change the role's {shown[-1]}.")


def zero_of(name: str) -> Any:
    t = ROLE_FIELDS[name].type
    return [] if t == FieldType.COMMA_STRING_SLICE else 0


async def _claim_role_id(store: AppRoleStore, name: str, old: str, new: str) -> None:
    if old == new:
        return
    owner = await store.role_id_owner(new)
    if owner is not None and owner != name:
        raise InvalidRequest("role_id already in use")
    await store.set_role_id(name, old, new)


__all__ = ["ROLE", "cidrs", "role_paths", "role_view"]
