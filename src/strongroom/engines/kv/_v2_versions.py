"""KV v2 `delete/:path`, `undelete/:path` and `destroy/:path`: act on a list of version numbers."""

from __future__ import annotations

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv._common import storage_of
from strongroom.engines.kv._v2_context import KV2
from strongroom.sdk import InvalidRequest, Operation, Request, Response
from strongroom.sdk.framework import Field, FieldData, FieldType, Handler, OperationSpec, Path, match_all

PATH_FIELD = Field(FieldType.STRING, "Location of the secret.")


class VersionRoutes:
    def __init__(self, kv: KV2) -> None:
        self.kv = kv

    def soft_delete(self, meta: store.KeyMeta, config: store.Config, versions: list[int]) -> None:
        now = self.kv.clock()
        for n in versions:
            vm = meta.versions.get(n)
            if vm is not None and not vm.destroyed and not vm.is_deleted(now):
                vm.deletion_time = now

    def undelete(self, meta: store.KeyMeta, config: store.Config, versions: list[int]) -> None:
        now = self.kv.clock()
        for n in versions:
            vm = meta.versions.get(n)
            if vm is not None and not vm.destroyed:
                # a restored version gets a fresh delete_version_after deadline counted from now, as in Vault
                vm.deletion_time = self.kv.deletion_time(now, config, meta)

    def destroy(self, meta: store.KeyMeta, config: store.Config, versions: list[int]) -> None:
        for n in versions:
            vm = meta.versions.get(n)
            if vm is not None:
                vm.destroyed = True

    async def _run(self, req: Request, d: FieldData, verb: str) -> Response | None:
        path = d.get("path")
        versions = d.get("versions")
        if not versions:
            raise InvalidRequest("no version number provided" if verb == "destroy"
                                 else "No version number provided")
        st = storage_of(req)
        async with self.kv.locks.hold(path):
            meta = await store.get_meta(st, path)
            if meta is None:
                return None
            config = await store.get_config(st)
            change = {"delete": self.soft_delete, "undelete": self.undelete, "destroy": self.destroy}[verb]
            change(meta, config, versions)
            await store.put_meta(st, path, meta)  # metadata first: a crash leaves data, never a hole
            if verb == "destroy":
                await store.delete_versions(st, path, set(versions))
        await self.kv.changed(path)
        return None

    def _handler(self, verb: str) -> Handler:
        async def run(req: Request, d: FieldData) -> Response | None:
            return await self._run(req, d, verb)

        return run

    def paths(self) -> list[Path]:
        specs = {
            "delete": ("Marks one or more versions as deleted in the KV store.",
                       "The versions to be archived. The versioned data will not be deleted, but it will no "
                       "longer be returned in normal get requests."),
            "undelete": ("Undeletes one or more versions from the KV store.",
                         "The versions to unarchive. The versions will be restored and their data will be "
                         "returned on normal get requests."),
            "destroy": ("Permanently removes one or more versions in the KV store.",
                        "The versions to destroy. Their data will be permanently deleted."),
        }
        return [
            Path(
                pattern=f"{verb}/" + match_all("path"),
                fields={"path": PATH_FIELD, "versions": Field(FieldType.COMMA_INT_SLICE, what)},
                operations={Operation.UPDATE: OperationSpec(self._handler(verb), synopsis)},
                help_synopsis=synopsis,
            )
            for verb, (synopsis, what) in specs.items()
        ]


def version_paths(kv: KV2) -> list[Path]:
    return VersionRoutes(kv).paths()


__all__ = ["VersionRoutes", "version_paths"]
