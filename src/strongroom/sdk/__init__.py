"""The stable contract engines and auth methods build on."""

from strongroom.sdk.errors import (
    CASMismatch,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Sealed,
    StrongroomError,
    UnsupportedOperation,
    UnsupportedPath,
)
from strongroom.sdk.operations import Operation
from strongroom.sdk.request import Auth, Connection, Request, Response, SecretInfo
from strongroom.sdk.storage import MemoryStorage, Storage

__all__ = [
    "Auth",
    "CASMismatch",
    "Conflict",
    "Connection",
    "InvalidRequest",
    "MemoryStorage",
    "NotFound",
    "Operation",
    "PermissionDenied",
    "Request",
    "Response",
    "Sealed",
    "SecretInfo",
    "Storage",
    "StrongroomError",
    "UnsupportedOperation",
    "UnsupportedPath",
]
