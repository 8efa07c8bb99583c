"""roles/:name (dynamic roles) and creds/:name (issue a leased user), plus the `creds` secret type."""

from __future__ import annotations

import time
from typing import Any

from strongroom.engines.database import ops
from strongroom.engines.database.credentials import DEFAULT_USERNAME_TEMPLATE, generate_password, render_username
from strongroom.engines.database.plugin import DatabaseError
from strongroom.engines.database.statements import parse_statements
from strongroom.engines.database.store import DatabaseStore, Role
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import BackendConfig, Field, FieldData, FieldType, Path, SecretType, generic_name
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response, SecretInfo

SYSTEM_DEFAULT_TTL = 32 * 24 * 3600  # the core's default when neither role nor mount sets one
STATEMENT_FIELDS = ("creation_statements", "revocation_statements", "rollback_statements", "renew_statements")
FIELDS = {
    "name": Field(FieldType.STRING, "Name of the role."),
    "db_name": Field(FieldType.STRING, "Name of the database connection to use."),
    "creation_statements": Field(FieldType.SLICE, "Statements creating the user (required)."),
    "revocation_statements": Field(FieldType.SLICE, "Statements dropping the user."),
    "rollback_statements": Field(FieldType.SLICE, "Statements undoing a failed creation."),
    "renew_statements": Field(FieldType.SLICE, "Statements extending the user's validity."),
    "default_ttl": Field(FieldType.DURATION, "Default lease TTL."),
    "max_ttl": Field(FieldType.DURATION, "Maximum lease TTL."),
    "credential_type": Field(FieldType.STRING, "Only 'password'.", default="password"),
    "credential_config": Field(FieldType.MAP, "Credential options (unused for passwords)."),
}


def paths(store: DatabaseStore, config: BackendConfig) -> list[Path]:
    async def exists(req: Request, d: FieldData) -> bool:
        assert req.storage is not None
        return await store.role(req.storage, d.get("name")) is not None

    async def write(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        name = d.get("name")
        role = await store.role(req.storage, name) or Role(name=name, db_name="", creation_statements=[])
        if d.has("db_name"):
            role.db_name = d.get("db_name")
        for key in STATEMENT_FIELDS:
            if d.has(key):
                setattr(role, key, parse_statements(d.raw[key], key))
        for key in ("default_ttl", "max_ttl", "credential_type", "credential_config"):
            if d.has(key):
                setattr(role, key, d.get(key))
        _validate(role, config.max_lease_ttl)
        await store.put_role(req.storage, role)

    async def read(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        role = await store.role(req.storage, d.get("name"))
        return None if role is None else Response(data=role.public())

    async def delete(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        await req.storage.delete(f"role/{d.get('name')}")

    async def list_(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        keys = await req.storage.list("role/")
        return Response(data={"keys": keys}) if keys else None

    async def creds(req: Request, d: FieldData) -> Response:
        assert req.storage is not None
        role = await store.role(req.storage, d.get("name"))
        if role is None:
            raise InvalidRequest(f"unknown role: {d.get('name')}")
        cfg, plugin = await store.plugin(req.storage, role.db_name)
        if not cfg.allows(role.name):
            raise InvalidRequest(f"{role.name!r} is not an allowed role")
        ttl = role.default_ttl or config.default_lease_ttl or SYSTEM_DEFAULT_TTL
        max_ttl = role.max_ttl or config.max_lease_ttl or 0
        if max_ttl:
            ttl = min(ttl, max_ttl)
        username = render_username(cfg.username_template or DEFAULT_USERNAME_TEMPLATE,
                                   req.display_name or "token", role.name)
        password = generate_password()
        await ops.create_user(store, req.storage, cfg, plugin, role, username, password, time.time() + ttl)
        internal = {"username": username, "role": role.name, "db_name": role.db_name}
        return Response(data={"username": username, "password": password},
                        secret=SecretInfo("creds", ttl=ttl, max_ttl=max_ttl, internal=internal))

    return [
        Path(r"roles/?$", {Op.LIST: list_}, help_synopsis="List dynamic roles."),
        Path(f"roles/{generic_name('name')}", {Op.UPDATE: write, Op.CREATE: write, Op.READ: read,
                                                Op.DELETE: delete},
             fields=FIELDS, existence_check=exists, help_synopsis="Manage a dynamic role."),
        Path(f"creds/{generic_name('name')}", {Op.READ: creds}, fields={"name": FIELDS["name"]},
             help_synopsis="Issue credentials for a dynamic role (leased)."),
    ]


def _validate(role: Role, mount_max: int) -> None:
    if not role.db_name:
        raise InvalidRequest("empty database name attribute")
    if not role.creation_statements:
        raise InvalidRequest("creation_statements must be specified")
    if role.credential_type != "password":
        raise InvalidRequest("credential_type must be 'password' (the only type the PostgreSQL plugin supports)")
    if role.max_ttl and role.default_ttl > role.max_ttl:
        raise InvalidRequest("ttl cannot be greater than max_ttl")
    if mount_max and role.max_ttl > mount_max:
        raise InvalidRequest("max_ttl cannot be greater than the mount's max_lease_ttl")


def secret_type(store: DatabaseStore, config: BackendConfig) -> SecretType:
    """Renew runs the role's renew statements (default: ALTER ROLE ... VALID UNTIL); revoke drops the user."""

    async def revoke(req: Request, internal: dict[str, Any]) -> None:
        assert req.storage is not None
        role = await store.role(req.storage, str(internal.get("role", "")))
        db_name = role.db_name if role is not None else str(internal["db_name"])
        _, plugin = await store.plugin(req.storage, db_name)
        try:
            await ops.revoke_user(plugin, str(internal["username"]), role.revocation_statements if role else [])
        except DatabaseError as exc:
            raise InvalidRequest(f"revoking the database user failed: {exc}") from None

    async def renew(req: Request, internal: dict[str, Any]) -> Response | None:
        assert req.storage is not None and req.secret is not None
        role = await store.role(req.storage, str(internal.get("role", "")))
        if role is None:
            raise InvalidRequest("the lease's role no longer exists; it cannot be renewed")
        now = time.time()
        ttl = req.secret.increment or role.default_ttl or config.default_lease_ttl or SYSTEM_DEFAULT_TTL
        max_ttl = role.max_ttl or config.max_lease_ttl
        if max_ttl and req.secret.issue_time:
            ttl = max(0, min(ttl, int(req.secret.issue_time + max_ttl - now)))
        _, plugin = await store.plugin(req.storage, role.db_name)
        try:
            await ops.renew_user(plugin, str(internal["username"]), role.renew_statements, now + ttl)
        except DatabaseError as exc:
            raise InvalidRequest(f"renewing the database user failed: {exc}") from None
        return Response(secret=SecretInfo("creds", ttl=ttl, max_ttl=max_ttl))

    return SecretType("creds", revoke=revoke, renew=renew)


__all__ = ["paths", "secret_type"]
