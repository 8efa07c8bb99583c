"""What every KV v2 route family shares: the per-secret locks, the clock, the change notifier, and the
read-modify-write steps (check-and-set, appending a version) that must run under a secret's lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv._common import Clock, KeyedLocks, Notifier, notify, now_ns
from strongroom.sdk import CASMismatch, InvalidRequest, Storage
from strongroom.sdk.framework import FieldData
from strongroom.sdk.storage import write_all

PRUNE_WARNING = "error occurred when cleaning up old versions, these will be cleaned up on next write: {}"


@dataclass
class KV2:
    on_change: Notifier = None
    clock: Clock = now_ns
    locks: KeyedLocks = field(default_factory=KeyedLocks)

    async def changed(self, path: str) -> None:
        await notify(self.on_change, path)

    def deletion_time(self, created: int, config: store.Config, meta: store.KeyMeta) -> int | None:
        if config.dva_disabled:
            return None
        return store.deletion_time(created, config.delete_version_after, meta.delete_version_after)

    async def append_version(self, storage: Storage, path: str, meta: store.KeyMeta, config: store.Config,
                             data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Writes version current+1, the metadata, then prunes past max_versions (caller holds the lock)."""
        created = self.clock()
        n = meta.current_version + 1
        version = store.version_item(path, n, data, created)
        deletion = self.deletion_time(created, config, meta)
        oldest = meta.oldest_version
        _, to_prune = meta.add_version(created, deletion, config.max_versions)
        # version and metadata land in one atomic commit where the storage allows it
        await write_all(storage, [version, store.meta_item(path, meta)])
        warnings: list[str] = []
        if to_prune:
            try:
                await store.prune_versions(storage, path, oldest, to_prune)
            except Exception as exc:  # the write landed; the next write sweeps what is left (as Vault does)
                warnings.append(PRUNE_WARNING.format(type(exc).__name__))
        return meta.version_api(n), warnings


def _cas_value(raw: Any) -> int:
    """The cas option, decoded as OpenBao does: integers, integer strings (Go base prefixes allowed), booleans
    and null (= 0). JSON numbers with a fraction or exponent are refused, as Go's json.Number.Int64 does."""
    if raw is None:
        return 0
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        s = raw
        if s == "":
            return 0
        digits = s.lstrip("+-")
        if not digits.isalnum():
            raise InvalidRequest("error parsing check-and-set parameter")
        try:
            if digits[:2].lower() in ("0x", "0o", "0b"):
                return int(s, 0)
            if len(digits) > 1 and digits.startswith("0"):
                return int(s, 8)  # Go's ParseInt(s, 0, 64) reads a leading 0 as octal
            return int(s)
        except ValueError:
            pass
    raise InvalidRequest("error parsing check-and-set parameter")


def check_cas(d: FieldData, config: store.Config, meta: store.KeyMeta) -> None:
    options = d.get("options") if d.has("options") else {}
    if "cas" in options:
        if _cas_value(options["cas"]) != meta.current_version:
            raise CASMismatch("check-and-set parameter did not match the current version")
    elif config.cas_required or meta.cas_required:
        raise InvalidRequest("check-and-set parameter required for this call")


__all__ = ["KV2", "check_cas"]
