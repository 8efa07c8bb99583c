"""Safe crypto recipes. Only `_primitives` touches cryptography.hazmat; callers use the recipes."""

from strongroom.crypto._primitives import constant_time_eq, hmac_sha256, random_bytes
from strongroom.crypto.errors import (
    CryptoError,
    DecryptionError,
    FormatError,
    InvalidKeyError,
    VerificationError,
)

__all__ = [
    "CryptoError",
    "DecryptionError",
    "FormatError",
    "InvalidKeyError",
    "VerificationError",
    "constant_time_eq",
    "hmac_sha256",
    "random_bytes",
]
