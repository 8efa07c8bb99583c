"""KV v1 (Vault's passthrough backend) and the kv factory."""

from __future__ import annotations

import pytest

from strongroom.engines import kv as kv_engine
from strongroom.sdk import InvalidRequest, MemoryStorage
from strongroom.sdk.framework import BackendConfig
from tests.engines.harness import Harness


def test_write_read_delete(kv1: Harness) -> None:
    assert kv1.exists("app/db") is False
    assert kv1.write("app/db", {"user": "u", "port": 5432, "tags": ["a"], "nested": {"x": None}}) is None
    assert kv1.exists("app/db") is True
    got = kv1.read("app/db")
    assert got is not None and got.raw_status is None
    assert got.data == {"user": "u", "port": 5432, "tags": ["a"], "nested": {"x": None}}
    assert got.secret is not None and got.secret.renewable is False and got.secret.ttl == 0
    assert kv1.backend.secret_type(got.secret.type) is None  # a lease_duration hint, never a lease
    kv1.write("app/db", {"only": "this"})  # a write replaces the whole map
    assert kv1.read("app/db").data == {"only": "this"}  # type: ignore[union-attr]
    assert kv1.delete("app/db") is None
    assert kv1.read("app/db") is None
    assert kv1.delete("app/db") is None
    assert kv1.changes == ["app/db", "app/db", "app/db", "app/db"]


@pytest.mark.parametrize(("body", "ttl"), [({"ttl": "1h", "k": "v"}, 3600), ({"ttl": 90}, 90),
                                           ({"lease": "30m"}, 1800), ({"ttl": "soon"}, 77), ({"k": "v"}, 77)])
def test_ttl_key_is_a_lease_duration_hint(body: dict[str, object], ttl: int) -> None:
    h = Harness(kv_engine.v1.build, default_lease_ttl=77)
    try:
        h.write("s", body)
        got = h.read("s")
        assert got is not None and got.secret is not None and got.secret.ttl == ttl
        assert got.data == body  # the ttl key stays part of the secret
    finally:
        h.close()


def test_write_needs_data_and_a_path(kv1: Harness) -> None:
    with pytest.raises(InvalidRequest, match="missing data fields"):
        kv1.write("s", {})
    with pytest.raises(InvalidRequest, match="missing path"):
        kv1.write("", {"a": 1})
    for bad in ("a/", "/a", "a//b"):
        with pytest.raises(InvalidRequest):
            kv1.write(bad, {"a": 1})
    with pytest.raises(InvalidRequest, match="64 bits"):
        kv1.write("s", {"big": 10**30})
    assert kv1.storage.data == {} and kv1.changes == []


def test_arbitrary_fields_do_not_warn(kv1: Harness) -> None:
    kv1.write("s", {"anything": 1, "path": "is-data-too"})
    got = kv1.read("s")
    assert got is not None and got.warnings == [] and got.data == {"anything": 1, "path": "is-data-too"}


def test_list(kv1: Harness) -> None:
    for p in ("a", "b/c", "b/d/e"):
        kv1.write(p, {"x": 1})
    root = kv1.list("")
    assert root is not None and root.data == {"keys": ["a", "b/"]}
    sub = kv1.list("b")
    assert sub is not None and sub.data == {"keys": ["c", "d/"]}
    assert kv1.list("b/") is not None
    assert kv1.list("nothing/") is None


def _config(mount_type: str, options: dict[str, str]) -> BackendConfig:
    return BackendConfig(storage=MemoryStorage(), mount_path="secret/", mount_type=mount_type, options=options)


@pytest.mark.parametrize(("mount_type", "options", "version"), [
    ("kv", {}, "1"), ("kv", {"version": "1"}, "1"), ("kv", {"version": "2"}, "2"), ("kv-v2", {}, "2"),
    ("kv-v2", {"version": "2"}, "2"), ("generic", {}, "1"),
])
def test_factory_picks_the_version(mount_type: str, options: dict[str, str], version: str) -> None:
    config = _config(mount_type, options)
    assert kv_engine.kv_version(config) == version
    backend = kv_engine.factory(config)
    patterns = [p.pattern for p in backend.paths]
    assert ("config" in patterns) == (version == "2")


def test_factory_refuses_unknown_versions() -> None:
    with pytest.raises(InvalidRequest, match="invalid kv version"):
        kv_engine.factory(_config("kv", {"version": "3"}))
