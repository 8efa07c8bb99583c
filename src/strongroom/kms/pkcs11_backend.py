"""PKCS#11 KEK backend (python-pkcs11): AES-256 keys that never leave the HSM, wrapped with CKM_AES_GCM.

Versions are AES secret keys sharing one CKA_LABEL, told apart by CKA_ID = version (uint32 BE); the highest
version encrypts. `rotate` generates max+1 inside the token (non-extractable, sensitive).
Wrapped seed: b"SRP1" | version (uint32 BE) | iv (12) | ciphertext||tag, AAD = b"SRP1" | label | version.
One session guarded by a lock: PKCS#11 sessions must not be used from two threads at once.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error, UserAlreadyLoggedIn
from pkcs11.mechanisms import GCMParams

from strongroom.kms.backend import BackendError, BadCiphertext

MAGIC = b"SRP1"


def _open(module: str, token_label: str, pin: str) -> tuple[Any, Any]:
    try:
        lib = pkcs11.lib(module)
        token = lib.get_token(token_label=token_label)
        try:
            return token, token.open(user_pin=pin, rw=True)
        except UserAlreadyLoggedIn:  # login is per process: another session of ours already logged in
            return token, token.open(rw=True)
    except (PKCS11Error, RuntimeError, OSError) as exc:
        raise BackendError(f"cannot open PKCS#11 token {token_label!r}: {exc.__class__.__name__}") from None


def _versions(session: Any, label: str) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}):
        key_id = obj[Attribute.ID]
        if len(key_id) == 4:
            found[struct.unpack(">I", key_id)[0]] = obj
    return found


def rotate(module: str, token_label: str, pin: str, label: str) -> int:
    """Generate version max+1 (or 1) of `label` inside the token; returns it."""
    _, session = _open(module, token_label, pin)
    try:
        version = max(_versions(session, label), default=0) + 1
        session.generate_key(
            KeyType.AES,
            256,
            label=label,
            id=struct.pack(">I", version),
            store=True,
            template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        return version
    except PKCS11Error as exc:
        raise BackendError(f"PKCS#11 key generation failed: {exc.__class__.__name__}") from None
    finally:
        session.close()


class Pkcs11Backend:
    kind = "pkcs11"

    def __init__(self, module: str, token_label: str, pin: str, label: str) -> None:
        self._label = label
        self._lock = threading.Lock()
        self._token, self._session = _open(module, token_label, pin)
        self._lineage = "pkcs11/" + hashlib.sha256(f"{token_label}|{label}".encode()).hexdigest()[:16]
        self._keys: dict[int, Any] = {}
        self.current_version()

    @property
    def lineage(self) -> str:
        return self._lineage

    def current_version(self) -> int:
        with self._lock:
            try:
                self._keys = _versions(self._session, self._label)
            except PKCS11Error as exc:
                raise BackendError(f"PKCS#11 key lookup failed: {exc.__class__.__name__}") from None
        if not self._keys:
            raise BackendError(f"no AES key labelled {self._label!r} on the token: run `kms-plugin pkcs11 rotate`")
        return max(self._keys)

    def _aad(self, version: int) -> bytes:
        return MAGIC + self._label.encode() + struct.pack(">I", version)

    def wrap(self, plaintext: bytes) -> tuple[bytes, int]:
        version = self.current_version()
        with self._lock:
            try:
                iv = self._session.generate_random(96)
                ct = self._keys[version].encrypt(
                    plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, self._aad(version))
                )
            except PKCS11Error as exc:
                raise BackendError(f"PKCS#11 encrypt failed: {exc.__class__.__name__}") from None
        return MAGIC + struct.pack(">I", version) + iv + bytes(ct), version

    def unwrap(self, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 8 + 12 + 16 or not ciphertext.startswith(MAGIC):
            raise BadCiphertext("not a strongroom PKCS#11 ciphertext")
        (version,) = struct.unpack(">I", ciphertext[4:8])
        if version not in self._keys:
            self.current_version()
        key = self._keys.get(version)
        if key is None:
            raise BadCiphertext(f"token has no version {version} of {self._label!r}")
        with self._lock:
            try:
                return bytes(
                    key.decrypt(
                        ciphertext[20:],
                        mechanism=Mechanism.AES_GCM,
                        mechanism_param=GCMParams(ciphertext[8:20], self._aad(version)),
                    )
                )
            except PKCS11Error:
                raise BadCiphertext("PKCS#11 ciphertext failed authentication") from None

    def close(self) -> None:
        with self._lock:
            self._session.close()
