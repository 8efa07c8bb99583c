"""KV v2 records and their storage layout.

Layout inside the mount's (already encrypted, chrooted) storage, all values JSON via orjson, everything under
`_kv/` so that a KV v1 mount's secrets (which v1 never stores there) can be told apart and upgraded in place:

    _kv/format                      {"v":1, "layout":"kv-v2"}: written once the mount is v2 (fresh or upgraded)
    _kv/config                      {"v":1, "max_versions", "cas_required", "delete_version_after", ...}
    _kv/metadata/<secret path>      one record per secret: settings, custom metadata and every live version's
                                    {created_time, deletion_time, destroyed} (times in ns since the epoch)
    _kv/versions/<sha256(path)>/<n> one record per version: {"v":1, "data": {...}, "created_time"}

Versions live in their own entries so that a write touches two small records no matter how long the history
is; hashing the secret path keeps those keys flat and unambiguous for any path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson

from strongroom.engines.kv._common import dumps, go_duration, loads_map, rfc3339nano
from strongroom.sdk import Storage, StrongroomError
from strongroom.sdk.storage import list_recursive

DEFAULT_MAX_VERSIONS = 10
DVA_DISABLED = -1  # config.delete_version_after < 0 switches the feature off for every key
FORMAT = 1


@dataclass
class Config:
    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: int = 0  # seconds; 0 = unset, -1 = disabled
    metadata_cas_required: bool = False

    @property
    def dva_disabled(self) -> bool:
        return self.delete_version_after == DVA_DISABLED

    def to_json(self) -> bytes:
        return orjson.dumps({"v": FORMAT, **asdict(self)})

    @classmethod
    def from_json(cls, raw: bytes) -> Config:
        d = loads_map(raw)
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def api(self) -> dict[str, Any]:
        # keys in sorted order, as Go's encoding/json writes maps
        return {"cas_required": self.cas_required,
                "delete_version_after": go_duration(self.delete_version_after),
                "max_versions": self.max_versions, "metadata_cas_required": self.metadata_cas_required}


@dataclass
class VersionMeta:
    created_time: int
    deletion_time: int | None = None
    destroyed: bool = False

    def is_deleted(self, now: int) -> bool:
        """Deleted once its deletion time has passed (a future one comes from delete_version_after)."""
        return self.deletion_time is not None and self.deletion_time < now

    def api(self) -> dict[str, Any]:
        return {"created_time": rfc3339nano(self.created_time),
                "deletion_time": rfc3339nano(self.deletion_time),
                "destroyed": self.destroyed}


@dataclass
class KeyMeta:
    current_version: int = 0
    oldest_version: int = 0
    created_time: int | None = None
    updated_time: int | None = None
    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: int = 0
    custom_metadata: dict[str, str] | None = None
    # OpenBao's metadata check-and-set: bumped by every metadata write/patch, never by data writes
    current_metadata_version: int = 0
    metadata_cas_required: bool = False
    versions: dict[int, VersionMeta] = field(default_factory=dict)

    def to_json(self) -> bytes:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "versions"}
        d["versions"] = {str(n): [v.created_time, v.deletion_time, v.destroyed]
                         for n, v in sorted(self.versions.items())}
        return orjson.dumps({"v": FORMAT, **d})

    @classmethod
    def from_json(cls, raw: bytes) -> KeyMeta:
        d = loads_map(raw)
        versions = {int(n): VersionMeta(int(c), None if dt is None else int(dt), bool(x))
                    for n, (c, dt, x) in d.get("versions", {}).items()}
        known = {name: d[name] for name in _META_FIELDS if name in d}  # read on every KV request
        meta = cls(**known, versions=versions)
        meta.custom_metadata = meta.custom_metadata or None
        return meta

    def effective_max_versions(self, config_max: int) -> int:
        # OpenBao/Vault take the larger of the key's and the mount's setting; 0 for both means 10
        return max(self.max_versions, config_max) or DEFAULT_MAX_VERSIONS

    def add_version(self, created: int, deletion: int | None, config_max: int) -> tuple[VersionMeta, int]:
        """Appends a version and slides the max_versions window; returns it and the newest version to prune
        (0 = none). Pruned versions drop out of `versions` here; their data entries are deleted afterwards."""
        vm = VersionMeta(created, deletion)
        self.current_version += 1
        self.versions[self.current_version] = vm
        self.updated_time = created
        if self.created_time is None:
            self.created_time = created
        keep = self.effective_max_versions(config_max)
        if self.current_version - self.oldest_version < keep:
            return vm, 0
        to_delete = self.current_version - keep
        for n in range(self.oldest_version, to_delete + 1):
            self.versions.pop(n, None)
        self.oldest_version = to_delete + 1
        return vm, to_delete

    def version_api(self, n: int) -> dict[str, Any]:
        """The per-version metadata block of data/ and subkeys/ responses."""
        vm = self.versions[n]
        return {"created_time": rfc3339nano(vm.created_time), "custom_metadata": self.custom_metadata,
                "deletion_time": rfc3339nano(vm.deletion_time), "destroyed": vm.destroyed, "version": n}

    def api(self) -> dict[str, Any]:
        return {
            "cas_required": self.cas_required,
            "created_time": rfc3339nano(self.created_time),
            "current_metadata_version": self.current_metadata_version,
            "current_version": self.current_version,
            "custom_metadata": self.custom_metadata,
            "delete_version_after": go_duration(self.delete_version_after),
            "max_versions": self.max_versions,
            "metadata_cas_required": self.metadata_cas_required,
            "oldest_version": self.oldest_version,
            "updated_time": rfc3339nano(self.updated_time),
            "versions": {str(n): v.api() for n, v in sorted(self.versions.items(), key=lambda kv: str(kv[0]))},
        }


_META_FIELDS = tuple(f.name for f in fields(KeyMeta) if f.name != "versions")


def deletion_time(created: int, mount_dva: int, key_dva: int) -> int | None:
    """created + the smaller non-zero of the mount's and the key's delete_version_after (Vault's rule)."""
    candidates = [s for s in (mount_dva, key_dva) if s > 0]
    if not candidates:
        return None
    return created + min(candidates) * 1_000_000_000


ROOT = "_kv/"  # reserved: KV v1 refuses to write below it
FORMAT_KEY = ROOT + "format"
CONFIG_KEY = ROOT + "config"


def _meta_key(path: str) -> str:
    return ROOT + "metadata/" + path


def _versions_prefix(path: str) -> str:
    return ROOT + "versions/" + hashlib.sha256(path.encode()).hexdigest() + "/"


async def get_config(storage: Storage) -> Config:
    raw = await storage.get(CONFIG_KEY)
    return Config() if raw is None else Config.from_json(raw)


async def put_config(storage: Storage, config: Config) -> None:
    await storage.put(CONFIG_KEY, config.to_json())


async def get_meta(storage: Storage, path: str) -> KeyMeta | None:
    raw = await storage.get(_meta_key(path))
    return None if raw is None else KeyMeta.from_json(raw)


async def put_meta(storage: Storage, path: str, meta: KeyMeta) -> None:
    await storage.put(_meta_key(path), meta.to_json())


async def delete_meta(storage: Storage, path: str) -> None:
    await storage.delete(_meta_key(path))


async def list_meta(storage: Storage, prefix: str) -> list[str]:
    return await storage.list(_meta_key(prefix))


async def get_version(storage: Storage, path: str, n: int) -> dict[str, Any] | None:
    raw = await storage.get(_versions_prefix(path) + str(n))
    if raw is None:
        return None
    data = loads_map(raw).get("data")
    if not isinstance(data, dict):
        raise StrongroomError("corrupt version record")
    return data


async def put_version(storage: Storage, path: str, n: int, data: dict[str, Any], created: int) -> None:
    await storage.put(*version_item(path, n, data, created))


def version_item(path: str, n: int, data: dict[str, Any], created: int) -> tuple[str, bytes]:
    return _versions_prefix(path) + str(n), dumps({"v": FORMAT, "data": data, "created_time": created})


def meta_item(path: str, meta: KeyMeta) -> tuple[str, bytes]:
    return _meta_key(path), meta.to_json()


async def delete_versions(storage: Storage, path: str, numbers: Iterable[int]) -> None:
    prefix = _versions_prefix(path)
    for n in numbers:
        await storage.delete(prefix + str(n))


async def prune_versions(storage: Storage, path: str, first: int, upto: int) -> None:
    """Deletes versions first..upto, then keeps walking down while older entries still exist (left behind by
    an earlier prune that failed half-way), as Vault does. Usually one delete and one get per write."""
    await delete_versions(storage, path, range(max(first, 1), upto + 1))
    prefix = _versions_prefix(path)
    n = first - 1
    while n > 0 and await storage.get(prefix + str(n)) is not None:
        await storage.delete(prefix + str(n))
        n -= 1


async def delete_all_versions(storage: Storage, path: str) -> None:
    prefix = _versions_prefix(path)
    for name in await storage.list(prefix):
        await storage.delete(prefix + name)


async def upgrade_from_v1(storage: Storage, now: int) -> int:
    """Makes the mount a v2 store: on first start of a v2 backend, every KV v1 secret (any key outside `_kv/`)
    becomes version 1 of the same path, then its v1 entry is deleted. Idempotent and safe to re-run after a
    crash: a secret that already has v2 metadata is not written again. Entries that are not JSON objects are
    left where they are. Returns how many secrets moved."""
    if await storage.get(FORMAT_KEY) is not None:
        return 0
    moved = 0
    for key in await list_recursive(storage, ""):
        if key.startswith(ROOT):
            continue
        raw = await storage.get(key)
        try:
            data = loads_map(raw) if raw is not None else None
        except ValueError:
            continue
        if data is None:
            continue
        if await get_meta(storage, key) is None:
            meta = KeyMeta()
            await put_version(storage, key, 1, data, now)
            meta.add_version(now, None, 0)
            meta.oldest_version = 1  # as OpenBao's upgrade records it
            await put_meta(storage, key, meta)
        await storage.delete(key)
        moved += 1
    await storage.put(FORMAT_KEY, orjson.dumps({"v": FORMAT, "layout": "kv-v2"}))
    return moved


__all__ = [
    "DEFAULT_MAX_VERSIONS",
    "DVA_DISABLED",
    "ROOT",
    "Config",
    "KeyMeta",
    "VersionMeta",
    "delete_all_versions",
    "delete_meta",
    "delete_versions",
    "deletion_time",
    "get_config",
    "get_meta",
    "get_version",
    "list_meta",
    "prune_versions",
    "put_config",
    "put_meta",
    "put_version",
    "upgrade_from_v1",
]
