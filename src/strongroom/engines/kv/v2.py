"""KV version 2: versioned secrets with check-and-set, soft delete, destroy and per-secret metadata.

Matches Vault/OpenBao's `kv-v2` API: config, data/, metadata/, detailed-metadata/, delete/, undelete/,
destroy/, subkeys/ (tests/engines/test_kv_vs_openbao.py replays request sequences against a real OpenBao).
Check-and-set is atomic within one server process: every read-modify-write of a secret runs under that
secret's asyncio lock. On start, a mount that still holds KV v1 data is upgraded in place.
"""

from __future__ import annotations

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv._common import Clock, now_ns, storage_of
from strongroom.engines.kv._v2_context import KV2
from strongroom.engines.kv._v2_data import data_paths
from strongroom.engines.kv._v2_metadata import FIELDS, MetadataRoutes
from strongroom.engines.kv._v2_versions import version_paths
from strongroom.sdk import InvalidRequest, Operation, Request, Response
from strongroom.sdk.framework import (
    Backend,
    BackendConfig,
    Field,
    FieldData,
    FieldType,
    OperationSpec,
    Path,
    parse_duration,
)

HELP = """This backend provides a versioned key-value store. Secrets are encrypted by Strongroom before they
reach storage. Each key keeps a configurable number of versions, and versions can be read, soft-deleted,
undeleted and destroyed by number."""

CONFIG_FIELDS = ("max_versions", "cas_required", "delete_version_after", "metadata_cas_required")
ROOTS = ("metadata", "data", "delete", "undelete", "destroy")
CLI_VERB = {Operation.CREATE: "put", Operation.UPDATE: "put", Operation.PATCH: "patch", Operation.READ: "get",
            Operation.LIST: "list", Operation.DELETE: "delete"}


def _signed_duration(value: object) -> int:
    """Config's delete_version_after may be negative ("-1s" disables the feature), unlike other durations."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    return parse_duration(value)


def config_path(kv: KV2) -> Path:
    async def read(req: Request, d: FieldData) -> Response | None:
        config = await store.get_config(storage_of(req))
        return Response(data=config.api())

    async def write(req: Request, d: FieldData) -> Response | None:
        if not any(d.has(n) for n in CONFIG_FIELDS):
            return None
        st = storage_of(req)
        async with kv.locks.hold("\x00config"):
            config = await store.get_config(st)
            if d.has("max_versions"):
                if d.get("max_versions") < 0:
                    raise InvalidRequest("max_versions must not be negative")
                config.max_versions = d.get("max_versions")
            if d.has("cas_required"):
                config.cas_required = d.get("cas_required")
            if d.has("metadata_cas_required"):
                config.metadata_cas_required = d.get("metadata_cas_required")
            if d.has("delete_version_after"):
                try:
                    dva = _signed_duration(d.get("delete_version_after"))
                except ValueError:
                    raise InvalidRequest("error converting input for field 'delete_version_after': "
                                         "expected duration") from None
                config.delete_version_after = store.DVA_DISABLED if dva < 0 else dva
            await store.put_config(st, config)
        return None

    return Path(
        pattern="config",
        fields={
            "max_versions": Field(FieldType.INT, "The number of versions to keep for each key. Defaults to "
                                  "10"),
            "cas_required": Field(FieldType.BOOL, "If true, the backend will require the cas parameter to be "
                                  "set for each write"),
            "delete_version_after": Field(FieldType.STRING, "If set, the length of time before a version is "
                                          "deleted. A negative duration disables delete_version_after on all "
                                          "keys. A zero duration clears the setting."),
            "metadata_cas_required": Field(FieldType.BOOL, "If true, every metadata write and patch must carry "
                                           "metadata_cas"),
        },
        operations={
            Operation.READ: OperationSpec(read, "Read the backend level settings."),
            Operation.UPDATE: OperationSpec(write, "Configure backend level settings that are applied to "
                                            "every key in the key-value store."),
        },
        help_synopsis="Configures settings for the KV store",
    )


def invalid_path(meta: MetadataRoutes) -> Path:
    """Everything else: Vault answers 404 with a warning pointing at the versioned API. A LIST of the bare
    `metadata` root lists the mount, as Vault's HTTP layer adds the trailing slash LIST implies."""

    async def handler(req: Request, d: FieldData) -> Response | None:
        if req.operation == Operation.LIST and req.path in ("metadata", "detailed-metadata"):
            listing = FieldData({**req.data, "path": ""}, FIELDS)
            listing.validate()
            if req.path == "metadata":
                return await meta.list_keys(req, listing)
            return await meta.list_detailed(req, listing)
        if req.path in ROOTS:
            warning = "Non-listing operations on the root of a K/V v2 mount are not supported."
        else:
            warning = ("Invalid path for a versioned K/V secrets engine. See the API docs for the "
                       "appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv "
                       f"{CLI_VERB.get(req.operation, '')}' for this operation.")
        return Response(warnings=[warning], raw_status=404)

    ops = (Operation.CREATE, Operation.UPDATE, Operation.PATCH, Operation.READ, Operation.LIST,
           Operation.DELETE)
    return Path(pattern=".*", operations=dict.fromkeys(ops, handler), takes_arbitrary_input=True)


def build(config: BackendConfig, *, clock: Clock = now_ns) -> Backend:
    kv = KV2(on_change=config.on_change, clock=clock)
    meta = MetadataRoutes(kv)
    paths = [config_path(kv), *data_paths(kv), *meta.paths(), *version_paths(kv), invalid_path(meta)]

    async def initialize() -> None:
        # a v1 mount tuned to version 2 ("bao kv enable-versioning") keeps its secrets, as in Vault
        await store.upgrade_from_v1(config.storage, clock())

    return Backend(paths=paths, help=HELP, initialize=initialize)


__all__ = ["build"]
