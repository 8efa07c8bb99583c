"""Local keyring file KEK backend, for air-gapped clusters.

File (JSON, mode 0600): {"format": 1, "id": <random lineage id>, "primary": N,
"keys": [{"version": N, "secret": <base64 32 bytes>, "created": <RFC 3339>}]}.
Wrapped seed: b"SRK1" | version (uint32 BE) | nonce (12) | AES-256-GCM(seed), AAD = b"SRK1" | id | version.
The file is re-read when its mtime changes, so `strongroom kms-plugin keyring rotate` takes effect without a
restart; versions are never reused (rotate always appends max+1).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from strongroom.atrest.config import write_atomic
from strongroom.crypto import CryptoError, random_bytes
from strongroom.crypto._primitives import aes_gcm_decrypt, aes_gcm_encrypt
from strongroom.kms.backend import BackendError, BadCiphertext

MAGIC = b"SRK1"


@dataclass(frozen=True)
class Keyring:
    id: str
    primary: int
    keys: dict[int, bytes] = field(repr=False)
    created: dict[int, str] = field(default_factory=dict)


def _load(path: Path) -> Keyring:
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise BackendError(f"cannot read keyring {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError:
        raise BackendError(f"keyring {path} is not valid JSON") from None
    try:
        keys = {int(k["version"]): base64.b64decode(k["secret"], validate=True) for k in doc["keys"]}
        created = {int(k["version"]): str(k.get("created", "")) for k in doc["keys"]}
        ring = Keyring(str(doc["id"]), int(doc["primary"]), keys, created)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BackendError(f"keyring {path} is malformed (needs id, primary, keys[version, secret])") from None
    if ring.primary not in ring.keys or any(len(s) != 32 for s in ring.keys.values()):
        raise BackendError(f"keyring {path}: primary version missing or a key is not 32 bytes")
    return ring


def _dump(ring: Keyring) -> str:
    keys = [
        {"version": v, "secret": base64.b64encode(s).decode(), "created": ring.created.get(v, "")}
        for v, s in sorted(ring.keys.items())
    ]
    return (
        orjson.dumps(
            {"format": 1, "id": ring.id, "primary": ring.primary, "keys": keys}, option=orjson.OPT_INDENT_2
        ).decode()
        + "\n"
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def create(path: str | Path) -> Keyring:
    """Create a new keyring with version 1. Refuses to overwrite an existing file."""
    p = Path(path)
    if p.exists():
        raise BackendError(f"{p} already exists; use `keyring rotate` to add a version")
    ring = Keyring(base64.urlsafe_b64encode(random_bytes(12)).decode(), 1, {1: random_bytes(32)}, {1: _now()})
    write_atomic(p, _dump(ring))
    return ring


def rotate(path: str | Path, *, promote: bool = True) -> int:
    """Append a new version (max + 1); old versions stay for decryption. Returns it.

    With `promote=False` the new version is only added: copy the file to every node first, then `promote`, so no
    plugin ever meets a seed wrapped with a version its copy of the file lacks.
    """
    p = Path(path)
    ring = _load(p)
    version = max(ring.keys) + 1
    keys = {**ring.keys, version: random_bytes(32)}
    primary = version if promote else ring.primary
    write_atomic(p, _dump(Keyring(ring.id, primary, keys, {**ring.created, version: _now()})))
    return version


def promote(path: str | Path, version: int | None = None) -> int:
    """Make `version` (default: the newest) primary. Only forward: an older version cannot become primary."""
    p = Path(path)
    ring = _load(p)
    target = max(ring.keys) if version is None else version
    if target not in ring.keys:
        raise BackendError(f"keyring has no version {target}")
    if target < ring.primary:
        raise BackendError(f"version {target} is older than the primary {ring.primary}; versions only move forward")
    write_atomic(p, _dump(Keyring(ring.id, target, ring.keys, ring.created)))
    return target


def info(path: str | Path) -> dict[str, object]:
    ring = _load(Path(path))
    return {
        "id": ring.id,
        "primary": ring.primary,
        "versions": sorted(ring.keys),
        "created": {str(k): v for k, v in sorted(ring.created.items())},
    }


class KeyringBackend:
    kind = "keyring"

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._mtime = -1
        self._ring = self._reload()

    def _reload(self) -> Keyring:
        with self._lock:
            try:
                mtime = os.stat(self._path).st_mtime_ns
            except OSError as exc:
                raise BackendError(f"cannot stat keyring {self._path}: {exc.strerror}") from None
            if mtime != self._mtime:
                self._ring = _load(self._path)
                self._mtime = mtime
            return self._ring

    @property
    def lineage(self) -> str:
        return f"keyring/{self._ring.id}"

    def current_version(self) -> int:
        return self._reload().primary

    def _aad(self, ring: Keyring, version: int) -> bytes:
        return MAGIC + ring.id.encode() + struct.pack(">I", version)

    def wrap(self, plaintext: bytes) -> tuple[bytes, int]:
        ring = self._reload()
        v = ring.primary
        nonce, ct = aes_gcm_encrypt(ring.keys[v], plaintext, self._aad(ring, v))
        return MAGIC + struct.pack(">I", v) + nonce + ct, v

    def unwrap(self, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 8 + 12 + 16 or not ciphertext.startswith(MAGIC):
            raise BadCiphertext("not a strongroom keyring ciphertext")
        (v,) = struct.unpack(">I", ciphertext[4:8])
        ring = self._reload()
        key = ring.keys.get(v)
        if key is None:
            raise BadCiphertext(f"keyring has no version {v}")
        try:
            return aes_gcm_decrypt(key, ciphertext[8:20], ciphertext[20:], self._aad(ring, v))
        except CryptoError:
            raise BadCiphertext("keyring ciphertext failed authentication") from None

    def close(self) -> None:
        return None
