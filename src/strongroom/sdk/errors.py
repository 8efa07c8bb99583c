"""The typed error tree. The server maps these to HTTP status codes in exactly one place (server/errors.py).

    StrongroomError                      500  (message hidden behind a request id)
    ├── InvalidRequest                   400  malformed body, wrong field type, failed validation
    │   └── CASMismatch                  400  check-and-set version did not match
    ├── PermissionDenied                 403  authentication or authorisation failed
    ├── UnsupportedPath                  404  no route for the path
    ├── NotFound                         404  route exists, object does not (engines mostly return None instead)
    ├── UnsupportedOperation             405  route exists, operation does not
    ├── Conflict                         409
    ├── PayloadTooLarge                  413
    ├── RateLimited                      429
    ├── Sealed                           503  the barrier is sealed
    └── Unavailable                      503  a dependency (audit, storage) refused

Messages are shown to clients: never put a secret value, token or key material into one.
"""

from __future__ import annotations


class StrongroomError(Exception):
    status = 500

    def __init__(self, message: str = "", *errors: str) -> None:
        super().__init__(message)
        self.message = message
        self.errors = [message, *errors] if message else list(errors)


class InvalidRequest(StrongroomError):
    status = 400


class CASMismatch(InvalidRequest):
    pass


class PermissionDenied(StrongroomError):
    status = 403

    def __init__(self, message: str = "permission denied", *errors: str) -> None:
        super().__init__(message, *errors)


class UnsupportedPath(StrongroomError):
    status = 404

    def __init__(self, message: str = "unsupported path", *errors: str) -> None:
        super().__init__(message, *errors)


class NotFound(StrongroomError):
    status = 404


class UnsupportedOperation(StrongroomError):
    status = 405

    def __init__(self, message: str = "unsupported operation", *errors: str) -> None:
        super().__init__(message, *errors)


class Conflict(StrongroomError):
    status = 409


class PayloadTooLarge(StrongroomError):
    status = 413


class RateLimited(StrongroomError):
    status = 429


class Sealed(StrongroomError):
    status = 503

    def __init__(self, message: str = "Vault is sealed", *errors: str) -> None:
        super().__init__(message, *errors)


class Unavailable(StrongroomError):
    status = 503


__all__ = [
    "CASMismatch",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "Sealed",
    "StrongroomError",
    "Unavailable",
    "UnsupportedOperation",
    "UnsupportedPath",
]
