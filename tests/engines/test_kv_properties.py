"""Hypothesis properties: KV v2 against a tiny model, and the small formats it is built on."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv import v2
from strongroom.engines.kv._common import go_duration, merge_patch, rfc3339nano
from strongroom.engines.kv._v2_data import strip_values
from strongroom.sdk.framework import parse_duration
from tests.engines.harness import FakeClock, Harness

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
secrets = st.dictionaries(st.text(max_size=6), json_values, max_size=5)


def _harness(clock: FakeClock) -> Harness:
    return Harness(lambda c: v2.build(c, clock=clock))


@SETTINGS
@given(writes=st.lists(secrets, min_size=1, max_size=14), max_versions=st.integers(0, 5))
def test_any_sequence_of_writes_keeps_count_and_last_value(writes: list[dict[str, Any]],
                                                           max_versions: int) -> None:
    clock = FakeClock()
    h = _harness(clock)
    try:
        if max_versions:
            h.write("config", {"max_versions": max_versions})
        for data in writes:
            clock.advance(0.001)
            h.write("data/p/q", {"data": data})
        n, keep = len(writes), max_versions or 10
        got = h.read("data/p/q")
        assert got is not None and got.data is not None and got.data["data"] == writes[-1]
        meta = h.read("metadata/p/q")
        assert meta is not None and meta.data is not None
        assert meta.data["current_version"] == n
        kept = sorted(int(v) for v in meta.data["versions"])
        assert kept == list(range(max(1, n - keep + 1), n + 1))
        assert sum(k.startswith("_kv/versions/") for k in h.storage.data) == len(kept)
        for v in kept:
            old = h.read("data/p/q", version=str(v))
            assert old is not None and old.data is not None and old.data["data"] == writes[v - 1]
    finally:
        h.close()


versions = st.lists(st.integers(0, 8), min_size=1, max_size=3)
ops = st.lists(st.one_of(
    st.tuples(st.just("write"), secrets),
    st.tuples(st.just("delete_latest"), st.none()),
    st.tuples(st.just("delete"), versions),
    st.tuples(st.just("undelete"), versions),
    st.tuples(st.just("destroy"), versions),
    st.tuples(st.just("read"), st.integers(0, 8)),
), max_size=25)


class Model:
    def __init__(self, keep: int) -> None:
        self.keep, self.n = keep, 0
        self.versions: dict[int, dict[str, Any]] = {}

    def apply(self, op: str, arg: Any) -> None:
        if op == "write":
            self.n += 1
            self.versions[self.n] = {"data": arg, "deleted": False, "destroyed": False}
            for v in [v for v in self.versions if v <= self.n - self.keep]:
                del self.versions[v]
            return
        targets = [self.n] if op == "delete_latest" else (arg or [])
        for v in targets:
            rec = self.versions.get(v)
            if rec is None or rec["destroyed"]:
                continue
            if op in ("delete", "delete_latest"):
                rec["deleted"] = True
            elif op == "undelete":
                rec["deleted"] = False
            elif op == "destroy":
                rec["destroyed"] = True

    def read(self, v: int) -> tuple[str, Any]:
        rec = self.versions.get(v or self.n)
        if rec is None:
            return "missing", None
        if rec["deleted"] or rec["destroyed"]:
            return "gone", None
        return "ok", rec["data"]


@SETTINGS
@given(sequence=ops, keep=st.integers(1, 4))
def test_versioned_operations_match_a_model(sequence: list[tuple[str, Any]], keep: int) -> None:
    clock = FakeClock()
    h = _harness(clock)
    model = Model(keep)
    try:
        h.write("config", {"max_versions": keep})
        for op, arg in sequence:
            clock.advance(1)  # deletion_time must lie strictly in the past to count
            if op == "read":
                got = h.read("data/s", version=str(arg))
                kind, data = model.read(arg)
                if kind == "missing":
                    assert got is None
                else:
                    assert got is not None and got.data is not None
                    assert (got.raw_status == 404) == (kind == "gone")
                    assert got.data["data"] == data
                continue
            if op == "write":
                h.write("data/s", {"data": arg})
            elif op == "delete_latest":
                h.delete("data/s")
            else:
                h.write(f"{op}/s", {"versions": arg})
            model.apply(op, arg)
        meta = h.read("metadata/s")
        if model.n == 0:
            assert meta is None
        else:
            assert meta is not None and meta.data is not None
            assert meta.data["current_version"] == model.n
            assert {int(v) for v in meta.data["versions"]} == set(model.versions)
            for v, rec in model.versions.items():
                assert meta.data["versions"][str(v)]["destroyed"] == rec["destroyed"]
    finally:
        h.close()


@QUICK
@given(target=secrets, patch=secrets)
def test_merge_patch_is_idempotent_and_drops_nulls(target: dict[str, Any], patch: dict[str, Any]) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    for k, v in patch.items():
        if v is None:
            assert k not in once
        elif not isinstance(v, dict):
            assert once[k] == v


@QUICK
@given(target=secrets, patch=st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=3)))
def test_flat_merge_patch_without_nulls_is_an_update(target: dict[str, Any], patch: dict[str, Any]) -> None:
    assert merge_patch(target, patch) == {**target, **patch}


@QUICK
@given(ns=st.integers(0, 4_102_444_800 * 10**9))
def test_rfc3339nano_round_trips(ns: int) -> None:
    text = rfc3339nano(ns)
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", text)
    assert m is not None
    frac = m.group(2) or ""
    assert not frac.endswith("0")
    secs = int(datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    assert secs * 10**9 + int(frac.ljust(9, "0")) == ns


@QUICK
@given(seconds=st.integers(0, 10**7))
def test_go_duration_parses_back(seconds: int) -> None:
    text = go_duration(seconds)
    assert parse_duration(text) == seconds
    assert go_duration(-seconds) == (f"-{text}" if seconds else "0s")


@QUICK
@given(data=secrets, depth=st.integers(0, 4))
def test_subkeys_keep_structure_and_drop_every_value(data: dict[str, Any], depth: int) -> None:
    out = strip_values(data, depth)

    def leaves(node: Any) -> list[Any]:
        if isinstance(node, dict) and node:
            return [x for v in node.values() for x in leaves(v)]
        return [node]

    assert set(out) == set(data)
    assert all(leaf is None for v in out.values() for leaf in leaves(v))


@QUICK
@given(n=st.integers(0, 30), keep=st.integers(0, 6), cm=st.none() | st.dictionaries(st.text(min_size=1,
       max_size=4), st.text(min_size=1, max_size=4), min_size=1, max_size=3))
def test_key_metadata_survives_storage(n: int, keep: int, cm: dict[str, str] | None) -> None:
    meta = store.KeyMeta(max_versions=keep, custom_metadata=cm, delete_version_after=5)
    for i in range(n):
        meta.add_version(10**18 + i, None if i % 2 else 10**18 + 99, 0)
    again = store.KeyMeta.from_json(meta.to_json())
    assert again == meta
    assert again.api() == meta.api()
