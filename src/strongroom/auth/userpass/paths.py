"""userpass routes: users/ CRUD, password and policy updates, config, login/:username."""

from __future__ import annotations

from typing import Any

import orjson

from strongroom.auth.userpass.passwords import check_password, hash_password, needs_rehash
from strongroom.sdk import Auth, InvalidRequest, Operation, PermissionDenied, Request, Response
from strongroom.sdk.framework import Backend, BackendConfig, Field, FieldData, FieldType, Path, generic_name
from strongroom.sdk.tokenfields import check_cidrs, fill_auth, parse_token_fields, token_data, token_fields

DEPRECATED = ("policies", "ttl", "max_ttl", "bound_cidrs")
USER = "users/" + generic_name("username")
HELP = """The "userpass" credential provider allows authentication using a combination of a username and
password. No additional factors are supported. Passwords are stored as argon2id hashes."""


def _no_default(policies: list[str]) -> set[str]:
    return {p for p in policies if p != "default"}


def build(config: BackendConfig) -> Backend:  # noqa: C901 - a route table (handlers are closures)
    storage = config.storage

    async def load(name: str) -> dict[str, Any] | None:
        raw = await storage.get(f"user/{name.lower()}")
        return None if raw is None else dict(orjson.loads(raw))

    async def save(name: str, user: dict[str, Any]) -> None:
        await storage.put(f"user/{name.lower()}", orjson.dumps(user))

    async def min_length() -> int:
        raw = await storage.get("config")
        if raw is not None:
            return int(orjson.loads(raw).get("password_min_length", 0))
        try:
            return int(config.options.get("password_min_length", "0"))
        except ValueError:
            return 0

    async def new_hash(password: str) -> str:
        if password == "":
            raise InvalidRequest("missing password")
        need = await min_length()
        if len(password) < need:
            raise InvalidRequest(f"password is too short: at least {need} characters are required")
        return await hash_password(password)

    async def exists(req: Request, d: FieldData) -> bool:
        return await load(d.get("username")) is not None

    async def user_write(req: Request, d: FieldData) -> None:
        name = d.get("username").lower()
        user = await load(name)
        create = user is None
        if create and not d.has("password"):
            raise InvalidRequest("missing password")
        tokens = parse_token_fields(d, user or {}, create=create)
        if d.has("password"):
            tokens["password_hash"] = await new_hash(d.get("password"))
        else:
            tokens["password_hash"] = (user or {})["password_hash"]
        await save(name, tokens)

    async def user_read(req: Request, d: FieldData) -> Response | None:
        user = await load(d.get("username"))
        return None if user is None else Response(data=token_data(user))

    async def user_delete(req: Request, d: FieldData) -> None:
        await storage.delete(f"user/{d.get('username').lower()}")

    async def user_list(req: Request, d: FieldData) -> Response | None:
        keys = await storage.list("user/")
        return Response(data={"keys": keys}) if keys else None

    async def must_load(name: str) -> dict[str, Any]:
        user = await load(name)
        if user is None:
            raise InvalidRequest("username does not exist")
        return user

    async def password_write(req: Request, d: FieldData) -> None:
        name = d.get("username")
        user = await must_load(name)
        user["password_hash"] = await new_hash(d.get("password"))
        await save(name, user)

    async def policies_write(req: Request, d: FieldData) -> None:
        name = d.get("username")
        user = await must_load(name)
        user.update(parse_token_fields(d, user, create=False))
        await save(name, user)

    async def config_read(req: Request, d: FieldData) -> Response:
        return Response(data={"password_min_length": await min_length()})

    async def config_write(req: Request, d: FieldData) -> None:
        n = d.get("password_min_length")
        if n < 0:
            raise InvalidRequest("\"password_min_length\" cannot be negative")
        await storage.put("config", orjson.dumps({"password_min_length": n}))

    async def login(req: Request, d: FieldData) -> Response:
        name = d.get("username").lower()
        password = d.get("password")
        if not password:
            raise InvalidRequest("missing password")
        user = await load(name)
        try:
            await check_password(user["password_hash"] if user else None, password)
        except PermissionDenied:
            raise InvalidRequest("invalid username or password") from None  # OpenBao: 400, same message
        assert user is not None
        if not check_cidrs(user.get("token_bound_cidrs", []), req.connection.remote_addr):
            raise PermissionDenied("login request originated from invalid CIDR")
        if needs_rehash(user["password_hash"]):
            user["password_hash"] = await hash_password(password)
            await save(name, user)
        auth = fill_auth(user)
        auth.metadata = {"username": name}
        auth.display_name = name
        auth.alias_name = name
        auth.internal = {"username": name}
        return Response(auth=auth)

    async def renew(req: Request, auth: Auth) -> Auth:
        """Vault's pathLoginRenew: the user must still exist and keep the same policies."""
        name = str(auth.internal.get("username", ""))
        user = await load(name) if name else None
        if user is None:
            raise PermissionDenied("user no longer exists")
        if _no_default(user.get("token_policies", [])) != _no_default(auth.token_policies or auth.policies):
            raise PermissionDenied("policies have changed, not renewing")
        return fill_auth(user, auth)

    user_fields = {"username": Field(FieldType.STRING, "Username for this user."),
                   "password": Field(FieldType.STRING, "Password for this user.", sensitive=True),
                   **token_fields(DEPRECATED)}
    name_field = {"username": Field(FieldType.STRING, "Username for this user.")}
    return Backend(
        paths=[
            Path("users/?", {Operation.LIST: user_list}, help_synopsis="Manage users allowed to authenticate."),
            Path(USER, {Operation.READ: user_read, Operation.UPDATE: user_write, Operation.CREATE: user_write,
                        Operation.DELETE: user_delete},
                 fields=user_fields, existence_check=exists, help_synopsis="Manage a user."),
            Path(USER + "/password", {Operation.UPDATE: password_write},
                 fields={**name_field, "password": Field(FieldType.STRING, "Password for this user.",
                                                         required=True, sensitive=True)},
                 help_synopsis="Reset a user's password."),
            Path(USER + "/policies", {Operation.UPDATE: policies_write},
                 fields={**name_field, "token_policies": token_fields()["token_policies"],
                         "policies": token_fields()["policies"]},
                 help_synopsis="Update the policies associated with a user."),
            Path("config", {Operation.READ: config_read, Operation.UPDATE: config_write},
                 fields={"password_min_length": Field(FieldType.INT, "Minimum password length (0: any "
                                                                     "non-empty password).")},
                 help_synopsis="Password policy of this mount."),
            Path("login/" + generic_name("username"), {Operation.UPDATE: login},
                 fields={**name_field, "password": Field(FieldType.STRING, "Password for this user.",
                                                         sensitive=True)},
                 help_synopsis="Log in with a username and password."),
        ],
        help=HELP,
        unauthenticated_paths=("login", "login/*"),
        kind="credential",
        renew_login=renew,
    )


__all__ = ["build"]
