"""Atomic file writes (temp file in the same directory + fsync + rename) and the on-tmpfs cache.

A reader of a rendered file sees the old content or the new content, never a half-written file; the temp file
is created with the final mode so a secret is never world-readable, even for a moment.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any

CACHE_FILE = "strongroom-agent-cache.json"


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode & 0o777)
    try:
        os.fchmod(fd, mode & 0o777)  # the umask must not widen or narrow the requested mode
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


class DiskCache:
    """Last fetched secret responses, persisted (mode 0600) so a restarted sidecar or init container can render
    while the store is briefly unreachable. Meant for the pod's in-memory emptyDir, never a real disk."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, CACHE_FILE)

    def load(self) -> dict[str, dict[str, Any]]:
        raw = read_bytes(self.path)
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}  # a corrupt cache is ignored, never fatal
        return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}

    def save(self, responses: dict[str, dict[str, Any]]) -> None:
        write_atomic(self.path, json.dumps(responses, sort_keys=True).encode(), 0o600)

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)
