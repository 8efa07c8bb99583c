"""Errors -> HTTP status, in exactly one place. Unknown exceptions become a 500 that names only the request id."""

from __future__ import annotations

import logging

from strongroom.crypto import CryptoError
from strongroom.sdk.errors import StrongroomError

log = logging.getLogger("strongroom.server")


def to_status(exc: BaseException, request_id: str) -> tuple[int, list[str]]:
    if isinstance(exc, StrongroomError):
        return exc.status, exc.errors
    if isinstance(exc, CryptoError):
        return 400, [str(exc)]
    log.error("internal error serving request %s: %s", request_id, type(exc).__name__, exc_info=exc)
    return 500, [f"internal error; see the server log for request id {request_id}"]
