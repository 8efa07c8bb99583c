"""Transit keys ("policies" in Vault's words): versions, min encryption/decryption versions, config; JSON at rest
(inside the barrier, like every engine's storage)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from strongroom.crypto import transit as tc
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.storage import Storage


@dataclass
class TransitKey:
    name: str
    type: str = "aes256-gcm96"
    versions: dict[int, tc.KeyVersion] = field(default_factory=dict)
    latest_version: int = 0
    min_decryption_version: int = 1
    min_encryption_version: int = 0
    min_available_version: int = 0
    deletion_allowed: bool = False
    exportable: bool = False
    allow_plaintext_backup: bool = False
    derived: bool = False
    convergent_encryption: bool = False
    auto_rotate_period: int = 0
    last_rotated: float = 0.0

    @property
    def symmetric(self) -> bool:
        return self.type in tc.SYMMETRIC

    @property
    def asymmetric(self) -> bool:
        return self.type in tc.ASYMMETRIC

    def rotate(self) -> None:
        now = time.time()
        self.latest_version += 1
        self.versions[self.latest_version] = tc.new_version(self.type, now)
        self.last_rotated = now

    def encryption_version(self, requested: int = 0) -> int:
        v = requested or self.latest_version
        if v > self.latest_version:
            raise InvalidRequest("requested version for encryption is greater than the latest key version")
        if v < self.min_encryption_version:
            raise InvalidRequest("requested version for encryption is less than the minimum encryption key version")
        return v

    def version_for_decrypt(self, v: int) -> tc.KeyVersion:
        if v < self.min_decryption_version:
            raise InvalidRequest("ciphertext or signature version is disallowed by policy (too old)")
        kv = self.versions.get(v)
        if kv is None:
            raise InvalidRequest("ciphertext or signature version is not available (trimmed or never existed)")
        return kv

    def to_json(self) -> bytes:
        d: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k != "versions"}
        d["versions"] = {str(k): v.to_json() for k, v in self.versions.items()}
        return orjson.dumps(d)

    @classmethod
    def from_json(cls, raw: bytes) -> TransitKey:
        d = orjson.loads(raw)
        versions = {int(k): tc.KeyVersion.from_json(v) for k, v in d.pop("versions").items()}
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__}, versions=versions)

    def api_view(self) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        for v, kv in sorted(self.versions.items()):
            if self.asymmetric:
                keys[str(v)] = {"creation_time": _rfc3339(kv.creation_time), "name": self.type,
                                "public_key": tc.public_key_for_api(self.type, kv)}
            else:
                keys[str(v)] = int(kv.creation_time)
        return {
            "name": self.name, "type": self.type, "keys": keys, "latest_version": self.latest_version,
            "min_decryption_version": self.min_decryption_version,
            "min_encryption_version": self.min_encryption_version,
            "min_available_version": self.min_available_version, "deletion_allowed": self.deletion_allowed,
            "exportable": self.exportable, "allow_plaintext_backup": self.allow_plaintext_backup,
            "derived": self.derived, "convergent_encryption": self.convergent_encryption,
            "auto_rotate_period": self.auto_rotate_period, "imported_key": False,
            "supports_encryption": self.symmetric, "supports_decryption": self.symmetric,
            "supports_derivation": self.symmetric, "supports_signing": self.asymmetric,
            "kdf": "hkdf_sha256" if self.derived else None,
        }


def _rfc3339(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KeyStore:
    """Caches decoded keys; a per-name lock makes rotate/config read-modify-write atomic."""

    def __init__(self) -> None:
        self._cache: dict[str, TransitKey] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def get(self, storage: Storage, name: str) -> TransitKey | None:
        k = self._cache.get(name)
        if k is not None:
            return k
        raw = await storage.get(f"policy/{name}")
        if raw is None:
            return None
        k = TransitKey.from_json(raw)
        self._cache[name] = k
        return k

    async def put(self, storage: Storage, key: TransitKey) -> None:
        await storage.put(f"policy/{key.name}", key.to_json())
        self._cache[key.name] = key

    async def delete(self, storage: Storage, name: str) -> None:
        await storage.delete(f"policy/{name}")
        self._cache.pop(name, None)

    async def names(self, storage: Storage) -> list[str]:
        return [n for n in await storage.list("policy/") if not n.endswith("/")]
