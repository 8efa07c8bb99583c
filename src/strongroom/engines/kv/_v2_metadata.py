"""KV v2 `metadata/:path`: read, write, patch, delete (all versions) and list secrets."""

from __future__ import annotations

import json
from typing import Any

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv._common import check_write_key, list_prefix, merge_patch, param, storage_of
from strongroom.engines.kv._v2_context import KV2
from strongroom.sdk import CASMismatch, InvalidRequest, NotFound, Operation, Request, Response
from strongroom.sdk.framework import Field, FieldData, FieldType, OperationSpec, Path, match_all

MAX_KEYS = 64
MAX_KEY_BYTES = 128
MAX_VALUE_BYTES = 512
PREFIX = "custom_metadata validation failed"
CAS_WARNING = '"cas_required" set to false, but is mandated by backend config. This value will be ignored.'
# scalar settings and the value a JSON null resets them to in a PATCH (merge-patch semantics)
SCALARS: dict[str, Any] = {"max_versions": 0, "cas_required": False, "delete_version_after": 0,
                           "metadata_cas_required": False}
SETTINGS = (*SCALARS, "custom_metadata")
GO_TYPES: dict[type, str] = {dict: "map[string]interface {}", list: "[]interface {}"}


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _multierror(errs: list[str]) -> str:
    """go-multierror's text, which is what Vault puts in the errors array."""
    n = len(errs)
    items = "".join(f"\n\t* {e}" for e in errs)
    return f"{n} error{'s' if n != 1 else ''} occurred:{items}\n\n"


def parse_custom_metadata(raw: dict[str, Any], *, keep_nulls: bool) -> dict[str, Any]:
    """Values become strings as Vault's weak decoding does; with keep_nulls (PATCH) a null means "remove"."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if v is None:
            out[k] = None if keep_nulls else ""
        elif isinstance(v, bool):
            out[k] = "1" if v else "0"
        elif isinstance(v, (str, int, float)):
            out[k] = str(v)
        else:
            raise InvalidRequest(f"{PREFIX}: '' expected type 'string', got unconvertible type "
                                 f"'{GO_TYPES.get(type(v), type(v).__name__)}'")
    return out


def validate_custom_metadata(cm: dict[str, str]) -> None:
    if len(cm) > MAX_KEYS:
        raise InvalidRequest(_multierror([f"{PREFIX}: payload must contain at most {MAX_KEYS} keys, "
                                          f"provided {len(cm)}"]))
    errs: list[str] = []
    for key in sorted(cm):
        value = cm[key]
        klen, vlen = len(key.encode()), len(value.encode())
        if not 0 < klen <= MAX_KEY_BYTES:
            errs.append(f"{PREFIX}: length of key {_q(key)} is {klen} but must be "
                        f"0 < len(key) <= {MAX_KEY_BYTES}")
        if not 0 < vlen <= MAX_VALUE_BYTES:
            errs.append(f"{PREFIX}: length of value for key {_q(key)} is {vlen} but must be "
                        f"0 < len(value) <= {MAX_VALUE_BYTES}")
        if not key.isprintable():
            errs.append(f"{PREFIX}: key {_q(key)} contains unprintable characters")
        if not value.isprintable():
            errs.append(f"{PREFIX}: value for key {_q(key)} contains unprintable characters")
    if errs:
        raise InvalidRequest(_multierror(errs))


def _setting(d: FieldData, name: str) -> Any:
    """A typed setting. Negative durations are refused as OpenBao does; a negative max_versions too (OpenBao
    would wrap it around to 4294967295)."""
    value = d.get(name)
    if name == "delete_version_after" and value < 0:
        raise InvalidRequest(f"error converting input for field \"{name}\": cannot provide negative value "
                             f"'{value}'")
    if name == "max_versions" and value < 0:
        raise InvalidRequest("max_versions must not be negative")
    return value


def _check_metadata_cas(d: FieldData, config: store.Config, meta: store.KeyMeta) -> None:
    if d.has("metadata_cas"):
        if d.get("metadata_cas") != meta.current_metadata_version:
            raise CASMismatch("metadata check-and-set parameter does not match the current version")
    elif config.metadata_cas_required or meta.metadata_cas_required:
        raise InvalidRequest("metadata check-and-set parameter required for this call")


def _cas_warning(d: FieldData, config: store.Config) -> list[str]:
    if d.has("cas_required") and config.cas_required and not d.get("cas_required"):
        return [CAS_WARNING]
    return []


FIELDS = {
    "path": Field(FieldType.STRING, "Location of the secret."),
    "cas_required": Field(FieldType.BOOL, "If true the key will require the cas parameter to be set on all "
                          "write requests. If false, the backend's configuration will be used."),
    "max_versions": Field(FieldType.INT, "The number of versions to keep. If not set, the backend's "
                          "configured max version is used."),
    "delete_version_after": Field(FieldType.DURATION, "The length of time before a version is deleted. If "
                                  "not set, the backend's configured delete_version_after is used; the "
                                  "smaller of the two wins. A zero duration clears the setting."),
    "custom_metadata": Field(FieldType.MAP, "User-provided key-value pairs that describe a secret, "
                             "independent of its versions (at most 64 keys, keys up to 128 bytes, values up "
                             "to 512 bytes)."),
    "metadata_cas_required": Field(FieldType.BOOL, "If true, metadata writes to this key must carry "
                                   "metadata_cas."),
    "metadata_cas": Field(FieldType.INT, "Metadata check-and-set: the write applies only if the key's "
                          "current_metadata_version equals this number (0 for a key without metadata)."),
    "after": Field(FieldType.STRING, "List only entries after this one (for paging).", query=True),
    "limit": Field(FieldType.INT, "Return at most this many entries; all by default.", query=True),
}


class MetadataRoutes:
    def __init__(self, kv: KV2) -> None:
        self.kv = kv

    async def exists(self, req: Request, d: FieldData) -> bool:
        return await store.get_meta(storage_of(req), d.get("path")) is not None

    async def read(self, req: Request, d: FieldData) -> Response | None:
        meta = await store.get_meta(storage_of(req), d.get("path"))
        return None if meta is None else Response(data=meta.api())

    async def write(self, req: Request, d: FieldData) -> Response | None:
        path = d.get("path")
        check_write_key(path)
        if not any(d.has(n) for n in SETTINGS):
            return None  # Vault's fast path: nothing to set, nothing created
        values = {n: _setting(d, n) for n in SCALARS if d.has(n)}
        if d.has("custom_metadata"):
            cm = parse_custom_metadata(d.get("custom_metadata"), keep_nulls=False)
            validate_custom_metadata(cm)
            values["custom_metadata"] = cm or None
        return await self._update(req, d, path, values, None, create=True)

    async def patch(self, req: Request, d: FieldData) -> Response | None:
        path = d.get("path")
        if path == "":
            raise InvalidRequest("missing path")
        values = {n: reset if d.raw[n] is None else _setting(d, n) for n, reset in SCALARS.items() if n in d.raw}
        cm_patch = None
        if d.raw.get("custom_metadata") is not None:
            cm_patch = parse_custom_metadata(d.get("custom_metadata"), keep_nulls=True)
            validate_custom_metadata({k: v for k, v in cm_patch.items() if v is not None})
        return await self._update(req, d, path, values, cm_patch, create=False)

    async def _update(self, req: Request, d: FieldData, path: str, values: dict[str, Any],
                      cm_patch: dict[str, Any] | None, *, create: bool) -> Response | None:
        """Applies settings under the key's lock: metadata check-and-set, then bump the metadata version."""
        st = storage_of(req)
        config = await store.get_config(st)
        warnings = _cas_warning(d, config)
        async with self.kv.locks.hold(path):
            now = self.kv.clock()
            meta = await store.get_meta(st, path)
            if meta is None:
                if not create:
                    raise NotFound()
                meta = store.KeyMeta(created_time=now)
            _check_metadata_cas(d, config, meta)
            for name, value in values.items():
                setattr(meta, name, value)
            if not create and "custom_metadata" in d.raw:
                merged = None if cm_patch is None else merge_patch(meta.custom_metadata or {}, cm_patch)
                if merged:
                    validate_custom_metadata(merged)  # the merged map must respect the limits too
                meta.custom_metadata = merged or None
            meta.current_metadata_version += 1
            meta.updated_time = now
            await store.put_meta(st, path, meta)
        await self.kv.changed(path)
        return Response(warnings=warnings) if warnings else None

    async def delete(self, req: Request, d: FieldData) -> Response | None:
        path = d.get("path")
        st = storage_of(req)
        async with self.kv.locks.hold(path):
            if await store.get_meta(st, path) is None:
                return None
            await store.delete_all_versions(st, path)
            await store.delete_meta(st, path)
        await self.kv.changed(path)
        return None

    async def _list(self, req: Request, d: FieldData) -> tuple[str, list[str]]:
        prefix = list_prefix(d.get("path"))
        keys = await store.list_meta(storage_of(req), prefix)
        after, limit = param(req, d, "after"), param(req, d, "limit")
        if after:
            keys = [k for k in keys if k > after]
        if limit > 0:
            keys = keys[:limit]
        return prefix, keys

    async def list_keys(self, req: Request, d: FieldData) -> Response | None:
        _, keys = await self._list(req, d)
        return Response(data={"keys": keys}) if keys else None

    async def list_detailed(self, req: Request, d: FieldData) -> Response | None:
        """OpenBao's detailed-metadata/: the listing plus each entry's metadata. A folder "a/" carries the
        metadata of the secret "a" when there is one, as OpenBao does."""
        prefix, keys = await self._list(req, d)
        if not keys:
            return None
        info: dict[str, Any] = {}
        for key in keys:
            meta = await store.get_meta(storage_of(req), prefix + key.rstrip("/"))
            if meta is not None:
                info[key] = meta.api()
        return Response(data={"key_info": info, "keys": keys})

    def paths(self) -> list[Path]:
        return [Path(
            pattern="metadata/" + match_all("path"),
            fields=FIELDS,
            operations={
                Operation.READ: OperationSpec(self.read, "Read the metadata and history of a secret."),
                Operation.CREATE: OperationSpec(self.write, "Set a secret's settings and custom metadata."),
                Operation.UPDATE: OperationSpec(self.write, "Set a secret's settings and custom metadata."),
                Operation.PATCH: OperationSpec(self.patch, "Patch a secret's settings and custom metadata."),
                Operation.DELETE: OperationSpec(self.delete, "Permanently delete a secret and all versions."),
                Operation.LIST: OperationSpec(self.list_keys, "List secrets; folders end in '/'."),
            },
            existence_check=self.exists,
            help_synopsis="Allows interaction with key metadata and settings in the KV store.",
            help_description="Read information about a key, write key settings, and permanently delete a key "
                             "and all of its versions.",
        ), Path(
            pattern="detailed-metadata/" + match_all("path"),
            fields={n: FIELDS[n] for n in ("path", "after", "limit")},
            operations={Operation.LIST: OperationSpec(self.list_detailed, "List secrets with their metadata.")},
            help_synopsis="List secrets together with each one's metadata.",
        )]


__all__ = ["FIELDS", "MetadataRoutes", "parse_custom_metadata", "validate_custom_metadata"]
