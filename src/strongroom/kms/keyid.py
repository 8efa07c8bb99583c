"""KMS v2 key_id: public, changes exactly when the KEK version changes, never reused (A->B->A gives A_001).

Base id: `sr1:<lineage>:v<version>`; deterministic, so every control-plane node's plugin reports the same id
for the same KEK version. A base that comes back after another one gets a `_NNN` suffix from the journal (a
small JSON state file; in memory only when no file is given), so the API server never sees an id reused.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import orjson

from strongroom.atrest.config import write_atomic

PREFIX = "sr1"
_ID = re.compile(r"^sr1:(?P<lineage>[A-Za-z0-9_/\-]+):v(?P<version>\d+)(?:_(?P<gen>\d{3,}))?$")


def base_id(lineage: str, version: int) -> str:
    return f"{PREFIX}:{lineage}:v{version}"


def parse(key_id: str) -> tuple[str, int]:
    """(lineage, version) of one of our key_ids; ValueError for anything else."""
    m = _ID.match(key_id)
    if not m:
        raise ValueError("not a strongroom key_id")
    return m.group("lineage"), int(m.group("version"))


def _base(key_id: str) -> str:
    return key_id.rsplit("_", 1)[0] if re.search(r"_\d{3,}$", key_id) else key_id


class Journal:
    """Ordered history of issued key_ids; persisted when `path` is set."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = Path(path) if path else None
        self._lock = threading.Lock()
        self._history: list[str] = []
        if self._path and self._path.exists():
            try:
                doc = orjson.loads(self._path.read_bytes())
                self._history = [str(x) for x in doc["history"]]
            except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"key_id state file {self._path} is unreadable: {exc.__class__.__name__}") from None

    def issue(self, base: str) -> str:
        with self._lock:
            if self._history and _base(self._history[-1]) == base:
                return self._history[-1]
            seen = sum(1 for k in self._history if _base(k) == base)
            key_id = base if seen == 0 else f"{base}_{seen:03d}"
            self._history.append(key_id)
            if self._path:
                write_atomic(self._path, orjson.dumps({"history": self._history}).decode())
            return key_id

    @property
    def history(self) -> list[str]:
        return list(self._history)
