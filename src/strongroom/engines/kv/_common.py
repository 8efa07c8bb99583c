"""Pieces shared by KV v1, KV v2 and cubbyhole: per-key locks, Vault's time and duration formats, key checks.

Hand-written because each is a few lines with Vault-specific rules (Go's RFC3339Nano trims trailing zeros,
Go's Duration.String spells "1h0m0s"), and JSON merge patch (RFC 7386) is ten lines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

from strongroom.sdk import InvalidRequest, Request, Storage, StrongroomError
from strongroom.sdk.framework import FieldData

Clock = Callable[[], int]  # nanoseconds since the epoch
Notifier = Callable[[str], Awaitable[None]] | None


def storage_of(req: Request) -> Storage:
    if req.storage is None:
        raise StrongroomError("no storage attached to the request")
    return req.storage


def now_ns() -> int:
    return time.time_ns()


class KeyedLocks:
    """One asyncio.Lock per key, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = (asyncio.Lock(), [0])
            self._locks[key] = entry
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(key, None)

    def __len__(self) -> int:
        return len(self._locks)


def rfc3339nano(ns: int | None) -> str:
    """Go's time.Format(time.RFC3339Nano) in UTC: fraction without trailing zeros; "" for no time."""
    if ns is None:
        return ""
    secs, frac = divmod(ns, 1_000_000_000)
    out = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}".rstrip("0")
    return f"{out}.{digits}Z" if digits else f"{out}Z"


def go_duration(seconds: int) -> str:
    """Go's time.Duration.String() for whole seconds: 0s, 45s, 1m30s, 3h25m19s, -1s."""
    if seconds < 0:
        return "-" + go_duration(-seconds)
    if seconds == 0:
        return "0s"
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def check_write_key(key: str) -> None:
    """Refuses keys that storage can't list back unambiguously (empty, or with empty segments)."""
    if key == "":
        raise InvalidRequest("missing path")
    if key.endswith("/"):
        raise InvalidRequest("cannot write to a path ending in '/'")
    if any(part == "" for part in key.split("/")):
        raise InvalidRequest("invalid path: it must not start with '/' or contain '//'")


def list_prefix(path: str) -> str:
    """LIST always means "the folder": Vault adds the trailing slash for the engine."""
    return path if path == "" or path.endswith("/") else path + "/"


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # orjson refuses non-JSON types and integers beyond 64 bits; never echo the value itself
        raise InvalidRequest("data contains a value that cannot be stored as JSON "
                             "(integers must fit in 64 bits)") from None


def loads_map(raw: bytes) -> dict[str, Any]:
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("stored entry is not a JSON object")
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def param(req: Request, d: FieldData, name: str) -> Any:
    """A typed field from the body or, for GET/LIST, from the query string (same coercion and errors)."""
    if d.has(name) or name not in req.query:
        return d.get(name)
    return FieldData({name: req.query[name]}, d.schema).get(name)


async def notify(on_change: Notifier, path: str) -> None:
    if on_change is not None:
        await on_change(path)


__all__ = [
    "Clock",
    "KeyedLocks",
    "Notifier",
    "check_write_key",
    "dumps",
    "go_duration",
    "list_prefix",
    "loads_map",
    "merge_patch",
    "notify",
    "now_ns",
    "param",
    "rfc3339nano",
    "storage_of",
]
