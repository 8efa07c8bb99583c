"""Versioned, key-named, context-bound AEAD values (the barrier's format, documented in
docs/security/crypto-formats.md).

    value = version(1) = 0x01 | term(4, big endian) | nonce(12) | AES-256-GCM ciphertext | tag(16)
    AAD   = the storage path (or another caller-given context)
"""

from __future__ import annotations

import struct

from strongroom.crypto import _primitives as p
from strongroom.crypto.errors import DecryptionError, FormatError, InvalidKeyError

VERSION = 0x01
HEADER = struct.Struct(">BI")
KEY_SIZE = 32


def generate_key() -> bytes:
    return p.random_bytes(KEY_SIZE)


def seal(key: bytes, term: int, plaintext: bytes, aad: bytes) -> bytes:
    if len(key) != KEY_SIZE:
        raise InvalidKeyError("barrier keys are 32 bytes")
    nonce, ct = p.aes_gcm_encrypt(key, plaintext, aad)
    return HEADER.pack(VERSION, term) + nonce + ct


def term_of(value: bytes) -> int:
    if len(value) < HEADER.size + p.GCM_NONCE + 16:
        raise FormatError("value too short to be a sealed value")
    version, term = HEADER.unpack_from(value)
    if version != VERSION:
        raise FormatError(f"unknown sealed value version {version}")
    return int(term)


def open_(key: bytes, value: bytes, aad: bytes) -> bytes:
    term_of(value)
    nonce = value[HEADER.size: HEADER.size + p.GCM_NONCE]
    try:
        return p.aes_gcm_decrypt(key, nonce, value[HEADER.size + p.GCM_NONCE:], aad)
    except DecryptionError:
        raise DecryptionError("sealed value failed authentication (wrong key, wrong path, or tampered)") from None
