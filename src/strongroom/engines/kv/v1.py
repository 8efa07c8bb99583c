"""KV version 1: arbitrary JSON maps stored as-is, one storage entry per secret (Vault's passthrough backend).

A `ttl` (or legacy `lease`) key inside a secret is a hint for readers: the read response carries it as
`lease_duration`, but no lease is created. The response's SecretInfo has type "kv", which this backend does
not declare as a SecretType, so the core returns the duration without registering a lease (Vault
special-cases kv mounts the same way). ttl=0 means "the mount's default lease TTL".
"""

from __future__ import annotations

from strongroom.engines.kv._common import (
    Notifier,
    check_write_key,
    dumps,
    list_prefix,
    loads_map,
    notify,
    storage_of,
)
from strongroom.sdk import InvalidRequest, Operation, Request, Response, SecretInfo
from strongroom.sdk.framework import (
    Backend,
    BackendConfig,
    Field,
    FieldData,
    FieldType,
    OperationSpec,
    Path,
    match_all,
    parse_duration,
)

RESERVED = "_kv/"  # where KV v2 keeps its records, so a v1 mount can be upgraded in place

HELP = """The kv backend reads and writes arbitrary secrets to the backend. The secrets are encrypted by
Strongroom before they reach storage.

TTLs can be set on a per-secret basis with a "ttl" key. It is sent back as lease_duration when the secret is
read, as a hint that readers should re-read the secret before it elapses; nothing is revoked."""


def _ttl_hint(data: dict[str, object], default_ttl: int) -> int:
    raw = data.get("ttl", data.get("lease"))
    if raw is None:
        return default_ttl
    try:
        return parse_duration(raw)
    except ValueError:
        return default_ttl  # Vault ignores an unparsable ttl on read


def build(config: BackendConfig) -> Backend:
    on_change: Notifier = config.on_change

    async def exists(req: Request, d: FieldData) -> bool:
        return await storage_of(req).get(d.get("path")) is not None

    async def read(req: Request, d: FieldData) -> Response | None:
        if d.get("path") == "":
            return None
        raw = await storage_of(req).get(d.get("path"))
        if raw is None:
            return None
        data = loads_map(raw)
        ttl = _ttl_hint(data, config.default_lease_ttl)
        return Response(data=data, secret=SecretInfo(type="kv", ttl=ttl, renewable=False))

    async def write(req: Request, d: FieldData) -> Response | None:
        key = d.get("path")
        check_write_key(key)
        if key.startswith(RESERVED):
            raise InvalidRequest(f"paths below {RESERVED!r} are reserved for the versioned store")
        body = dict(req.data)
        if not body:
            raise InvalidRequest("missing data fields")
        await storage_of(req).put(key, dumps(body))
        await notify(on_change, key)
        return None

    async def delete(req: Request, d: FieldData) -> Response | None:
        key = d.get("path")
        await storage_of(req).delete(key)
        await notify(on_change, key)
        return None

    async def list_keys(req: Request, d: FieldData) -> Response | None:
        keys = await storage_of(req).list(list_prefix(d.get("path")))
        return Response(data={"keys": keys}) if keys else None

    secret_path = Path(
        pattern=match_all("path"),
        fields={"path": Field(FieldType.STRING, "Location of the secret.")},
        operations={
            Operation.READ: OperationSpec(read, "Retrieve the secret at the specified location."),
            Operation.CREATE: OperationSpec(write, "Store a secret at the specified location."),
            Operation.UPDATE: OperationSpec(write, "Store a secret at the specified location."),
            Operation.DELETE: OperationSpec(delete, "Delete the secret at the specified location."),
            Operation.LIST: OperationSpec(list_keys, "List secret entries at the specified location."),
        },
        existence_check=exists,
        takes_arbitrary_input=True,
        help_synopsis="Pass-through secret storage to the storage backend, allowing you to read/write "
                      "arbitrary data into secret storage.",
        help_description="A TTL can be specified when writing with the \"ttl\" field. If given, the duration "
                         "of leases returned by this backend will be set to this value. This is a hint to "
                         "readers; the lease duration does not affect the stored data in any way.",
    )
    return Backend(paths=[secret_path], help=HELP)


__all__ = ["build"]
