"""The sealing error tree. Messages name items, objects and files, never a value, key or plaintext.

    SealingError
    ├── ManifestError       input text is not YAML/JSON we can read
    ├── InvalidObjectError  not a Secret / SealedSecret of the expected shape (kind, namespace, name, data)
    ├── CertificateError    certificate or key unreadable, not RSA, or expired
    ├── UnsealError         no key could open one or more items (`.items`), or an item is malformed
    └── TemplateError       a `spec.template.data` entry failed to render (`.items`)
"""

from __future__ import annotations

from collections.abc import Iterable


class SealingError(Exception):
    """Base of every sealing failure; safe to show to a user."""


class ManifestError(SealingError):
    """The input could not be parsed as YAML or JSON."""


class InvalidObjectError(SealingError):
    """The object is not what the operation needs (wrong kind, no namespace, no data, ...)."""


class CertificateError(SealingError):
    """The sealing certificate or a recovery key is unusable."""


class _ItemsError(SealingError):
    def __init__(self, message: str, items: Iterable[str] = ()) -> None:
        self.items: tuple[str, ...] = tuple(items)
        super().__init__(message)


class UnsealError(_ItemsError):
    """One or more items could not be decrypted with any of the keys (wrong key, scope, name or tampering)."""


class TemplateError(_ItemsError):
    """One or more `spec.template.data` entries could not be rendered."""
