"""HMAC-SHA256 of everything that could be secret, with a per-device salt, as Vault's audit hashing does."""

from __future__ import annotations

from typing import Any

from strongroom.crypto import hmac_sha256

PREFIX = "hmac-sha256:"


def hash_value(salt: bytes, value: str) -> str:
    return PREFIX + hmac_sha256(salt, value.encode()).hex()


def hash_structure(salt: bytes, value: Any, *, skip_keys: frozenset[str] = frozenset()) -> Any:
    """Every string leaf becomes its HMAC; keys, numbers and booleans stay (they carry no secret by themselves)."""
    if isinstance(value, str):
        return hash_value(salt, value)
    if isinstance(value, dict):
        return {k: (v if k in skip_keys else hash_structure(salt, v)) for k, v in value.items()}
    if isinstance(value, list):
        return [hash_structure(salt, v) for v in value]
    return value
