"""Transit key material and Vault's transit wire formats.

    ciphertext = "vault:v<N>:" + base64(nonce(12) | AEAD ciphertext | tag(16))     (aes256-gcm96, chacha20-poly1305)
    hmac       = "vault:v<N>:" + base64(HMAC(hmac key of version N, input))
    signature  = "vault:v<N>:" + base64(signature)

Derived keys (`derived=true`) use HKDF-SHA256 with the request's context as info. Convergent encryption derives
the nonce from HMAC-SHA256(derived key, context | plaintext), so equal inputs give equal ciphertexts.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from strongroom.crypto import _primitives as p
from strongroom.crypto.errors import DecryptionError, FormatError, InvalidKeyError

SYMMETRIC = ("aes128-gcm96", "aes256-gcm96", "chacha20-poly1305")
ASYMMETRIC = ("ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096")
HMAC_ONLY = ("hmac",)
KEY_TYPES = SYMMETRIC + ASYMMETRIC + HMAC_ONLY
_PREFIX = re.compile(r"^vault:v(\d+):(.*)$", re.S)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not valid base64") from None


def split_versioned(value: str, what: str = "ciphertext") -> tuple[int, bytes]:
    m = _PREFIX.match(value or "")
    if not m:
        raise FormatError(f"invalid {what}: no prefix")
    version = int(m.group(1))
    if version < 1:
        raise FormatError(f"invalid {what}: bad version")
    return version, unb64(m.group(2), what)


def versioned(version: int, data: bytes) -> str:
    return f"vault:v{version}:{b64(data)}"


@dataclass
class KeyVersion:
    """One version of a transit key: symmetric key bytes, an HMAC key, and (asymmetric) a private key PEM."""

    key: bytes
    hmac_key: bytes
    creation_time: float
    private_pem: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"key": b64(self.key), "hmac_key": b64(self.hmac_key), "creation_time": self.creation_time,
                "private_pem": self.private_pem.decode()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KeyVersion:
        return cls(base64.b64decode(d["key"]), base64.b64decode(d["hmac_key"]), float(d["creation_time"]),
                   str(d.get("private_pem", "")).encode())


def new_version(key_type: str, now: float) -> KeyVersion:
    if key_type not in KEY_TYPES:
        raise InvalidKeyError(f"unknown key type {key_type!r}")
    size = 16 if key_type == "aes128-gcm96" else 32
    pem = b""
    if key_type in ASYMMETRIC:
        pem = p.private_key_to_pem(p.generate_asymmetric(key_type))
    return KeyVersion(p.random_bytes(size) if key_type not in ASYMMETRIC else b"", p.random_bytes(32), now, pem)


def _key_for(kv: KeyVersion, *, derived: bool, context: bytes) -> bytes:
    if not derived:
        return kv.key
    if not context:
        raise InvalidKeyError("missing 'context' for key derivation; the key was created with derived=true")
    return p.hkdf_sha256(kv.key, info=context, length=len(kv.key))


def encrypt(key_type: str, kv: KeyVersion, version: int, plaintext: bytes, *, derived: bool = False,
            context: bytes = b"", aad: bytes | None = None, convergent: bool = False) -> str:
    key = _key_for(kv, derived=derived, context=context)
    nonce = None
    if convergent:
        nonce = p.hmac_digest(key, context + plaintext)[:12]
    if key_type == "chacha20-poly1305":
        if nonce is not None:
            raise InvalidKeyError("convergent encryption is supported for AES-GCM keys")
        n, ct = p.chacha_encrypt(key, plaintext, aad)
    elif key_type in ("aes128-gcm96", "aes256-gcm96"):
        n, ct = p.aes_gcm_encrypt(key, plaintext, aad, unsafe_nonce=nonce)
    else:
        raise InvalidKeyError(f"key type {key_type} does not support encryption")
    return versioned(version, n + ct)


def decrypt(key_type: str, kv: KeyVersion, blob: bytes, *, derived: bool = False, context: bytes = b"",
            aad: bytes | None = None) -> bytes:
    key = _key_for(kv, derived=derived, context=context)
    if len(blob) < 12 + 16:
        raise DecryptionError("invalid ciphertext: too short")
    if key_type == "chacha20-poly1305":
        return p.chacha_decrypt(key, blob[:12], blob[12:], aad)
    if key_type in ("aes128-gcm96", "aes256-gcm96"):
        return p.aes_gcm_decrypt(key, blob[:12], blob[12:], aad)
    raise InvalidKeyError(f"key type {key_type} does not support decryption")


def hmac(kv: KeyVersion, version: int, data: bytes, algorithm: str) -> str:
    return versioned(version, p.hmac_digest(kv.hmac_key, data, algorithm))


def verify_hmac(kv: KeyVersion, given: bytes, data: bytes, algorithm: str) -> bool:
    return p.constant_time_eq(p.hmac_digest(kv.hmac_key, data, algorithm), given)


def private_key(kv: KeyVersion) -> Any:
    return p.load_private_key_pem(kv.private_pem)


def public_key_pem(kv: KeyVersion) -> str:
    key = private_key(kv)
    return p.public_key_to_pem(key.public_key()).decode()


def public_key_for_api(key_type: str, kv: KeyVersion) -> str:
    """Vault shows ed25519 public keys as base64 raw bytes, others as PEM."""
    key = private_key(kv)
    if key_type == "ed25519":
        return b64(p.public_key_raw(key.public_key()))
    return p.public_key_to_pem(key.public_key()).decode()


def sign(kv: KeyVersion, version: int, data: bytes, *, hash_name: str, rsa_padding: str, prehashed: bool) -> str:
    return versioned(version, p.sign(private_key(kv), data, hash_name=hash_name, rsa_padding=rsa_padding,
                                     prehashed=prehashed))


def verify(kv: KeyVersion, signature: bytes, data: bytes, *, hash_name: str, rsa_padding: str,
           prehashed: bool) -> None:
    p.verify(private_key(kv).public_key(), signature, data, hash_name=hash_name, rsa_padding=rsa_padding,
             prehashed=prehashed)


def digest(algorithm: str, data: bytes) -> bytes:
    return p.digest(algorithm, data)


def random(n: int) -> bytes:
    return p.random_bytes(n)
