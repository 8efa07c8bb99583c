"""Filters (search/tail), summaries and HMAC lookups over audit records. Pure functions over iterables."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from strongroom.auditlog.model import Record, parse_time
from strongroom.auditlog.reader import Line

_DUR = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")


def parse_when(value: str, *, now: float | None = None) -> float:
    """RFC 3339 time, unix seconds, or a duration back from now (`90m`, `24h`, `7d`). Raises ValueError."""
    value = value.strip()
    m = _DUR.match(value)
    if m:
        return (now if now is not None else time.time()) - float(m.group(1)) * {"s": 1, "m": 60, "h": 3600,
                                                                                   "d": 86400}[m.group(2)]
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    t = parse_time(value)
    if not t:
        raise ValueError(f"{value!r} is not a time (use RFC 3339 like 2026-01-31T12:00:00Z, or 24h, 30m)")
    return t


@dataclass
class Filter:
    paths: list[str] = field(default_factory=list)  # globs: secret/data/app/*
    operations: list[str] = field(default_factory=list)
    accessor: str = ""
    display_name: str = ""  # glob
    namespace: str = ""
    service_account: str = ""
    errors_only: bool = False
    error: str = ""  # substring of the error
    types: list[str] = field(default_factory=list)  # request | response | alert
    since: float = 0.0
    until: float = 0.0

    def __call__(self, r: Record) -> bool:
        if self.types and r.type not in self.types:
            return False
        if self.paths and not any(fnmatchcase(r.path, p) for p in self.paths):
            return False
        if self.operations and r.operation not in self.operations:
            return False
        if self.accessor and r.accessor != self.accessor:
            return False
        if self.display_name and not fnmatchcase(r.display_name, self.display_name):
            return False
        if self.namespace and r.namespace != self.namespace:
            return False
        if self.service_account and r.service_account != self.service_account:
            return False
        if (self.errors_only or self.error) and not r.error:
            return False
        if self.error and self.error.lower() not in r.error.lower():
            return False
        if self.since and r.timestamp < self.since:
            return False
        return not (self.until and r.timestamp > self.until)


_WILD = re.compile(r"[*?\[]")


def _literal(glob: str) -> bytes | None:
    """The part of a glob before its first wildcard, as it appears in a JSON line; None when unusable."""
    lit = _WILD.split(glob, 1)[0]
    if len(lit) < 3 or not lit.isascii() or '"' in lit or "\\" in lit:
        return None
    return lit.encode()


def prefilter(flt: Filter) -> Callable[[bytes], bool] | None:
    """A byte-level test that rejects most non-matching lines without parsing them (paths, accessor). Lines it
    rejects are never parsed, so they are not checked for being malformed either."""
    needles: list[list[bytes]] = []
    if flt.paths:
        lits = [_literal(p) for p in flt.paths]
        if all(lit is not None for lit in lits):
            needles.append([lit for lit in lits if lit is not None])
    if flt.accessor and flt.accessor.isascii() and '"' not in flt.accessor:
        needles.append([flt.accessor.encode()])
    if not needles:
        return None
    return lambda raw: all(any(n in raw for n in group) for group in needles)


def select(lines: Iterable[Line], flt: Filter) -> Iterator[tuple[Line, Record]]:
    from strongroom.auditlog.model import record

    for line in lines:
        r = record(line.entry)
        if flt(r):
            yield line, r


@dataclass
class Summary:
    entries: int = 0
    requests: int = 0
    denials: int = 0
    errors: int = 0
    alerts: int = 0
    first: str = ""
    last: str = ""
    top_paths: list[tuple[str, int]] = field(default_factory=list)
    top_identities: list[tuple[str, int]] = field(default_factory=list)
    denied: list[tuple[str, str, int]] = field(default_factory=list)  # identity, path, count
    reads: dict[str, list[str]] = field(default_factory=dict)  # identity -> secret paths read
    per_hour: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "requests": self.requests, "denials": self.denials, "errors": self.errors,
                "alerts": self.alerts, "first": self.first, "last": self.last,
                "top_paths": [{"path": p, "count": n} for p, n in self.top_paths],
                "top_identities": [{"identity": i, "count": n} for i, n in self.top_identities],
                "denied": [{"identity": i, "path": p, "count": n} for i, p, n in self.denied],
                "who_read_what": self.reads,
                "per_hour": [{"hour": h, "count": n} for h, n in self.per_hour]}


def summarise(records: Iterable[Record], top: int = 10) -> Summary:
    """Counts response entries (one per request; they carry the outcome) and alerts."""
    s = Summary()
    paths: Counter[str] = Counter()
    idents: Counter[str] = Counter()
    denied: Counter[tuple[str, str]] = Counter()
    hours: Counter[str] = Counter()
    reads: dict[str, set[str]] = defaultdict(set)
    for r in records:
        s.entries += 1
        if r.time and (not s.first or r.time < s.first):
            s.first = r.time
        if r.time and r.time > s.last:
            s.last = r.time
        if r.type == "alert":
            s.alerts += 1
            continue
        if r.type != "response":
            continue
        s.requests += 1
        paths[r.path] += 1
        idents[r.identity] += 1
        if r.timestamp:
            hours[datetime.fromtimestamp(r.timestamp, UTC).strftime("%Y-%m-%dT%H:00Z")] += 1
        if "permission denied" in r.error:
            s.denials += 1
            denied[(r.identity, r.path)] += 1
        elif r.error:
            s.errors += 1
        elif r.operation == "read" and not r.path.startswith(("sys/", "auth/")):
            reads[r.identity].add(r.path)
    s.top_paths = paths.most_common(top)
    s.top_identities = idents.most_common(top)
    s.denied = [(i, p, n) for (i, p), n in denied.most_common(top)]
    s.reads = {i: sorted(p) for i, p in sorted(reads.items())}
    s.per_hour = sorted(hours.items())
    return s


def find_value(obj: Any, needle: str, where: str = "") -> list[str]:
    """JSON paths (like `response.data.password`) of every string in `obj` equal to `needle`."""
    found: list[str] = []
    if isinstance(obj, str):
        if obj == needle:
            found.append(where or "$")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found.extend(find_value(v, needle, f"{where}.{k}" if where else str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found.extend(find_value(v, needle, f"{where}[{i}]"))
    return found


def hmac_matches(lines: Iterable[Line], hashed: str) -> Iterator[tuple[Line, list[str]]]:
    """Entries containing `hashed` (the `hmac-sha256:...` string sys/audit-hash returns), and where."""
    for line in lines:
        where = find_value(line.entry, hashed)
        if where:
            yield line, where
