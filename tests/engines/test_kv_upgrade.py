"""A KV v1 mount tuned to version 2 keeps its secrets: each becomes version 1 of the same path."""

from __future__ import annotations

import pytest

from strongroom.engines.kv import _v2_store as store
from strongroom.engines.kv import v1, v2
from strongroom.sdk import InvalidRequest, MemoryStorage
from tests.engines.harness import FakeClock, Harness


def test_v1_secrets_become_version_1(clock: FakeClock) -> None:
    storage = MemoryStorage()
    old = Harness(v1.build, storage=storage)
    new = None
    try:
        old.write("app/db", {"user": "u", "ttl": "1h"})
        old.write("top", {"x": [1, 2]})
        old.write("metadata/looks-like-v2", {"y": 1})  # a v1 name that shadows a v2 folder stays separate
        storage.data["not-json"] = b"\x00\x01"
        new = Harness(lambda c: v2.build(c, clock=clock), storage=storage)
        assert new.backend.initialize is not None
        new.runner.run(new.backend.initialize())
        for path, data in [("app/db", {"user": "u", "ttl": "1h"}), ("top", {"x": [1, 2]}),
                           ("metadata/looks-like-v2", {"y": 1})]:
            got = new.read("data/" + path)
            assert got is not None and got.data is not None and got.data["data"] == data
            assert got.data["metadata"]["version"] == 1
        assert storage.data["not-json"] == b"\x00\x01"  # never thrown away
        assert not any(k in storage.data for k in ("app/db", "top", "metadata/looks-like-v2"))
        listing = new.list("metadata/")
        assert listing is not None and listing.data == {"keys": ["app/", "metadata/", "top"]}
        out = new.write("data/top", {"data": {"x": 3}, "options": {"cas": 1}})
        assert out is not None and out.data is not None and out.data["version"] == 2
    finally:
        old.close()
        if new is not None:
            new.close()


def test_upgrade_resumes_after_a_crash(clock: FakeClock) -> None:
    storage = MemoryStorage()
    h = Harness(v1.build, storage=storage)
    try:
        h.write("a", {"x": 1})
        h.write("b", {"x": 2})
        # a crash after "a" got its v2 records but before its v1 entry was deleted and the marker written
        h.runner.run(store.put_version(storage, "a", 1, {"x": 1}, clock()))
        meta = store.KeyMeta()
        meta.add_version(clock(), None, 0)
        h.runner.run(store.put_meta(storage, "a", meta))
        assert h.runner.run(store.upgrade_from_v1(storage, clock())) == 2
        assert h.runner.run(store.upgrade_from_v1(storage, clock())) == 0
        got = h.runner.run(store.get_meta(storage, "a"))
        assert got is not None and got.current_version == 1  # not written twice
        assert h.runner.run(store.get_version(storage, "b", 1)) == {"x": 2}
    finally:
        h.close()


def test_v1_refuses_the_reserved_prefix(kv1: Harness) -> None:
    with pytest.raises(InvalidRequest, match="reserved"):
        kv1.write("_kv/config", {"max_versions": 1})
    assert kv1.storage.data == {}
