"""Reading audit files written by Strongroom (or Vault/OpenBao: same JSON shape): plain or gzip, optional line
prefix, malformed lines skipped and counted (never fatal), and `follow` for tail -f across log rotation."""

from __future__ import annotations

import contextlib
import gzip
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

import orjson


class AuditFileError(Exception):
    """An audit file cannot be opened (missing, unreadable, a directory)."""


@dataclass
class ReadStats:
    lines: int = 0
    entries: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)  # "file:line: reason" (never the line itself)

    def bad(self, where: str, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 5:
            self.malformed_examples.append(f"{where}: {reason}")


@dataclass
class Line:
    file: str
    number: int
    entry: dict[str, Any]


def _open(path: str) -> IO[bytes]:
    try:
        if path.endswith(".gz"):
            return cast(IO[bytes], gzip.open(path, "rb"))
        return open(path, "rb")
    except IsADirectoryError:
        raise AuditFileError(f"{path} is a directory, not an audit file") from None
    except FileNotFoundError:
        raise AuditFileError(f"{path} does not exist") from None
    except PermissionError:
        raise AuditFileError(f"{path} cannot be read (permission denied)") from None


def parse_line(raw: bytes) -> dict[str, Any]:
    """One audit line -> entry. Tolerates a device `prefix` before the JSON. Raises ValueError saying why."""
    raw = raw.strip()
    if not raw:
        raise ValueError("empty line")
    start = raw.find(b"{")
    if start < 0:
        if raw.startswith(b"<"):
            raise ValueError("JSONx (XML) lines are not supported; use a json-format device")
        raise ValueError("not a JSON object")
    try:
        entry = orjson.loads(raw[start:])
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg})") from None
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    if "type" not in entry:
        raise ValueError("no \"type\" field (not an audit entry)")
    return entry


def _lines(path: str, f: Iterable[bytes], stats: ReadStats, on_bytes: Callable[[int], None] | None,
           keep: Callable[[bytes], bool] | None = None) -> Iterator[Line]:
    for n, raw in enumerate(f, 1):
        stats.lines += 1
        if on_bytes is not None:
            on_bytes(len(raw))
        if not raw.strip() or (keep is not None and not keep(raw)):
            continue
        try:
            entry = parse_line(raw)
        except ValueError as exc:
            stats.bad(f"{path}:{n}", str(exc))
            continue
        stats.entries += 1
        yield Line(path, n, entry)


def read(paths: Iterable[str], stats: ReadStats | None = None, on_bytes: Callable[[int], None] | None = None,
         keep: Callable[[bytes], bool] | None = None) -> Iterator[Line]:
    """Every entry of every file, in file order. `keep(raw_line)` False skips a line before it is parsed (a
    cheap prefilter: see query.Filter.prefilter)."""
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        with _open(path) as f:
            yield from _lines(path, f, stats, on_bytes, keep)


def total_size(paths: Iterable[str]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return total


def follow(path: str, stats: ReadStats | None = None, *, poll: float = 0.25, from_end: bool = True,
           stop: Callable[[], bool] = lambda: False) -> Iterator[Line]:
    """New entries as they are appended; reopens the file when it is rotated (inode change) or truncated.
    The file is opened (and positioned at its end) now, not at the first `next()`."""
    f = _open(path)
    if from_end:
        f.seek(0, os.SEEK_END)
    return _follow(path, f, stats if stats is not None else ReadStats(), poll, stop)


def _follow(path: str, f: IO[bytes], stats: ReadStats, poll: float, stop: Callable[[], bool]) -> Iterator[Line]:
    ino = os.fstat(f.fileno()).st_ino
    buf = b""
    try:
        while not stop():
            chunk = f.readline()
            if chunk:
                buf += chunk
                if not buf.endswith(b"\n"):
                    continue  # a partial line: wait for the rest
                yield from _lines(path, iter([buf]), stats, None)
                buf = b""
                continue
            time.sleep(poll)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue  # rotated away, not yet recreated
            if st.st_ino != ino or st.st_size < f.tell():
                f.close()
                f = _open(path)
                ino = os.fstat(f.fileno()).st_ino
    finally:
        f.close()
