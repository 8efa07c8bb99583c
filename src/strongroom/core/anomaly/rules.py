"""The detection rules. Each is a small state machine fed one event at a time by the detector's background task
(never on the request path); `tick` closes time buckets and forgets idle keys so memory stays bounded.

Hand-written rather than a stream-processing library: the state is a few dicts and deques per rule, and the
rules must be cheap enough to keep up with the server's full request rate on one core.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from strongroom.core.anomaly.config import BurstRule, EnumerationRule, RateSpikeRule
from strongroom.core.anomaly.event import RequestEvent

READ_OPS = frozenset({"read", "list"})
# the server's own surface: not secrets
SKIP_PREFIXES = ("sys/", "auth/", "cubbyhole/")


@dataclass
class Finding:
    rule: str
    severity: str
    subject: str  # e.g. "remote:10.0.0.7", "accessor:hmac...", "prefix:secret/data"
    message: str
    event: RequestEvent | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Cooldown:
    """At most one alert per (subject) per `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until: dict[str, float] = {}

    def ready(self, key: str, now: float) -> bool:
        if self.until.get(key, 0.0) > now:
            return False
        self.until[key] = now + self.seconds
        return True

    def prune(self, now: float) -> None:
        for k in [k for k, t in self.until.items() if t <= now]:
            del self.until[k]


class Burst:
    """`threshold` matching events for one key within `window` seconds (a deque of the last N times per key)."""

    def __init__(self, name: str, outcome: str, cfg: BurstRule, label: str) -> None:
        self.name, self.outcome, self.cfg, self.label = name, outcome, cfg, label
        self.times: dict[str, deque[float]] = {}
        self.cooldown = Cooldown(cfg.cooldown)

    def keys(self, ev: RequestEvent) -> list[str]:
        out = []
        if ev.accessor:
            out.append(f"accessor:{ev.accessor}")
        if ev.role:
            out.append(f"role:{ev.mount}{ev.role}")
        if ev.remote_address:
            out.append(f"remote:{ev.remote_address}")
        if self.outcome == "auth_failed" and ev.mount_kind == "auth":
            out.append(f"login:{ev.path}")
        return out

    def feed(self, ev: RequestEvent) -> list[Finding]:
        if ev.outcome != self.outcome:
            return []
        found: list[Finding] = []
        n = self.cfg.threshold
        keys = self.keys(ev)
        for key in keys:
            q = self.times.get(key)
            if q is None:
                q = self.times[key] = deque(maxlen=n)
            q.append(ev.time)
            if (not found and len(q) == n and q[-1] - q[0] <= self.cfg.window
                    and self.cooldown.ready(key, ev.time)):
                found.append(Finding(self.name, "high", key,
                                     f"{n} {self.label} within {int(self.cfg.window)}s from {key}", ev,
                                     {"count": n, "window_seconds": self.cfg.window, "last_path": ev.path}))
        if found:  # one burst, one alert: the event's other keys share the cooldown
            for key in keys:
                self.cooldown.ready(key, ev.time)
        return found

    def tick(self, now: float) -> list[Finding]:
        cutoff = now - self.cfg.window
        for k in [k for k, q in self.times.items() if not q or q[-1] < cutoff]:
            del self.times[k]
        self.cooldown.prune(now)
        return []


def _is_secret_access(ev: RequestEvent) -> bool:
    return ev.mount_kind == "secret" and not ev.path.startswith(SKIP_PREFIXES)


class Enumeration:
    """One identity touching more than `distinct_paths` different secret paths within `window` seconds."""

    name = "enumeration"

    def __init__(self, cfg: EnumerationRule) -> None:
        self.cfg = cfg
        self.seen: dict[str, OrderedDict[str, float]] = {}
        self.cooldown = Cooldown(cfg.cooldown)

    def feed(self, ev: RequestEvent) -> list[Finding]:
        if ev.operation not in READ_OPS or ev.outcome not in ("ok", "denied") or not _is_secret_access(ev):
            return []
        who = ev.identity
        paths = self.seen.get(who)
        if paths is None:
            paths = self.seen[who] = OrderedDict()
        paths[ev.path] = ev.time
        paths.move_to_end(ev.path)
        cutoff = ev.time - self.cfg.window
        while paths and next(iter(paths.values())) < cutoff:
            paths.popitem(last=False)
        if len(paths) > self.cfg.distinct_paths and self.cooldown.ready(who, ev.time):
            sample = list(paths)[-10:]
            return [Finding(self.name, "high", who,
                            f"{who} read {len(paths)} distinct secret paths within {int(self.cfg.window)}s",
                            ev, {"distinct_paths": len(paths), "window_seconds": self.cfg.window,
                                 "sample_paths": sample})]
        return []

    def tick(self, now: float) -> list[Finding]:
        cutoff = now - self.cfg.window
        for who in [w for w, p in self.seen.items() if not p or next(reversed(p.values())) < cutoff]:
            del self.seen[who]
        self.cooldown.prune(now)
        return []


@dataclass
class _Baseline:
    ewma: float = 0.0
    buckets: int = 0


class RateSpike:
    """Requests per bucket for each path prefix and each identity, compared with an EWMA of earlier buckets.

    Alerts when a bucket holds at least `min_requests` and more than `factor` x the baseline, once the key has
    `warmup_buckets` of history. The spike is folded into the baseline like any bucket, so a new steady level
    stops alerting after a while.
    """

    name = "rate_spike"

    def __init__(self, cfg: RateSpikeRule) -> None:
        self.cfg = cfg
        self.current: dict[str, int] = {}
        self.base: dict[str, _Baseline] = {}
        self.bucket_end = 0.0
        self.last: dict[str, RequestEvent] = {}
        self.cooldown = Cooldown(cfg.cooldown)

    def _prefix(self, path: str) -> str:
        return "/".join(path.split("/", self.cfg.prefix_depth)[: self.cfg.prefix_depth])

    def feed(self, ev: RequestEvent) -> list[Finding]:
        if ev.outcome == "auth_failed" or ev.path.startswith("sys/"):
            return []
        if self.bucket_end == 0.0:
            self.bucket_end = ev.time + self.cfg.bucket
        found = self.tick(ev.time) if ev.time >= self.bucket_end else []
        for key in (f"prefix:{self._prefix(ev.path)}", f"identity:{ev.identity}"):
            if key in self.current or len(self.current) < self.cfg.max_keys:
                self.current[key] = self.current.get(key, 0) + 1
                self.last[key] = ev
        return found

    def tick(self, now: float) -> list[Finding]:
        found: list[Finding] = []
        if self.bucket_end == 0.0:
            return found
        while now >= self.bucket_end:  # close every bucket that ended (empty ones count as zero)
            found.extend(self._close(self.bucket_end))
            self.bucket_end += self.cfg.bucket
            if now - self.bucket_end > self.cfg.bucket * 100:  # long idle: skip ahead
                self.bucket_end = now + self.cfg.bucket
        return found

    def _close(self, at: float) -> list[Finding]:
        c = self.cfg
        found = []
        current, self.current = self.current, {}
        for key in set(self.base) | set(current):
            n = current.get(key, 0)
            b = self.base.get(key)
            if b is None:
                if len(self.base) >= c.max_keys:
                    continue
                b = self.base[key] = _Baseline(ewma=float(n))
                b.buckets = 1
                continue
            if (b.buckets >= c.warmup_buckets and n >= c.min_requests and n > c.factor * max(b.ewma, 1.0)
                    and self.cooldown.ready(key, at)):
                found.append(Finding(self.name, "medium", key,
                                     f"{n} requests in {c.bucket:g}s for {key} (baseline {b.ewma:.1f})",
                                     self.last.get(key), {"requests": n, "baseline": round(b.ewma, 2),
                                                          "bucket_seconds": c.bucket, "factor": c.factor}))
            b.ewma = c.alpha * n + (1 - c.alpha) * b.ewma
            b.buckets += 1
            if n == 0 and b.ewma < 0.01:
                del self.base[key]
                self.last.pop(key, None)
        self.cooldown.prune(at)
        return found
