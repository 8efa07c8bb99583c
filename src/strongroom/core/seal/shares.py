"""Collects unseal/rekey/generate-root key shares until the threshold is met."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field

from strongroom.crypto import constant_time_eq, shamir
from strongroom.sdk.errors import InvalidRequest


def decode_share(key: str) -> bytes:
    """Shares arrive hex or base64 (the bao CLI sends what the user typed)."""
    key = key.strip()
    try:
        return bytes.fromhex(key)
    except ValueError:
        pass
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("'key' must be a valid hex or base64 string") from None


@dataclass
class ShareCollector:
    threshold: int
    nonce: str = field(default_factory=lambda: str(uuid.uuid4()))
    shares: list[bytes] = field(default_factory=list)

    @property
    def progress(self) -> int:
        return len(self.shares)

    def add(self, share: bytes) -> bytes | None:
        """Adds a share; returns the combined secret when the threshold is reached."""
        if any(constant_time_eq(share, s) for s in self.shares):
            raise InvalidRequest("given key has already been provided during this generation operation")
        self.shares.append(share)
        if len(self.shares) < self.threshold:
            return None
        try:
            return self.shares[0] if self.threshold == 1 else shamir.combine(self.shares)
        finally:
            self.shares = []


def split_key(key: bytes, shares: int, threshold: int) -> list[bytes]:
    if shares == 1:
        return [key]
    return shamir.split(key, shares, threshold)
