"""The one small protocol every KEK backend implements, and the errors the gRPC layer maps to status codes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class BackendError(Exception):
    """The KEK backend failed (unreachable, refused, misconfigured). Message never holds key material."""


class BadCiphertext(BackendError):
    """The ciphertext is not one this backend issued, or it failed authentication."""


@runtime_checkable
class KEKBackend(Protocol):
    """A key-encryption key that can wrap and unwrap 32-byte DEK seeds.

    `lineage` names the key (not its version) and never changes for one configured key; `current_version` is
    the version that `wrap` will use now. Versions only grow for one lineage.
    """

    kind: str

    @property
    def lineage(self) -> str: ...

    def current_version(self) -> int: ...

    def wrap(self, plaintext: bytes) -> tuple[bytes, int]:
        """Encrypt; returns (ciphertext, version used)."""
        ...

    def unwrap(self, ciphertext: bytes) -> bytes: ...

    def close(self) -> None: ...
