"""Typed Kubernetes API errors: callers branch on the class, never on HTTP codes or strings."""

from __future__ import annotations


class KubeError(Exception):
    """An API call failed. `code` is the HTTP status (0 when the server was not reached)."""

    def __init__(self, message: str, *, code: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.code, self.reason = code, reason


class NotFound(KubeError):
    """404."""


class AlreadyExists(KubeError):
    """409 with reason AlreadyExists (create of an existing name)."""


class Conflict(KubeError):
    """409: stale resourceVersion, or a server-side-apply field conflict."""


class Gone(KubeError):
    """410: the resourceVersion a watch asked for is too old; re-list."""


class Invalid(KubeError):
    """400/422/415: the request itself is wrong; retrying will not help."""


class Forbidden(KubeError):
    """401/403: RBAC denies it."""


class Unavailable(KubeError):
    """The server was not reached, or answered 429/5xx: retry with backoff."""


def from_status(code: int, reason: str, message: str) -> KubeError:
    if code == 404:
        return NotFound(message, code=code, reason=reason)
    if code == 409:
        cls: type[KubeError] = AlreadyExists if reason == "AlreadyExists" else Conflict
        return cls(message, code=code, reason=reason)
    if code == 410:
        return Gone(message, code=code, reason=reason)
    if code in (400, 415, 422):
        return Invalid(message, code=code, reason=reason)
    if code in (401, 403):
        return Forbidden(message, code=code, reason=reason)
    if code == 429 or code >= 500:
        return Unavailable(message, code=code, reason=reason)
    return KubeError(message, code=code, reason=reason)
