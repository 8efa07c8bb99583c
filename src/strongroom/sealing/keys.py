"""Sealing key pairs, certificates and recovery keys, shaped like upstream's (format notes §6-§7). Pure."""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
from collections.abc import Mapping
from typing import Any

from strongroom.crypto.errors import CryptoError
from strongroom.crypto.hybrid import (
    RSAPrivateKey,
    RSAPublicKey,
    generate_rsa_key,
    load_certificate,
    load_rsa_private_key,
    load_rsa_public_key,
    private_key_pem,
    sealing_certificate_pem,
)
from strongroom.sealing.errors import CertificateError, ManifestError
from strongroom.sealing.manifest import load_manifests
from strongroom.sealing.scope import LABEL_SEALING_KEY

DEFAULT_KEY_BITS = 4096
DEFAULT_KEY_TTL = _dt.timedelta(hours=87600)  # upstream --key-ttl: 10 x 365 days
DEFAULT_KEY_PREFIX = "sealed-secrets-key"


def generate_key_pair(bits: int = DEFAULT_KEY_BITS, *, common_name: str = "",
                      now: _dt.datetime | None = None,
                      validity: _dt.timedelta = DEFAULT_KEY_TTL) -> tuple[RSAPrivateKey, bytes]:
    """A new sealing key and its self-signed certificate PEM (the controller's key generation)."""
    key = generate_rsa_key(bits)
    return key, sealing_certificate_pem(key, common_name=common_name, not_before=now, validity=validity)


def key_pair_secret(private_key: RSAPrivateKey, certificate_pem: bytes, *, namespace: str,
                    prefix: str = DEFAULT_KEY_PREFIX, labels: Mapping[str, str] | None = None,
                    annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `kubernetes.io/tls` Secret upstream stores a key in (generateName, PKCS#1 key, active label)."""
    meta: dict[str, Any] = {"generateName": prefix, "namespace": namespace,
                            "labels": {**(labels or {}), LABEL_SEALING_KEY: "active"}}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(certificate_pem).decode(),
                     "tls.key": base64.b64encode(private_key_pem(private_key)).decode()}}


def certificate_not_before(certificate_pem: bytes) -> _dt.datetime:
    """The ordering time upstream uses by default to pick the latest key."""
    try:
        return load_certificate(certificate_pem).not_before
    except CryptoError as exc:
        raise CertificateError(str(exc)) from None


def load_recipient(pem: bytes, *, now: _dt.datetime | None = None,
                   allow_expired: bool = False) -> RSAPublicKey:
    """The RSA key to seal to, from a CERTIFICATE PEM (first one; expired refused) or a PUBLIC KEY PEM."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in pem:
            info = load_certificate(pem)
            if not allow_expired:
                info.check_valid(now)
            return info.public_key
        if b"-----BEGIN PUBLIC KEY-----" in pem or b"-----BEGIN RSA PUBLIC KEY-----" in pem:
            return load_rsa_public_key(pem)
    except CryptoError as exc:
        raise CertificateError(f"unusable sealing certificate: {exc}") from None
    raise CertificateError("no PEM certificate or public key found")


def _keys_from_manifests(text: bytes) -> list[RSAPrivateKey]:
    keys: list[RSAPrivateKey] = []
    for obj in load_manifests(text, expand_lists=True):
        data = obj.get("data") if obj.get("kind") == "Secret" else None
        if not isinstance(data, Mapping) or not isinstance(data.get("tls.key"), str):
            raise CertificateError("a key backup must be Secrets with data[\"tls.key\"]")
        try:
            pem = base64.b64decode(data["tls.key"], validate=True)
        except (binascii.Error, ValueError):
            raise CertificateError("a key backup's tls.key is not valid base64") from None
        keys.append(load_rsa_private_key(pem))
    return keys


def load_private_keys(data: bytes) -> list[RSAPrivateKey]:
    """Keys from one recovery file: a PEM RSA private key (PKCS#1/PKCS#8), or a YAML/JSON Secret, List of
    Secrets or multi-document backup whose `data["tls.key"]` holds the PEM."""
    try:
        if b"-----BEGIN" in data and b"PRIVATE KEY-----" in data and b"tls.key" not in data:
            return [load_rsa_private_key(data)]
        keys = _keys_from_manifests(data)
    except CryptoError as exc:
        raise CertificateError(f"unusable private key: {exc}") from None
    except ManifestError:
        raise CertificateError("not a PEM private key nor a YAML/JSON key Secret backup") from None
    if not keys:
        raise CertificateError("no private key found")
    return keys
