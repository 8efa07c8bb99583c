"""config/:name (connections), reset/:name, rotate-root/:name."""

from __future__ import annotations

from strongroom.engines.database import ops
from strongroom.engines.database.plugin import DatabaseError
from strongroom.engines.database.statements import parse_statements
from strongroom.engines.database.store import DatabaseStore, DbConfig, new_plugin
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path, generic_name
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

FIELDS = {
    "name": Field(FieldType.STRING, "Name of this database connection."),
    "plugin_name": Field(FieldType.STRING, "The database plugin (postgresql-database-plugin)."),
    "plugin_version": Field(FieldType.STRING, "Plugin version (accepted, only the built-in exists)."),
    "verify_connection": Field(FieldType.BOOL, "Connect once before saving.", default=True),
    "allowed_roles": Field(FieldType.COMMA_STRING_SLICE, "Roles allowed to use this connection; * for all."),
    "root_rotation_statements": Field(FieldType.SLICE, "Statements to rotate the root credential."),
    "password_policy": Field(FieldType.STRING, "Password policy name (not supported: the default is used)."),
    "connection_url": Field(FieldType.STRING, "postgresql://{{username}}:{{password}}@host:5432/db"),
    "username": Field(FieldType.STRING, "Root username, substituted for {{username}}."),
    "password": Field(FieldType.STRING, "Root password, substituted for {{password}}; never returned.",
                      sensitive=True),
    "max_open_connections": Field(FieldType.INT, "Connection pool size.", default=4),
    "max_idle_connections": Field(FieldType.INT, "Idle connections kept (accepted)."),
    "max_connection_lifetime": Field(FieldType.DURATION, "Connections older than this are replaced."),
    "username_template": Field(FieldType.STRING, "Template for generated usernames."),
    "disable_escaping": Field(FieldType.BOOL, "Do not URL-escape the credentials in connection_url."),
}


def paths(store: DatabaseStore) -> list[Path]:
    async def exists(req: Request, d: FieldData) -> bool:
        assert req.storage is not None
        return await store.config(req.storage, d.get("name")) is not None

    async def write(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        name = d.get("name")
        cfg = _merge(await store.config(req.storage, name), name, d)
        plugin = new_plugin(cfg)
        try:
            if cfg.verify_connection:
                await plugin.verify()
        except DatabaseError as exc:
            raise InvalidRequest(f"error creating database object: error verifying connection: {exc}") from None
        finally:
            await plugin.close()
        await store.put_config(req.storage, cfg)
        return None

    async def read(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        cfg = await store.config(req.storage, d.get("name"))
        return None if cfg is None else Response(data=cfg.public())

    async def delete(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        await req.storage.delete(f"config/{d.get('name')}")
        await store.close_plugin(d.get("name"))

    async def list_(req: Request, d: FieldData) -> Response | None:
        assert req.storage is not None
        keys = await req.storage.list("config/")
        return Response(data={"keys": keys}) if keys else None

    async def reset(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        if await store.config(req.storage, d.get("name")) is None:
            raise InvalidRequest(f"no database connection named {d.get('name')!r}")
        await store.close_plugin(d.get("name"))

    async def reload(req: Request, d: FieldData) -> Response:
        """Reconnects every connection that uses the plugin."""
        assert req.storage is not None
        plugin_name, reloaded = d.get("plugin_name"), []
        for name in await req.storage.list("config/"):
            cfg = await store.config(req.storage, name)
            if cfg is not None and cfg.plugin_name == plugin_name:
                await store.close_plugin(name)
                reloaded.append(name)
        return Response(data={"connections": reloaded, "count": len(reloaded)})

    async def rotate_root(req: Request, d: FieldData) -> None:
        assert req.storage is not None
        await ops.rotate_root(store, req.storage, d.get("name"))

    name_only = {"name": FIELDS["name"]}
    return [
        Path(r"config/?$", {Op.LIST: list_}, help_synopsis="List database connections."),
        Path(f"config/{generic_name('name')}", {Op.UPDATE: write, Op.CREATE: write, Op.READ: read,
                                                 Op.DELETE: delete},
             fields=FIELDS, existence_check=exists, help_synopsis="Configure a database connection."),
        Path(f"reset/{generic_name('name')}", {Op.UPDATE: reset}, fields=name_only,
             help_synopsis="Close and reopen a connection's pool."),
        Path(r"reload/(?P<plugin_name>[\w.-]+)", {Op.UPDATE: reload},
             fields={"plugin_name": FIELDS["plugin_name"]}, help_synopsis="Reconnect every connection of a plugin."),
        Path(f"rotate-root/{generic_name('name')}", {Op.UPDATE: rotate_root}, fields=name_only,
             help_synopsis="Rotate the root credential (the new password is known only to Strongroom)."),
    ]


def _merge(cfg: DbConfig | None, name: str, d: FieldData) -> DbConfig:
    """The stored config updated with the request's fields (create needs plugin_name and connection_url)."""
    if cfg is None:
        if not d.get("plugin_name"):
            raise InvalidRequest("plugin_name must be specified")
        if not d.get("connection_url"):
            raise InvalidRequest("connection_url must be specified")
        cfg = DbConfig(name=name, plugin_name=d.get("plugin_name"), connection_url="")
    for key in ("plugin_name", "plugin_version", "connection_url", "username", "password", "password_policy",
                "username_template", "max_open_connections", "max_idle_connections", "max_connection_lifetime",
                "disable_escaping", "allowed_roles", "verify_connection"):
        if d.has(key) or (key == "verify_connection"):
            setattr(cfg, key, d.get(key))
    if d.has("root_rotation_statements"):
        cfg.root_rotation_statements = parse_statements(d.raw["root_rotation_statements"],
                                                        "root_rotation_statements")
    if cfg.password_policy:
        raise InvalidRequest("password_policy is not supported yet: omit it to use the default generator "
                             "(20 characters with upper, lower, digit and dash)")
    if cfg.max_open_connections < 1:
        raise InvalidRequest("max_open_connections must be at least 1")
    if "://" in cfg.connection_url and not cfg.connection_url.startswith(("postgres://", "postgresql://")):
        raise InvalidRequest("connection_url must start with postgresql:// (or be key=value pairs)")
    if cfg.username_template:
        from strongroom.engines.database.credentials import render_username

        render_username(cfg.username_template, "token", "role")  # fails early on a bad template
    return cfg


__all__ = ["paths"]
