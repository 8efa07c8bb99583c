"""A tiny 5-field cron parser (minute hour day-of-month month day-of-week) for static-role rotation schedules.

Hand-written: the needed subset (`*`, lists, ranges, `/step`) is a few lines, a dependency would be larger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from strongroom.sdk.errors import InvalidRequest

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_any: bool
    dow_any: bool

    def matches(self, t: dt.datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        dom, dow = t.day in self.days, (t.isoweekday() % 7) in self.weekdays
        if self.dom_any or self.dow_any:
            return dom and dow
        return dom or dow  # classic cron: either day field matches

    def next_after(self, ts: float) -> float:
        t = dt.datetime.fromtimestamp(ts, dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        for _ in range(366 * 24 * 60):
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + dt.timedelta(days=32)).replace(day=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + dt.timedelta(hours=1)
                continue
            if self.matches(t):
                return t.timestamp()
            t += dt.timedelta(minutes=1)
        raise InvalidRequest("rotation_schedule never fires")


def _field(text: str, lo: int, hi: int) -> tuple[frozenset[int], bool]:
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a_s, b_s = rng.split("-", 1)
            a, b = int(a_s), int(b_s)
        else:
            a = int(rng)
            b = hi if step_s else a
        if a < lo or b > hi or a > b or step < 1:
            raise ValueError(part)
        out.update(range(a, b + 1, step))
    return frozenset(out), text == "*"


def parse(expr: str) -> Schedule:
    parts = expr.split()
    if len(parts) != 5:
        raise InvalidRequest("rotation_schedule must be a standard 5-field cron expression")
    try:
        pairs = enumerate(zip(parts, _BOUNDS, strict=True))
        fields = [_field(p, lo, hi if i != 4 else 7) for i, (p, (lo, hi)) in pairs]
    except ValueError:
        raise InvalidRequest("rotation_schedule: invalid cron expression") from None
    weekdays = frozenset(d % 7 for d in fields[4][0])
    return Schedule(fields[0][0], fields[1][0], fields[2][0], fields[3][0], weekdays, fields[2][1], fields[4][1])


__all__ = ["Schedule", "parse"]
