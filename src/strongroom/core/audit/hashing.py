"""HMAC-SHA256 of everything that could be secret, with a per-device salt, as Vault's audit hashing does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strongroom.crypto import hmac_sha256
from strongroom.crypto._primitives import hmac_sha256_hex_factory

PREFIX = "hmac-sha256:"


def hash_value(salt: bytes, value: str) -> str:
    return PREFIX + hmac_sha256(salt, value.encode()).hex()


class Hasher:
    """A device's salted hasher: the keyed HMAC state is prepared once per device."""

    def __init__(self, salt: bytes) -> None:
        self._mac: Callable[[bytes], str] = hmac_sha256_hex_factory(salt)

    def __call__(self, value: str) -> str:
        return PREFIX + self._mac(value.encode())

    def structure(self, value: Any, skip_keys: frozenset[str] = frozenset()) -> Any:
        """Every string leaf becomes its HMAC; keys, numbers and booleans stay. Returns new containers."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: (v if k in skip_keys else self.structure(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.structure(v) for v in value]
        return value


def hash_structure(salt: bytes, value: Any, *, skip_keys: frozenset[str] = frozenset()) -> Any:
    return Hasher(salt).structure(value, skip_keys)
