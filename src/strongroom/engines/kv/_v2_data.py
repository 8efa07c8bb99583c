"""KV v2 `data/:path` (read, write, patch, soft-delete latest) and `subkeys/:path`."""

from __future__ import annotations

from typing import Any

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv._common import check_write_key, merge_patch, param, storage_of
from strongroom.engines.kv._v2_context import KV2, check_cas
from strongroom.sdk import InvalidRequest, NotFound, Operation, Request, Response, StrongroomError
from strongroom.sdk.framework import Field, FieldData, FieldType, OperationSpec, Path, match_all

PATH_FIELD = Field(FieldType.STRING, "Location of the secret.")
VERSION_FIELD = Field(FieldType.INT, "Which version to read; the latest when 0 or not provided.", query=True)
OPTIONS_HELP = ("Options for writing a KV entry. Set the \"cas\" value to use a Check-And-Set operation: 0 "
                "writes only if the key doesn't exist, N only if the current version is N.")


def strip_values(data: dict[str, Any], max_depth: int) -> dict[str, Any]:
    """Vault's subkeys: every leaf (non-map or empty map, or a map at max_depth) becomes None."""

    def walk(node: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in node.items():
            deeper = depth + 1
            if isinstance(v, dict) and v and (max_depth == 0 or deeper <= max_depth):
                out[k] = walk(v, deeper)
            else:
                out[k] = None
        return out

    return walk(data, 1)


class DataRoutes:
    def __init__(self, kv: KV2) -> None:
        self.kv = kv

    async def _read_version(self, req: Request, path: str,
                            wanted: int) -> tuple[store.KeyMeta, int, dict[str, Any] | None] | None:
        """(metadata, version, data or None when deleted/destroyed); None when there is no such version.
        Reads take no lock: if a concurrent write pruned the version between our two reads, look again."""
        st = storage_of(req)
        for _ in range(2):
            meta = await store.get_meta(st, path)
            if meta is None:
                return None
            n = wanted if wanted > 0 else meta.current_version
            vm = meta.versions.get(n)
            if vm is None:
                return None
            if vm.destroyed or vm.is_deleted(self.kv.clock()):
                return meta, n, None
            data = await store.get_version(st, path, n)
            if data is not None:
                return meta, n, data
        raise StrongroomError("could not find version data")

    async def exists(self, req: Request, d: FieldData) -> bool:
        return await store.get_meta(storage_of(req), d.get("path")) is not None

    async def read(self, req: Request, d: FieldData) -> Response | None:
        found = await self._read_version(req, d.get("path"), param(req, d, "version"))
        if found is None:
            return None
        meta, n, data = found
        body = {"data": data, "metadata": meta.version_api(n)}  # sorted keys, as Go writes maps
        # a deleted or destroyed version answers 404 *with* its metadata, as Vault does
        return Response(data=body, raw_status=404 if data is None else None)

    async def write(self, req: Request, d: FieldData) -> Response | None:
        path = d.get("path")
        check_write_key(path)
        if not d.has("data"):
            raise InvalidRequest("no data provided")
        data = d.get("data")
        st = storage_of(req)
        async with self.kv.locks.hold(path):
            config = await store.get_config(st)
            meta = await store.get_meta(st, path) or store.KeyMeta()
            check_cas(d, config, meta)
            out, warnings = await self.kv.append_version(st, path, meta, config, data)
        await self.kv.changed(path)
        return Response(data=out, warnings=warnings)

    async def patch(self, req: Request, d: FieldData) -> Response | None:
        path = d.get("path")
        if not d.has("data"):
            raise InvalidRequest("no data provided")
        st = storage_of(req)
        async with self.kv.locks.hold(path):
            meta = await store.get_meta(st, path)
            if meta is None:
                raise NotFound()
            config = await store.get_config(st)
            check_cas(d, config, meta)
            n = meta.current_version
            vm = meta.versions.get(n)
            if vm is None:
                raise NotFound()
            if vm.destroyed or vm.is_deleted(self.kv.clock()):
                return Response(data=meta.version_api(n), raw_status=404)
            current = await store.get_version(st, path, n)
            if current is None:
                raise StrongroomError("could not find version data")
            patched = merge_patch(current, d.get("data"))
            out, warnings = await self.kv.append_version(st, path, meta, config, patched)
        await self.kv.changed(path)
        return Response(data=out, warnings=warnings)

    async def delete_latest(self, req: Request, d: FieldData) -> Response | None:
        path = d.get("path")
        st = storage_of(req)
        async with self.kv.locks.hold(path):
            meta = await store.get_meta(st, path)
            if meta is None:
                return None
            now = self.kv.clock()
            vm = meta.versions.get(meta.current_version)
            if vm is None or vm.destroyed or vm.is_deleted(now):
                return None
            vm.deletion_time = now
            await store.put_meta(st, path, meta)
        await self.kv.changed(path)
        return None

    async def subkeys(self, req: Request, d: FieldData) -> Response | None:
        found = await self._read_version(req, d.get("path"), param(req, d, "version"))
        if found is None:
            return None
        meta, n, data = found
        keys = None if data is None else strip_values(data, param(req, d, "depth"))
        body = {"metadata": meta.version_api(n), "subkeys": keys}
        return Response(data=body, raw_status=404 if data is None else None)

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern="data/" + match_all("path"),
                fields={
                    "path": PATH_FIELD,
                    "version": VERSION_FIELD,
                    "options": Field(FieldType.MAP, OPTIONS_HELP),
                    "data": Field(FieldType.MAP, "The contents of the data map will be stored and returned "
                                  "on read."),
                },
                operations={
                    Operation.READ: OperationSpec(self.read, "Read a version of a secret (the latest by "
                                                  "default)."),
                    Operation.CREATE: OperationSpec(self.write, "Write a new version of a secret."),
                    Operation.UPDATE: OperationSpec(self.write, "Write a new version of a secret."),
                    Operation.PATCH: OperationSpec(self.patch, "JSON-merge-patch the latest version into a "
                                                   "new one."),
                    Operation.DELETE: OperationSpec(self.delete_latest, "Soft-delete the latest version."),
                },
                existence_check=self.exists,
                help_synopsis="Write, Patch, Read, and Delete data in the Key-Value Store.",
                help_description="Each write creates a new version. A read returns the latest version "
                                 "unless \"version\" is set. Delete marks the latest version deleted; it can "
                                 "be undone.",
            ),
            Path(
                pattern="subkeys/" + match_all("path"),
                fields={
                    "path": PATH_FIELD,
                    "depth": Field(FieldType.INT, "The maximum depth to traverse. No limit if 0 or not "
                                   "provided.", query=True),
                    "version": VERSION_FIELD,
                },
                operations={Operation.READ: OperationSpec(self.subkeys, "Read the structure of a secret "
                                                          "without its values.")},
                help_synopsis="Read the structure of a secret entry from the Key-Value store with the values "
                              "removed.",
                help_description="Leaf values (non-maps and empty maps) become null. With \"depth\" N, keys "
                                 "at depth N are leaves even when they hold maps.",
            ),
        ]


def data_paths(kv: KV2) -> list[Path]:
    return DataRoutes(kv).paths()


__all__ = ["DataRoutes", "data_paths", "strip_values"]
