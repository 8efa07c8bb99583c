"""Hybrid RSA-OAEP + AES-256-GCM sealing, byte-compatible with Bitnami Sealed Secrets (kubeseal).

Layout of one sealed value (docs/security/crypto-formats.md, "Sealed Secrets"):

    uint16-BE n | RSA-OAEP(SHA-256, MGF1-SHA-256, label)(session key) [n bytes] | AES-256-GCM(value) | tag(16)

The GCM nonce is twelve zero bytes: safe only because every session key is fresh and used once. The format
carries no version and no key identifier (an upstream choice we must keep for compatibility), so opening
tries every private key; the OAEP label binds the value to its scope (namespace/name, namespace, or nothing).

This module also holds the RSA key and certificate helpers the format needs, so that callers above `crypto`
never touch `_primitives` or `cryptography` directly.
"""

from __future__ import annotations

import base64
import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass

from strongroom.crypto import _primitives as _p
from strongroom.crypto.errors import DecryptionError, FormatError, InvalidKeyError

__all__ = [
    "SESSION_KEY_BYTES",
    "CertificateInfo",
    "RSAPrivateKey",
    "RSAPublicKey",
    "generate_rsa_key",
    "hybrid_open",
    "hybrid_open_any",
    "hybrid_open_first",
    "hybrid_seal",
    "key_fingerprint",
    "load_certificate",
    "load_rsa_private_key",
    "load_rsa_public_key",
    "private_key_pem",
    "public_key_pem",
    "sealing_certificate_pem",
]

RSAPrivateKey = _p.RSAPrivateKey
RSAPublicKey = _p.RSAPublicKey

SESSION_KEY_BYTES = 32
_ZERO_NONCE = bytes(12)
_LEN_PREFIX = 2


def hybrid_seal(public_key: RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    """Seal one value to `public_key` under OAEP `label`. Randomised: two seals of one value differ."""
    session_key = _p.random_bytes(SESSION_KEY_BYTES)
    wrapped = _p.rsa_oaep_encrypt(public_key, session_key, label)
    _, body = _p.aes_gcm_encrypt(session_key, plaintext, None, unsafe_nonce=_ZERO_NONCE)
    return len(wrapped).to_bytes(_LEN_PREFIX, "big") + wrapped + body


def _split(ciphertext: bytes) -> tuple[bytes, bytes]:
    if len(ciphertext) < _LEN_PREFIX:
        raise FormatError("sealed value is too short")
    n = int.from_bytes(ciphertext[:_LEN_PREFIX], "big")
    if len(ciphertext) < _LEN_PREFIX + n:
        raise FormatError("sealed value is too short")
    return ciphertext[_LEN_PREFIX:_LEN_PREFIX + n], ciphertext[_LEN_PREFIX + n:]


def hybrid_open(private_key: RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    """Open one value. Raises FormatError (malformed) or DecryptionError (wrong key, label, or tampered)."""
    wrapped, body = _split(ciphertext)
    session_key = _p.rsa_oaep_decrypt(private_key, wrapped, label)
    if len(session_key) not in (16, 24, 32):  # upstream's aes.NewCipher accepts any AES size when opening
        raise DecryptionError("sealed value holds an invalid session key")
    return _p.aes_gcm_decrypt(session_key, _ZERO_NONCE, body, None)


def hybrid_open_first(private_keys: Iterable[RSAPrivateKey], ciphertext: bytes,
                      label: bytes) -> tuple[int, bytes]:
    """Try each key in order; return (index of the key that opened the value, plaintext)."""
    _split(ciphertext)  # a malformed value is reported as such, not as "no key"
    for index, key in enumerate(private_keys):
        try:
            return index, hybrid_open(key, ciphertext, label)
        except DecryptionError:
            continue
    raise DecryptionError("no key could decrypt the sealed value")


def hybrid_open_any(private_keys: Iterable[RSAPrivateKey], ciphertext: bytes, label: bytes) -> bytes:
    """Try each key in order (callers pass newest first); the first that opens the value wins."""
    return hybrid_open_first(private_keys, ciphertext, label)[1]


# --- key material -------------------------------------------------------------------------------------------

def generate_rsa_key(bits: int = 4096) -> RSAPrivateKey:
    """A new sealing key: RSA, exponent 65537, 4096 bits by default (upstream's `--key-size`)."""
    if bits < 2048:
        raise InvalidKeyError("sealing keys must have at least 2048 bits")
    return _p.rsa_generate(bits)


def private_key_pem(key: RSAPrivateKey) -> bytes:
    """PKCS#1 `RSA PRIVATE KEY` PEM, as the controller stores it in `tls.key`."""
    return _p.private_key_to_pem(key, pkcs1=True)


def public_key_pem(key: RSAPublicKey) -> bytes:
    return _p.public_key_to_pem(key)


def load_rsa_private_key(pem: bytes) -> RSAPrivateKey:
    """PKCS#1 or PKCS#8 unencrypted PEM; RSA only."""
    key = _p.load_private_key_pem(pem)
    if not isinstance(key, _p.RSAPrivateKey):
        raise InvalidKeyError("sealing keys must be RSA")
    return key


def sealing_certificate_pem(key: RSAPrivateKey, *, common_name: str = "",
                            not_before: _dt.datetime | None = None,
                            validity: _dt.timedelta = _dt.timedelta(hours=87600)) -> bytes:
    """Self-signed certificate shaped like upstream's (10 years, encipherOnly, CA, empty DN by default)."""
    cert = _p.sealed_secrets_certificate(key, common_name=common_name, not_before=not_before,
                                         validity=validity)
    return _p.certificate_to_pem(cert)


@dataclass(frozen=True)
class CertificateInfo:
    """What sealing needs from a certificate: its RSA key and validity window (UTC)."""

    public_key: RSAPublicKey
    not_before: _dt.datetime
    not_after: _dt.datetime

    def check_valid(self, now: _dt.datetime | None = None) -> None:
        now = now or _dt.datetime.now(_dt.UTC)
        if now > self.not_after:
            raise InvalidKeyError(f"the certificate expired on {self.not_after.isoformat()}")


def load_certificate(pem: bytes) -> CertificateInfo:
    """First certificate of a PEM bundle; its key must be RSA. Reads no extensions (upstream's KeyUsage
    encipherOnly-without-keyAgreement makes `cryptography` refuse to parse them)."""
    cert = _p.load_certificate_pem(pem)
    key = cert.public_key()
    if not isinstance(key, _p.RSAPublicKey):
        raise InvalidKeyError("the certificate does not hold an RSA public key")
    return CertificateInfo(key, cert.not_valid_before_utc, cert.not_valid_after_utc)


def load_rsa_public_key(pem: bytes) -> RSAPublicKey:
    """A `PUBLIC KEY` (SPKI) PEM holding an RSA key."""
    key = _p.load_public_key_pem(pem)
    if not isinstance(key, _p.RSAPublicKey):
        raise InvalidKeyError("sealing keys must be RSA")
    return key


def key_fingerprint(key: RSAPublicKey) -> str:
    """SSH-style `SHA256:<base64 without padding>` of the public key, as upstream names its keys."""
    blob = base64.b64decode(_p.public_key_to_openssh(key).split()[1])
    return "SHA256:" + base64.b64encode(_p.sha256(blob)).decode().rstrip("=")
