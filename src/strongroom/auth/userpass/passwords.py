"""argon2id password hashing for userpass, off the event loop, with a constant-time path for unknown users.

Parameters are OWASP's argon2id profile (19 MiB, t=2, p=1); they are stored in each hash, so raising them later
re-hashes a user's password on their next successful login.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from strongroom.sdk.errors import PermissionDenied

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so unknown users cost as much as wrong passwords."""
    return _HASHER.hash("strongroom-userpass-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def check_password(stored: str | None, password: str) -> None:
    """Raises PermissionDenied unless a user exists (stored hash) and the password matches; same cost either way."""
    if not await asyncio.to_thread(_verify, stored, password):
        raise PermissionDenied("invalid username or password")


def needs_rehash(stored: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


__all__ = ["check_password", "hash_password", "needs_rehash"]
