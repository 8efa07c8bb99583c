"""role/:name/secret-id (generate, list accessors), custom-secret-id, lookups and destroys, tidy/secret-id."""

from __future__ import annotations

import ipaddress
import time
import uuid
from typing import Any

from strongroom.auth.approle.path_role import NAME, ROLE, cidrs
from strongroom.auth.approle.store import AppRoleStore, SecretIDEntry
from strongroom.sdk import InvalidRequest, NotFound, Operation, Request, Response
from strongroom.sdk.framework import Field, FieldData, FieldType, Path

GEN_FIELDS: dict[str, Field] = {
    **NAME,
    "metadata": Field(FieldType.MAP, "Metadata (a JSON object of strings) tied to the secret ID; it becomes the "
                                     "token's metadata."),
    "cidr_list": Field(FieldType.COMMA_STRING_SLICE, "CIDR blocks the secret ID may be used from (a subset of "
                                                     "the role's secret_id_bound_cidrs)."),
    "token_bound_cidrs": Field(FieldType.COMMA_STRING_SLICE, "CIDR blocks that tokens from this secret ID are "
                                                             "bound to."),
    "num_uses": Field(FieldType.INT, "Number of times this secret ID can be used (0: the role's setting)."),
    "ttl": Field(FieldType.DURATION, "Duration after which this secret ID expires (0: the role's setting)."),
}
SID = {**NAME, "secret_id": Field(FieldType.STRING, "The secret ID.", sensitive=True)}
ACC = {**NAME, "secret_id_accessor": Field(FieldType.STRING, "Accessor of the secret ID.")}


def _subset(inner: list[str], outer: list[str]) -> bool:
    if not outer:
        return True
    nets = [ipaddress.ip_network(c, strict=False) for c in outer]
    for c in inner:
        n = ipaddress.ip_network(c, strict=False)
        if not any(n.version == o.version and n.subnet_of(o) for o in nets):  # type: ignore[arg-type]
            return False
    return True


def secret_id_paths(store: AppRoleStore) -> list[Path]:  # noqa: C901 - a route table (handlers are closures)
    async def must_role(name: str) -> dict[str, Any]:
        role = await store.role(name)
        if role is None:
            raise InvalidRequest(f"role \"{name}\" does not exist")
        return role

    async def issue(req: Request, d: FieldData, secret_id: str) -> Response:
        name = d.get("role_name")
        role = await must_role(name)
        if not role["bind_secret_id"]:
            raise InvalidRequest("bind_secret_id is not set on the role")
        cidr_list = cidrs(d.get("cidr_list"), "cidr_list")
        if not _subset(cidr_list, role["secret_id_bound_cidrs"]):
            raise InvalidRequest("failed to verify the CIDR restrictions set on the secret ID: it must be a subset "
                                 "of the role's secret_id_bound_cidrs")
        token_cidrs = cidrs(d.get("token_bound_cidrs"), "token_bound_cidrs")
        if not _subset(token_cidrs, role["token_bound_cidrs"]):
            raise InvalidRequest("token_bound_cidrs must be a subset of the role's token_bound_cidrs")
        num_uses, ttl = d.get("num_uses"), d.get("ttl")
        if num_uses < 0:
            raise InvalidRequest("num_uses cannot be negative")
        if role["secret_id_num_uses"] and (num_uses == 0 or num_uses > role["secret_id_num_uses"]):
            if num_uses > role["secret_id_num_uses"]:
                raise InvalidRequest("num_uses cannot be higher than the role's secret_id_num_uses")
            num_uses = role["secret_id_num_uses"]
        if ttl < 0:
            raise InvalidRequest("ttl cannot be negative")
        if role["secret_id_ttl"] and (ttl == 0 or ttl > role["secret_id_ttl"]):
            if ttl > role["secret_id_ttl"]:
                raise InvalidRequest("ttl cannot be longer than the role's secret_id_ttl")
            ttl = role["secret_id_ttl"]
        metadata = {str(k): v if isinstance(v, str) else str(v) for k, v in d.get("metadata").items()}
        now = time.time()
        entry = SecretIDEntry(accessor=str(uuid.uuid4()), num_uses=num_uses, ttl=ttl, creation_time=now,
                              expiration_time=now + ttl if ttl else 0.0, last_updated_time=now,
                              metadata=metadata, cidr_list=cidr_list, token_bound_cidrs=token_cidrs)
        sid_hmac = await store.hmac(secret_id)
        async with store.lock:
            if await store.secret_id(name, sid_hmac) is not None:
                raise InvalidRequest("secret_id is already registered")
            await store.put_secret_id(name, sid_hmac, entry)
        return Response(data={"secret_id": secret_id, "secret_id_accessor": entry.accessor,
                              "secret_id_num_uses": entry.num_uses, "secret_id_ttl": entry.ttl})

    async def generate(req: Request, d: FieldData) -> Response:
        return await issue(req, d, str(uuid.uuid4()))

    async def custom(req: Request, d: FieldData) -> Response:
        secret_id = d.get("secret_id")
        if not secret_id.strip():
            raise InvalidRequest("missing secret_id")
        return await issue(req, d, secret_id)

    async def list_accessors(req: Request, d: FieldData) -> Response | None:
        name = d.get("role_name")
        await must_role(name)
        keys = []
        for sid_hmac in await store.secret_id_hmacs(name):
            e = await store.secret_id(name, sid_hmac)
            if e is not None:
                keys.append(e.accessor)
        return Response(data={"keys": sorted(keys)}) if keys else None

    async def lookup(req: Request, d: FieldData) -> Response | None:
        name = d.get("role_name")
        await must_role(name)
        if not d.get("secret_id"):
            raise InvalidRequest("missing secret_id")
        e = await store.secret_id(name, await store.hmac(d.get("secret_id")))
        return None if e is None else Response(data=e.view())

    async def destroy(req: Request, d: FieldData) -> None:
        name = d.get("role_name")
        await must_role(name)
        if not d.get("secret_id"):
            raise InvalidRequest("missing secret_id")
        async with store.lock:
            await store.delete_secret_id(name, await store.hmac(d.get("secret_id")))

    async def find_accessor(d: FieldData) -> tuple[str, str, SecretIDEntry]:
        name = d.get("role_name")
        await must_role(name)
        acc = d.get("secret_id_accessor")
        if not acc:
            raise InvalidRequest("missing secret_id_accessor")
        found = await store.by_accessor(name, acc)
        if found is None:
            raise NotFound(f"failed to find accessor entry for secret_id_accessor: {acc!r}")
        return name, found[0], found[1]

    async def accessor_lookup(req: Request, d: FieldData) -> Response:
        _, _, e = await find_accessor(d)
        return Response(data=e.view())

    async def accessor_destroy(req: Request, d: FieldData) -> None:
        async with store.lock:
            name, sid_hmac, _ = await find_accessor(d)
            await store.delete_secret_id(name, sid_hmac)

    async def tidy(req: Request, d: FieldData) -> Response:
        async with store.lock:
            removed = await store.tidy(time.time())
        return Response(warnings=[f"Tidy operation finished: removed {removed} expired or dangling secret ID "
                                  "entries."])

    custom_fields = {**GEN_FIELDS, "secret_id": Field(FieldType.STRING, "The secret ID to register.",
                                                      sensitive=True)}
    return [
        Path(ROLE + "/secret-id/?", {Operation.UPDATE: generate, Operation.LIST: list_accessors},
             fields=GEN_FIELDS, help_synopsis="Generate a secret ID, or list the accessors of secret IDs."),
        Path(ROLE + "/custom-secret-id", {Operation.UPDATE: custom}, fields=custom_fields,
             help_synopsis="Register a secret ID of your choosing."),
        Path(ROLE + "/secret-id/lookup/?", {Operation.UPDATE: lookup}, fields=SID,
             help_synopsis="Read the properties of a secret ID."),
        Path(ROLE + "/secret-id/destroy/?", {Operation.UPDATE: destroy, Operation.DELETE: destroy}, fields=SID,
             help_synopsis="Invalidate a secret ID."),
        Path(ROLE + "/secret-id-accessor/lookup/?", {Operation.UPDATE: accessor_lookup}, fields=ACC,
             help_synopsis="Read the properties of a secret ID by its accessor."),
        Path(ROLE + "/secret-id-accessor/destroy/?", {Operation.UPDATE: accessor_destroy,
                                                      Operation.DELETE: accessor_destroy}, fields=ACC,
             help_synopsis="Invalidate a secret ID by its accessor."),
        Path("tidy/secret-id", {Operation.UPDATE: tidy}, help_synopsis="Remove expired secret IDs."),
    ]


__all__ = ["secret_id_paths"]
