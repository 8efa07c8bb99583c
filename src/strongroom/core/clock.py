"""Time in one place, so tests can move it."""

from __future__ import annotations

import datetime as dt
import time


def now() -> float:
    return time.time()


def rfc3339(ts: float) -> str:
    """RFC 3339 with nanosecond-style fraction, UTC, as Vault prints times."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond:06d}000Z"
