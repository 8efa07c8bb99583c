"""static-roles/:name, static-creds/:name, rotate-role/:name and the scheduled rotation pass."""

from __future__ import annotations

import logging
import time

from strongroom.engines.database import cron, ops
from strongroom.engines.database.statements import parse_statements
from strongroom.engines.database.store import DatabaseStore, StaticRole
from strongroom.sdk.errors import InvalidRequest, StrongroomError
from strongroom.sdk.framework import Field, FieldData, FieldType, Path, generic_name
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response
from strongroom.sdk.storage import Storage

log = logging.getLogger("strongroom.database")
FIELDS = {
    "name": Field(FieldType.STRING, "Name of the static role."),
    "db_name": Field(FieldType.STRING, "Name of the database connection."),
    "username": Field(FieldType.STRING, "Existing database user whose password is managed."),
    "rotation_statements": Field(FieldType.SLICE, "Statements setting the new password."),
    "rotation_period": Field(FieldType.DURATION, "Rotate this often (at least 5s)."),
    "rotation_schedule": Field(FieldType.STRING, "5-field cron schedule (instead of rotation_period)."),
    "rotation_window": Field(FieldType.DURATION, "How long after the schedule a rotation may start (>= 1h)."),
    "credential_type": Field(FieldType.STRING, "Only 'password'.", default="password"),
}


def next_rotation(role: StaticRole, after: float) -> float:
    if role.rotation_schedule:
        return cron.parse(role.rotation_schedule).next_after(after)
    return after + role.rotation_period


def _apply(role: StaticRole, d: FieldData) -> None:
    """The request's fields onto the role, validated as Vault does."""
    if d.has("db_name"):
        role.db_name = d.get("db_name")
    if d.has("rotation_statements"):
        role.rotation_statements = parse_statements(d.raw["rotation_statements"], "rotation_statements")
    if d.has("rotation_period") and d.has("rotation_schedule"):
        raise InvalidRequest("mutually exclusive fields rotation_period and rotation_schedule were both "
                             "specified; only one of them can be provided")
    if d.has("rotation_period"):
        role.rotation_period, role.rotation_schedule = d.get("rotation_period"), ""
    if d.has("rotation_schedule"):
        cron.parse(d.get("rotation_schedule"))
        role.rotation_schedule, role.rotation_period = d.get("rotation_schedule"), 0
    if d.has("rotation_window"):
        role.rotation_window = d.get("rotation_window")
    if not role.db_name or not role.username:
        raise InvalidRequest("db_name and username are required")
    if not role.rotation_period and not role.rotation_schedule:
        raise InvalidRequest("one of rotation_period or rotation_schedule is required")
    if role.rotation_period and role.rotation_period < 5:
        raise InvalidRequest("rotation_period must be 5 seconds or more")
    if role.rotation_window and role.rotation_window < 3600:
        raise InvalidRequest("rotation_window must be 3600 seconds (1 hour) or more")


def paths(store: DatabaseStore) -> list[Path]:
    async def exists(req: Request, d: FieldData) -> bool:
        assert req.storage is not None
        return await store.static_role(req.storage, d.get("name")) is not None

    async def write(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        name = d.get("name")
        old = await store.static_role(req.storage, name)
        role = old or StaticRole(name=name, db_name=d.get("db_name"), username=d.get("username"))
        if old is not None and d.has("username") and d.get("username") != old.username:
            raise InvalidRequest("cannot update static role username")
        _apply(role, d)
        cfg = await store.config(req.storage, role.db_name)
        if cfg is None:
            raise InvalidRequest(f"no database connection named {role.db_name!r}")
        if not cfg.allows(name):
            raise InvalidRequest(f"{name!r} is not an allowed role")
        if old is None:  # take over the user now: its password becomes one only Strongroom knows
            await ops.rotate_static(store, req.storage, role, next_rotation)
        else:
            role.next_rotation = next_rotation(role, role.last_rotation or time.time())
            await store.put_static_role(req.storage, role)

    async def read(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        role = await store.static_role(req.storage, d.get("name"))
        return None if role is None else Response(data=role.public())

    async def delete(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        await req.storage.delete(f"static-role/{d.get('name')}")

    async def list_(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        keys = await req.storage.list("static-role/")
        return Response(data={"keys": keys}) if keys else None

    async def creds(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        role = await store.static_role(req.storage, d.get("name"))
        if role is None:
            raise InvalidRequest(f"unknown static role: {d.get('name')}")
        data = role.public()
        data.pop("rotation_statements", None)
        data.pop("db_name", None)
        data.update(password=role.password, ttl=max(0, int(role.next_rotation - time.time())))
        return Response(data=data)

    async def rotate(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        role = await store.static_role(req.storage, d.get("name"))
        if role is None:
            raise InvalidRequest(f"unknown static role: {d.get('name')}")
        await ops.rotate_static(store, req.storage, role, next_rotation)

    name_only = {"name": FIELDS["name"]}
    return [
        Path(r"static-roles/?$", {Op.LIST: list_}, help_synopsis="List static roles."),
        Path(f"static-roles/{generic_name('name')}", {Op.UPDATE: write, Op.CREATE: write, Op.READ: read,
                                                       Op.DELETE: delete},
             fields=FIELDS, existence_check=exists, help_synopsis="Manage a static role."),
        Path(f"static-creds/{generic_name('name')}", {Op.READ: creds}, fields=name_only,
             help_synopsis="The current password of a static role."),
        Path(f"rotate-role/{generic_name('name')}", {Op.UPDATE: rotate}, fields=name_only,
             help_synopsis="Rotate a static role's password now."),
    ]


async def rotate_due(store: DatabaseStore, storage: Storage) -> int:
    """Rotates every static role whose time has come. One failure does not stop the others."""
    n = 0
    now = time.time()
    for name in await storage.list("static-role/"):
        role = await store.static_role(storage, name)
        if role is None or role.next_rotation > now:
            continue
        if role.rotation_window and now > role.next_rotation + role.rotation_window:
            role.next_rotation = next_rotation(role, now)  # missed its window: wait for the next one
            await store.put_static_role(storage, role)
            continue
        try:
            await ops.rotate_static(store, storage, role, next_rotation)
            n += 1
        except StrongroomError as exc:
            log.warning("scheduled rotation of static role %s failed: %s", name, exc.message)
    return n


__all__ = ["next_rotation", "paths", "rotate_due"]
