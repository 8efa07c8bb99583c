"""The exact bytes the Kubernetes API server stores in etcd, per provider (docs/security/crypto-formats.md).

Hand-written because no Python library implements these layouts; the primitives come from
`strongroom.crypto._primitives` (cryptography) and PyNaCl, never from here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.secret
from google.protobuf.message import DecodeError

from strongroom.atrest.config import Key, Provider
from strongroom.crypto import DecryptionError, FormatError, random_bytes
from strongroom.crypto._primitives import (
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    hkdf_expand_sha256,
)
from strongroom.kms._proto import kmsv2_encrypted_object_pb2 as eo_pb2

ENC_PREFIX = b"k8s:enc:"
K8S_PROTO_MAGIC = b"k8s\x00"
SEED_TYPE = eo_pb2.HKDF_SHA256_XNONCE_AES_GCM_SEED
KEY_TYPE = eo_pb2.AES_GCM_KEY

# (ciphertext, key_id, annotations) -> DEK seed (or key, for the legacy AES_GCM_KEY source type)
KmsDecrypt = Callable[[bytes, str, dict[str, bytes]], bytes]


@dataclass(frozen=True)
class Stored:
    """What an etcd value says about itself, read from its prefix (no key needed)."""

    provider: str  # aescbc | aesgcm | secretbox | kms | identity
    name: str  # key name (local providers) or kms provider name; '' for identity
    version: str  # 'v1' / 'v2' for encrypted values, '' for identity
    payload: bytes = field(repr=False)
    key_id: str = ""  # kms v2 only: the KEK key_id recorded in the EncryptedObject


def parse(value: bytes) -> Stored:
    """Split an etcd value into provider, key/provider name and payload. Unknown `k8s:enc:` prefixes raise."""
    if not value.startswith(ENC_PREFIX):
        return Stored("identity", "", "", value)
    parts = value.split(b":", 5)
    if len(parts) < 6 or not parts[4]:
        raise FormatError("truncated k8s:enc: prefix")
    provider, version, name = parts[2].decode(), parts[3].decode(), parts[4].decode(errors="replace")
    if provider not in ("aescbc", "aesgcm", "secretbox", "kms"):
        raise FormatError(f"unknown provider {provider!r} in prefix")
    key_id = ""
    if provider == "kms" and version == "v2":
        key_id = decode_kms_v2(parts[5]).keyID
    return Stored(provider, name, version, parts[5], key_id)


def prefix(provider: str, name: str, version: str = "v1") -> bytes:
    return f"k8s:enc:{provider}:{version}:{name}:".encode()


# --- local providers ------------------------------------------------------------------------------


def seal_local(provider: str, key: Key, plaintext: bytes, etcd_key: bytes) -> bytes:
    """Encrypt like the API server's aescbc / aesgcm / secretbox transformers."""
    if provider == "aesgcm":
        nonce, ct = aes_gcm_encrypt(key.secret, plaintext, etcd_key)
        body = nonce + ct
    elif provider == "aescbc":
        iv, ct = aes_cbc_encrypt(key.secret, plaintext)
        body = iv + ct
    elif provider == "secretbox":
        nonce = random_bytes(nacl.secret.SecretBox.NONCE_SIZE)
        body = nonce + nacl.secret.SecretBox(key.secret).encrypt(plaintext, nonce).ciphertext
    else:
        raise FormatError(f"{provider!r} is not a local provider")
    return prefix(provider, key.name) + body


def open_local(provider: str, key: Key, payload: bytes, etcd_key: bytes) -> bytes:
    if provider == "aesgcm":
        if len(payload) < 12 + 16:
            raise FormatError("aesgcm payload too short")
        return aes_gcm_decrypt(key.secret, payload[:12], payload[12:], etcd_key)
    if provider == "aescbc":
        if len(payload) < 32 or len(payload) % 16:
            raise FormatError("aescbc payload is not IV + whole blocks")
        return aes_cbc_decrypt(key.secret, payload[:16], payload[16:])
    if provider == "secretbox":
        if len(payload) < 24 + 16:
            raise FormatError("secretbox payload too short")
        try:
            return nacl.secret.SecretBox(key.secret).decrypt(payload[24:], payload[:24])
        except nacl.exceptions.CryptoError:
            raise DecryptionError("secretbox authentication failed") from None
    raise FormatError(f"{provider!r} is not a local provider")


# --- KMS v2 ---------------------------------------------------------------------------------------


def decode_kms_v2(payload: bytes) -> eo_pb2.EncryptedObject:
    obj = eo_pb2.EncryptedObject()
    try:
        obj.ParseFromString(payload)
    except DecodeError:
        raise FormatError("kms v2 payload is not an EncryptedObject protobuf") from None
    if not obj.encryptedData or not obj.keyID or not obj.encryptedDEKSource:
        raise FormatError("kms v2 EncryptedObject lacks encryptedData, keyID or encryptedDEKSource")
    return obj


def seal_kms_v2(
    name: str,
    seed: bytes,
    encrypted_seed: bytes,
    key_id: str,
    annotations: dict[str, bytes],
    plaintext: bytes,
    etcd_key: bytes,
) -> bytes:
    """Encrypt like the API server in seed mode (HKDF_SHA256_XNONCE_AES_GCM_SEED, Kubernetes >= 1.29)."""
    info = random_bytes(32)
    dek = hkdf_expand_sha256(seed, info=info)
    nonce, ct = aes_gcm_encrypt(dek, plaintext, etcd_key)
    obj = eo_pb2.EncryptedObject(
        encryptedData=info + nonce + ct,
        keyID=key_id,
        encryptedDEKSource=encrypted_seed,
        annotations=annotations,
        encryptedDEKSourceType=SEED_TYPE,
    )
    body: bytes = obj.SerializeToString()
    return prefix("kms", name, "v2") + body


def open_kms_v2(payload: bytes, etcd_key: bytes, kms_decrypt: KmsDecrypt) -> bytes:
    obj = decode_kms_v2(payload)
    source = kms_decrypt(obj.encryptedDEKSource, obj.keyID, dict(obj.annotations))
    data = obj.encryptedData
    if obj.encryptedDEKSourceType == SEED_TYPE:
        if len(data) < 32 + 12 + 16:
            raise FormatError("kms v2 encryptedData too short")
        dek = hkdf_expand_sha256(source, info=data[:32])
        return aes_gcm_decrypt(dek, data[32:44], data[44:], etcd_key)
    if obj.encryptedDEKSourceType == KEY_TYPE:
        return aes_gcm_decrypt(source, data[:12], data[12:], etcd_key)
    raise FormatError(f"unknown encryptedDEKSourceType {obj.encryptedDEKSourceType}")


def split_kms_v1(payload: bytes) -> tuple[bytes, bytes]:
    """kms v1: uint16-BE length, encrypted DEK, AES-GCM data. Returns (encrypted DEK, data)."""
    if len(payload) < 2:
        raise FormatError("kms v1 payload too short")
    (n,) = struct.unpack(">H", payload[:2])
    if len(payload) < 2 + n:
        raise FormatError("kms v1 DEK length exceeds payload")
    return payload[2 : 2 + n], payload[2 + n :]


# --- any value ------------------------------------------------------------------------------------


def open_value(
    providers: list[Provider],
    value: bytes,
    etcd_key: bytes,
    kms_decrypt: Callable[[Provider], KmsDecrypt] | None = None,
) -> tuple[bytes, Stored]:
    """Decrypt an etcd value with whichever provider of `providers` wrote it, as the API server reads."""
    stored = parse(value)
    if stored.provider == "identity":
        return value, stored
    for provider in providers:
        if provider.kind != stored.provider:
            continue
        if provider.kind == "kms":
            if provider.name != stored.name:
                continue
            if stored.version != "v2":
                raise FormatError("kms v1 values cannot be decrypted (KMS v1 is deprecated; no v1 client)")
            if kms_decrypt is None:
                raise FormatError(f"value needs kms provider {stored.name!r}: pass its plugin socket")
            return open_kms_v2(stored.payload, etcd_key, kms_decrypt(provider)), stored
        key = provider.key(stored.name)
        if key is not None:
            return open_local(stored.provider, key, stored.payload, etcd_key), stored
    raise DecryptionError(f"no {stored.provider} key named {stored.name!r} in the EncryptionConfiguration")
