"""The rules as state machines, fed synthetic events (the end-to-end tests drive them through a real server)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.core.anomaly.config import BurstRule, EnumerationRule, FirstAccessRule, RateSpikeRule
from strongroom.core.anomaly.event import RequestEvent
from strongroom.core.anomaly.rules import Burst, Enumeration, RateSpike
from strongroom.core.anomaly.seen import FirstAccess, SeenSet, digest


def ev(t: float, path: str = "secret/data/a", outcome: str = "ok", op: str = "read", accessor: str = "acc1",
       remote: str = "10.0.0.1", name: str = "token-app", kind: str = "secret", **kw: object) -> RequestEvent:
    return RequestEvent(time=t, path=path, operation=op, outcome=outcome, accessor=accessor, remote_address=remote,
                        display_name=name, mount="secret/", mount_type="kv", mount_kind=kind, **kw)  # type: ignore


def test_denial_burst_fires_once_per_burst_and_respects_the_window() -> None:
    r = Burst("denial_burst", "denied", BurstRule(threshold=3, window=10, cooldown=60), "denials")
    assert r.feed(ev(0, outcome="denied")) == [] and r.feed(ev(20, outcome="denied")) == []
    assert r.feed(ev(40, outcome="denied")) == []  # 3 denials, but spread over 40 s
    assert r.feed(ev(41, outcome="denied")) == []
    found = r.feed(ev(42, outcome="denied"))
    assert len(found) == 1 and found[0].subject == "accessor:acc1"  # one alert, not one per key
    assert r.feed(ev(43, outcome="denied")) == []  # cooldown
    assert r.feed(ev(44, outcome="ok")) == []  # other outcomes are ignored


def test_auth_failure_burst_keys_on_remote_address_without_a_token() -> None:
    r = Burst("auth_failure_burst", "auth_failed", BurstRule(threshold=3, window=10), "failed logins")
    hits = [r.feed(ev(i, outcome="auth_failed", accessor="", path=f"auth/userpass/login/u{i}", kind="auth"))
            for i in range(3)]
    assert [len(h) for h in hits] == [0, 0, 1]
    assert hits[2][0].subject == "remote:10.0.0.1"


def test_burst_forgets_idle_keys() -> None:
    r = Burst("denial_burst", "denied", BurstRule(threshold=3, window=10, cooldown=5), "denials")
    r.feed(ev(0, outcome="denied"))
    r.tick(100)
    assert r.times == {} and r.cooldown.until == {}


def test_enumeration_counts_distinct_paths_per_identity_in_the_window() -> None:
    r = Enumeration(EnumerationRule(distinct_paths=5, window=10, cooldown=60))
    for i in range(5):
        assert r.feed(ev(i, path=f"secret/data/s{i}")) == []
    assert r.feed(ev(5, path="secret/data/s0")) == []  # same path again: still 5 distinct
    found = r.feed(ev(6, path="secret/data/s5", outcome="denied"))  # tried-and-denied reads count too
    assert len(found) == 1 and found[0].details["distinct_paths"] == 6
    r2 = Enumeration(EnumerationRule(distinct_paths=5, window=10))
    for i in range(10):  # one new path every 3 s: never more than 4 inside 10 s
        assert r2.feed(ev(i * 3, path=f"secret/data/s{i}")) == []
    assert r2.feed(ev(1, path="sys/mounts")) == []


def test_rate_spike_needs_a_baseline_then_fires_on_a_jump() -> None:
    r = RateSpike(RateSpikeRule(bucket=1, factor=4, min_requests=20, alpha=0.3, warmup_buckets=3, cooldown=60))
    found = []
    t = 0.0
    for _ in range(6):  # 2 requests/s baseline
        found += r.feed(ev(t, path="secret/data/app/x"))
        found += r.feed(ev(t + 0.5, path="secret/data/app/y"))
        t += 1
    assert found == []
    for i in range(50):  # 50 in one second
        found += r.feed(ev(t + i / 100, path="secret/data/app/z"))
    found += r.tick(t + 1.01)
    subjects = {f.subject for f in found}
    assert "prefix:secret/data" in subjects and "identity:name:token-app" in subjects
    assert all(f.rule == "rate_spike" and f.details["requests"] == 50 for f in found)


def test_rate_spike_ignores_a_key_without_history() -> None:
    r = RateSpike(RateSpikeRule(bucket=1, factor=4, min_requests=20, warmup_buckets=3))
    found = [f for i in range(100) for f in r.feed(ev(i / 200))]
    found += r.tick(5)
    assert found == []


class MemStore:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.data[key] = value


def test_first_access_alerts_on_a_new_reader_of_an_established_secret_and_persists() -> None:
    async def run() -> None:
        store = MemStore()
        r = FirstAccess(FirstAccessRule(learning_period=0))
        await r.load(store)
        r.started = 0.0  # synthetic event times start at 0
        assert r.feed(ev(1, name="app-a")) == []  # first reader ever: the secret is not established yet
        assert r.feed(ev(2, name="app-a")) == []
        found = r.feed(ev(3, name="app-b"))
        assert len(found) == 1 and found[0].subject == "name:app-b"
        assert r.feed(ev(4, name="app-b")) == []
        assert r.feed(ev(5, name="app-c", op="update")) == []  # writes are not reads
        await r.flush(store)
        assert all(b"app-b" not in v and b"secret/data" not in v for v in store.data.values())  # digests only
        again = FirstAccess(FirstAccessRule(learning_period=0))
        await again.load(store)
        again.started = 0.0
        assert again.feed(ev(6, name="app-b")) == []  # remembered across restarts
        assert len(again.feed(ev(7, name="app-d"))) == 1
        learning = FirstAccess(FirstAccessRule(learning_period=3600))
        await learning.load(MemStore())
        learning.started = 0
        learning.feed(ev(1, name="x"))
        assert learning.feed(ev(2, name="y")) == []  # still learning

    asyncio.run(run())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(min_size=8, max_size=8), max_size=200))
def test_seen_set_round_trips(items: list[bytes]) -> None:
    async def run() -> None:
        store = MemStore()
        s = SeenSet()
        for d in items:
            s.add(d)
        await s.flush(store, "x")
        t = SeenSet()
        await t.load(store, "x")
        assert t.size == len(set(items)) and all(d in t for d in items)

    asyncio.run(run())
    assert len(digest("a", "b")) == 8 and digest("a", "b") != digest("ab")
