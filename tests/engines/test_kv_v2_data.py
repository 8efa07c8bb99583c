"""KV v2 data/, delete/, undelete/, destroy/ and subkeys/ against Vault's documented behaviour."""

from __future__ import annotations

import asyncio
import re

import pytest

from strongroom.engines.kv import v2
from strongroom.sdk import CASMismatch, InvalidRequest, MemoryStorage, NotFound, Operation, UnsupportedOperation
from tests.engines.harness import FakeClock, Harness, YieldingStorage

RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
VERSION_META_KEYS = {"version", "created_time", "deletion_time", "destroyed", "custom_metadata"}


def test_write_then_read_has_vaults_shape(kv: Harness) -> None:
    out = kv.write("data/app/db", {"data": {"user": "u", "n": 1, "nested": {"a": [1, 2]}}})
    assert out is not None and out.data is not None
    assert set(out.data) == VERSION_META_KEYS
    assert out.data["version"] == 1
    assert RFC3339NANO.match(out.data["created_time"])
    assert out.data["deletion_time"] == "" and out.data["destroyed"] is False
    assert out.data["custom_metadata"] is None
    got = kv.read("data/app/db")
    assert got is not None and got.raw_status is None and got.data is not None
    assert got.data["data"] == {"user": "u", "n": 1, "nested": {"a": [1, 2]}}
    assert got.data["metadata"] == out.data


def test_timestamps_are_rfc3339nano_utc(kv: Harness, clock: FakeClock) -> None:
    clock.ns = 1_700_000_000_120_000_000
    out = kv.write("data/t", {"data": {"a": "b"}})
    assert out is not None and out.data is not None
    assert out.data["created_time"] == "2023-11-14T22:13:20.12Z"


def test_each_write_is_a_new_version_and_old_ones_stay_readable(kv: Harness) -> None:
    for i in range(1, 4):
        out = kv.write("data/s", {"data": {"i": i}})
        assert out is not None and out.data is not None and out.data["version"] == i
    for i in range(1, 4):
        got = kv.read("data/s", version=str(i))
        assert got is not None and got.data is not None
        assert got.data["data"] == {"i": i} and got.data["metadata"]["version"] == i
    latest = kv.read("data/s", version="0")
    assert latest is not None and latest.data is not None and latest.data["data"] == {"i": 3}
    assert kv.read("data/s", version="9") is None


def test_version_in_body_works_like_the_query(kv: Harness) -> None:
    kv.write("data/s", {"data": {"i": 1}})
    kv.write("data/s", {"data": {"i": 2}})
    got = kv.call(Operation.READ, "data/s", {"version": 1})
    assert got is not None and got.data is not None and got.data["data"] == {"i": 1}


def test_read_missing_is_none(kv: Harness) -> None:
    assert kv.read("data/nope") is None
    assert kv.read("data/") is None


def test_bad_version_parameter(kv: Harness) -> None:
    kv.write("data/s", {"data": {"i": 1}})
    with pytest.raises(InvalidRequest, match="version"):
        kv.read("data/s", version="abc")


def test_write_without_data_is_refused_and_warns_about_unknown_fields(kv: Harness) -> None:
    with pytest.raises(InvalidRequest, match="no data provided"):
        kv.write("data/s", {"user": "u"})
    assert kv.read("data/s") is None
    out = kv.write("data/s", {"data": {"a": 1}, "bogus": 1})
    assert out is not None and any("bogus" in w for w in out.warnings)


@pytest.mark.parametrize("bad", ["not json", ["a", "b"], 5, True])
def test_write_with_non_map_data_is_refused(kv: Harness, bad: object) -> None:
    with pytest.raises(InvalidRequest):
        kv.write("data/s", {"data": bad})
    assert kv.storage.data == {}


def test_write_with_unstorable_value_is_refused_cleanly(kv: Harness) -> None:
    with pytest.raises(InvalidRequest, match="64 bits"):
        kv.write("data/s", {"data": {"big": 2**80}})
    assert kv.storage.data == {}


def test_empty_data_map_is_a_valid_version(kv: Harness) -> None:
    kv.write("data/s", {"data": {}})
    got = kv.read("data/s")
    assert got is not None and got.data is not None and got.data["data"] == {}


@pytest.mark.parametrize(("path", "message"), [("data/", "missing path"), ("data//x", "must not start"),
                                               ("data/a/", "cannot write to a path ending in '/'"),
                                               ("data/a//b", "contain '//'")])
def test_write_to_malformed_paths_is_refused(kv: Harness, path: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        kv.write(path, {"data": {"a": 1}})
    assert kv.storage.data == {}


def test_storage_layout_one_metadata_entry_and_one_per_version(kv: Harness) -> None:
    for i in range(3):
        kv.write("data/a/b", {"data": {"i": i}})
    keys = sorted(kv.storage.data)
    assert keys[0] == "_kv/metadata/a/b"
    versions = [k for k in keys if k.startswith("_kv/versions/")]
    assert len(versions) == 3 and {k.rsplit("/", 1)[1] for k in versions} == {"1", "2", "3"}
    assert len(keys) == 4


# --- check-and-set -----------------------------------------------------------------------------------------

def test_cas_zero_only_creates(kv: Harness) -> None:
    kv.write("data/s", {"data": {"a": 1}, "options": {"cas": 0}})
    with pytest.raises(CASMismatch, match="check-and-set parameter did not match the current version"):
        kv.write("data/s", {"data": {"a": 2}, "options": {"cas": 0}})
    got = kv.read("data/s")
    assert got is not None and got.data is not None and got.data["data"] == {"a": 1}


def test_cas_must_match_current_version(kv: Harness) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    with pytest.raises(CASMismatch):
        kv.write("data/s", {"data": {"a": 2}, "options": {"cas": 2}})
    out = kv.write("data/s", {"data": {"a": 2}, "options": {"cas": 1}})
    assert out is not None and out.data is not None and out.data["version"] == 2
    out = kv.write("data/s", {"data": {"a": 3}, "options": {"cas": "2"}})  # weakly typed, as Vault
    assert out is not None and out.data is not None and out.data["version"] == 3


@pytest.mark.parametrize("bad", ["x", [1], {"a": 1}, "1.5", 1.5, 0.0, " 1"])
def test_unparsable_cas(kv: Harness, bad: object) -> None:
    with pytest.raises(InvalidRequest, match="error parsing check-and-set parameter"):
        kv.write("data/s", {"data": {"a": 1}, "options": {"cas": bad}})


@pytest.mark.parametrize(("cas", "current"), [(None, 0), ("", 0), (True, 1), ("0x1", 1), ("01", 1), ("-0", 0)])
def test_cas_weak_decoding(kv: Harness, cas: object, current: int) -> None:
    if current:
        kv.write("data/s", {"data": {"a": 0}})
    out = kv.write("data/s", {"data": {"a": 1}, "options": {"cas": cas}})
    assert out is not None and out.data is not None and out.data["version"] == current + 1


def test_options_must_be_a_map(kv: Harness) -> None:
    with pytest.raises(InvalidRequest, match="options"):
        kv.write("data/s", {"data": {"a": 1}, "options": [1]})


def test_cas_required_by_config(kv: Harness) -> None:
    kv.write("config", {"cas_required": True})
    with pytest.raises(InvalidRequest, match="check-and-set parameter required for this call"):
        kv.write("data/s", {"data": {"a": 1}})
    kv.write("data/s", {"data": {"a": 1}, "options": {"cas": 0}})


def test_cas_required_by_metadata(kv: Harness) -> None:
    kv.write("metadata/s", {"cas_required": True})
    with pytest.raises(InvalidRequest, match="check-and-set parameter required"):
        kv.write("data/s", {"data": {"a": 1}})
    kv.write("data/s", {"data": {"a": 1}, "options": {"cas": 0}})  # metadata-only key: current_version 0
    kv.write("data/other", {"data": {"a": 1}})  # other keys unaffected


def test_cas_is_atomic_under_concurrency(clock: FakeClock) -> None:
    h = Harness(lambda c: v2.build(c, clock=clock), storage=YieldingStorage())

    async def race() -> list[object]:
        writes = [h.acall(Operation.UPDATE, "data/s", {"data": {"w": i}, "options": {"cas": 0}})
                  for i in range(20)]
        return await asyncio.gather(*writes, return_exceptions=True)

    try:
        results = h.runner.run(race())
        ok = [r for r in results if not isinstance(r, BaseException)]
        assert len(ok) == 1
        assert all(isinstance(r, CASMismatch) for r in results if isinstance(r, BaseException))
        meta = h.read("metadata/s")
        assert meta is not None and meta.data is not None and meta.data["current_version"] == 1
    finally:
        h.close()


def test_concurrent_writes_without_cas_never_lose_a_version(clock: FakeClock) -> None:
    h = Harness(lambda c: v2.build(c, clock=clock), storage=YieldingStorage())

    async def burst() -> None:
        await asyncio.gather(*[h.acall(Operation.UPDATE, "data/s", {"data": {"w": i}}) for i in range(30)])

    try:
        h.runner.run(burst())
        meta = h.read("metadata/s")
        assert meta is not None and meta.data is not None
        assert meta.data["current_version"] == 30 and len(meta.data["versions"]) == 10
    finally:
        h.close()


# --- max_versions ----------------------------------------------------------------------------------------

def _meta(kv: Harness, path: str) -> dict[str, object]:
    got = kv.read("metadata/" + path)
    assert got is not None and got.data is not None
    return got.data


def _version_blobs(kv: Harness) -> int:
    return sum(1 for k in kv.storage.data if k.startswith("_kv/versions/"))


def test_default_keeps_ten_versions(kv: Harness) -> None:
    for i in range(12):
        kv.write("data/s", {"data": {"i": i}})
    m = _meta(kv, "s")
    assert m["current_version"] == 12 and m["oldest_version"] == 3
    assert sorted(map(int, m["versions"])) == list(range(3, 13))  # type: ignore[call-overload]
    assert _version_blobs(kv) == 10
    assert kv.read("data/s", version="2") is None


def test_oldest_version_stays_zero_until_the_window_fills(kv: Harness) -> None:
    kv.write("config", {"max_versions": 3})
    kv.write("data/s", {"data": {"i": 1}})
    kv.write("data/s", {"data": {"i": 2}})
    assert _meta(kv, "s")["oldest_version"] == 0
    kv.write("data/s", {"data": {"i": 3}})
    assert _meta(kv, "s")["oldest_version"] == 1
    kv.write("data/s", {"data": {"i": 4}})
    m = _meta(kv, "s")
    assert m["oldest_version"] == 2 and set(m["versions"]) == {"2", "3", "4"}  # type: ignore[arg-type]
    assert _version_blobs(kv) == 3


def test_key_and_mount_max_versions_larger_wins(kv: Harness) -> None:
    kv.write("config", {"max_versions": 2})
    kv.write("metadata/s", {"max_versions": 4})
    for i in range(6):
        kv.write("data/s", {"data": {"i": i}})
    assert len(_meta(kv, "s")["versions"]) == 4  # type: ignore[arg-type]


def test_lowering_max_versions_prunes_on_next_write(kv: Harness) -> None:
    for i in range(6):
        kv.write("data/s", {"data": {"i": i}})
    kv.write("metadata/s", {"max_versions": 2})
    assert len(_meta(kv, "s")["versions"]) == 6  # type: ignore[arg-type]
    kv.write("data/s", {"data": {"i": 6}})
    m = _meta(kv, "s")
    assert set(m["versions"]) == {"6", "7"} and m["oldest_version"] == 6  # type: ignore[arg-type]
    assert _version_blobs(kv) == 2


# --- delete / undelete / destroy --------------------------------------------------------------------------

def test_delete_latest_then_read_is_404_with_metadata(kv: Harness, clock: FakeClock) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    kv.write("data/s", {"data": {"a": 2}})
    clock.advance(1)
    assert kv.delete("data/s") is None
    clock.advance(1)
    got = kv.read("data/s")
    assert got is not None and got.raw_status == 404 and got.data is not None
    assert got.data["data"] is None
    assert got.data["metadata"]["version"] == 2 and got.data["metadata"]["deletion_time"] != ""
    older = kv.read("data/s", version="1")
    assert older is not None and older.raw_status is None
    assert kv.changes == ["s", "s", "s"]


def test_delete_latest_twice_keeps_the_first_deletion_time(kv: Harness, clock: FakeClock) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    clock.advance(1)
    kv.delete("data/s")
    first = _meta(kv, "s")["versions"]["1"]["deletion_time"]  # type: ignore[index]
    clock.advance(5)
    kv.delete("data/s")
    assert _meta(kv, "s")["versions"]["1"]["deletion_time"] == first  # type: ignore[index]
    assert kv.delete("data/missing") is None


def test_delete_undelete_versions(kv: Harness, clock: FakeClock) -> None:
    for i in range(3):
        kv.write("data/s", {"data": {"i": i}})
    clock.advance(1)
    assert kv.write("delete/s", {"versions": [1, 2]}) is None
    clock.advance(1)
    for v in ("1", "2"):
        got = kv.read("data/s", version=v)
        assert got is not None and got.raw_status == 404
    kv.write("undelete/s", {"versions": "1,2,99"})  # comma string, unknown versions ignored
    for v in ("1", "2"):
        got = kv.read("data/s", version=v)
        assert got is not None and got.raw_status is None
    assert _meta(kv, "s")["versions"]["1"]["deletion_time"] == ""  # type: ignore[index]


def test_destroy_removes_data_for_good(kv: Harness) -> None:
    kv.write("data/s", {"data": {"i": 1}})
    kv.write("data/s", {"data": {"i": 2}})
    kv.write("destroy/s", {"versions": [1]})
    got = kv.read("data/s", version="1")
    assert got is not None and got.raw_status == 404 and got.data is not None
    assert got.data["metadata"]["destroyed"] is True and got.data["data"] is None
    assert _version_blobs(kv) == 1
    kv.write("undelete/s", {"versions": [1]})
    got = kv.read("data/s", version="1")
    assert got is not None and got.raw_status == 404  # destroyed stays destroyed


@pytest.mark.parametrize(("verb", "message"), [("delete", "No version number provided"),
                                               ("undelete", "No version number provided"),
                                               ("destroy", "no version number provided")])
def test_version_endpoints_need_versions(kv: Harness, verb: str, message: str) -> None:
    kv.write("data/s", {"data": {"i": 1}})
    with pytest.raises(InvalidRequest, match=message):
        kv.write(f"{verb}/s", {})
    with pytest.raises(InvalidRequest, match="versions"):
        kv.write(f"{verb}/s", {"versions": ["x"]})
    assert kv.write(f"{verb}/missing", {"versions": [1]}) is None


def test_version_endpoints_have_no_read(kv: Harness) -> None:
    with pytest.raises(UnsupportedOperation):
        kv.read("destroy/s")


# --- patch --------------------------------------------------------------------------------------------------

def test_patch_is_a_json_merge_patch_onto_the_latest_version(kv: Harness) -> None:
    kv.write("data/s", {"data": {"keep": 1, "drop": 2, "nested": {"a": 1, "b": 2}, "list": [1, 2]}})
    out = kv.patch("data/s", {"data": {"drop": None, "nested": {"b": None, "c": 3}, "list": [3], "new": "x"}})
    assert out is not None and out.data is not None and out.data["version"] == 2
    got = kv.read("data/s")
    assert got is not None and got.data is not None
    assert got.data["data"] == {"keep": 1, "nested": {"a": 1, "c": 3}, "list": [3], "new": "x"}


def test_patch_needs_an_existing_live_version(kv: Harness, clock: FakeClock) -> None:
    with pytest.raises(NotFound):
        kv.patch("data/s", {"data": {"a": 1}})
    kv.write("metadata/s", {"max_versions": 3})
    with pytest.raises(NotFound):
        kv.patch("data/s", {"data": {"a": 1}})
    kv.write("data/s", {"data": {"a": 1}})
    kv.delete("data/s")
    clock.advance(1)  # deletion_time == now is not yet "before now"; Vault compares strictly too
    out = kv.patch("data/s", {"data": {"a": 2}})
    assert out is not None and out.raw_status == 404 and out.data is not None
    assert out.data["version"] == 1 and "created_time" in out.data


def test_patch_checks_cas_and_input(kv: Harness) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    with pytest.raises(InvalidRequest, match="no data provided"):
        kv.patch("data/s", {})
    with pytest.raises(CASMismatch):
        kv.patch("data/s", {"data": {"a": 2}, "options": {"cas": 5}})
    out = kv.patch("data/s", {"data": {"a": 2}, "options": {"cas": 1}})
    assert out is not None and out.data is not None and out.data["version"] == 2
    kv.write("config", {"cas_required": True})
    with pytest.raises(InvalidRequest, match="required"):
        kv.patch("data/s", {"data": {"a": 3}})


# --- subkeys ------------------------------------------------------------------------------------------------

def test_subkeys(kv: Harness) -> None:
    kv.write("data/s", {"data": {"foo": "abc", "bar": {"baz": "x", "q": {"deep": 1}}, "e": {}, "l": [1]}})
    got = kv.read("subkeys/s")
    assert got is not None and got.data is not None
    expected = {"foo": None, "bar": {"baz": None, "q": {"deep": None}}, "e": None, "l": None}
    assert got.data["subkeys"] == expected
    assert set(got.data["metadata"]) == VERSION_META_KEYS
    one = kv.read("subkeys/s", depth="1")
    assert one is not None and one.data is not None
    assert one.data["subkeys"] == {"foo": None, "bar": None, "e": None, "l": None}
    two = kv.read("subkeys/s", depth="2")
    assert two is not None and two.data is not None
    assert two.data["subkeys"]["bar"] == {"baz": None, "q": None}


def test_subkeys_versions_and_deleted(kv: Harness, clock: FakeClock) -> None:
    kv.write("data/s", {"data": {"v1": 1}})
    kv.write("data/s", {"data": {"v2": 1}})
    got = kv.read("subkeys/s", version="1")
    assert got is not None and got.data is not None and got.data["subkeys"] == {"v1": None}
    kv.delete("data/s")
    clock.advance(1)
    got = kv.read("subkeys/s")
    assert got is not None and got.raw_status == 404 and got.data is not None and got.data["subkeys"] is None
    assert kv.read("subkeys/missing") is None


# --- delete_version_after -----------------------------------------------------------------------------------

def test_delete_version_after_from_config(kv: Harness, clock: FakeClock) -> None:
    kv.write("config", {"delete_version_after": "1h"})
    out = kv.write("data/s", {"data": {"a": 1}})
    assert out is not None and out.data is not None and out.data["deletion_time"] != ""
    clock.advance(3599)
    got = kv.read("data/s")
    assert got is not None and got.raw_status is None
    clock.advance(2)
    got = kv.read("data/s")
    assert got is not None and got.raw_status == 404


def test_delete_version_after_smaller_wins_and_disable(kv: Harness, clock: FakeClock) -> None:
    kv.write("config", {"delete_version_after": "1h"})
    kv.write("metadata/s", {"delete_version_after": "10s"})
    kv.write("data/s", {"data": {"a": 1}})
    clock.advance(11)
    got = kv.read("data/s")
    assert got is not None and got.raw_status == 404
    kv.write("config", {"delete_version_after": "-1s"})
    out = kv.write("data/s", {"data": {"a": 2}})
    assert out is not None and out.data is not None and out.data["deletion_time"] == ""


def test_undelete_restarts_the_deletion_clock(kv: Harness, clock: FakeClock) -> None:
    kv.write("metadata/s", {"delete_version_after": 60})
    kv.write("data/s", {"data": {"a": 1}})
    clock.advance(61)
    assert kv.read("data/s").raw_status == 404  # type: ignore[union-attr]
    kv.write("undelete/s", {"versions": [1]})
    assert kv.read("data/s").raw_status is None  # type: ignore[union-attr]
    clock.advance(61)
    assert kv.read("data/s").raw_status == 404  # type: ignore[union-attr]


# --- config and the rest of the route table ---------------------------------------------------------------

def test_config_defaults_and_updates(kv: Harness) -> None:
    got = kv.read("config")
    assert got is not None
    assert got.data == {"max_versions": 0, "cas_required": False, "delete_version_after": "0s",
                        "metadata_cas_required": False}
    body = {"max_versions": 5, "cas_required": "true", "delete_version_after": "3h25m19s"}
    assert kv.write("config", body) is None
    got = kv.read("config")
    assert got is not None
    assert got.data == {"max_versions": 5, "cas_required": True, "delete_version_after": "3h25m19s",
                        "metadata_cas_required": False}
    kv.write("config", {"delete_version_after": -5})
    assert kv.read("config").data["delete_version_after"] == "-1s"  # type: ignore[union-attr]
    kv.write("config", {"delete_version_after": 0})
    assert kv.read("config").data["delete_version_after"] == "0s"  # type: ignore[union-attr]
    assert kv.write("config", {}) is None


@pytest.mark.parametrize("body", [{"max_versions": -1}, {"max_versions": "many"}, {"cas_required": "maybe"},
                                  {"delete_version_after": "soon"}])
def test_config_bad_input_changes_nothing(kv: Harness, body: dict[str, object]) -> None:
    kv.write("config", {"max_versions": 4})
    with pytest.raises(InvalidRequest):
        kv.write("config", body)
    assert kv.read("config").data["max_versions"] == 4  # type: ignore[union-attr]


def test_config_has_no_delete(kv: Harness) -> None:
    with pytest.raises(UnsupportedOperation):
        kv.delete("config")


def test_unknown_paths_answer_404_with_a_hint(kv: Harness) -> None:
    got = kv.read("foo")
    assert got is not None and got.raw_status == 404 and "'bao kv get'" in got.warnings[0]
    got = kv.write("foo/bar", {"a": 1})
    assert got is not None and got.raw_status == 404 and "'bao kv put'" in got.warnings[0]
    assert got.data is None
    got = kv.read("data")
    assert got is not None and got.raw_status == 404 and "root of a K/V v2 mount" in got.warnings[0]


def test_existence_checks_drive_create_vs_update(kv: Harness) -> None:
    assert kv.exists("data/s") is False
    assert kv.exists("metadata/s") is False
    kv.write("data/s", {"data": {"a": 1}})
    assert kv.exists("data/s") is True and kv.exists("metadata/s") is True
    assert kv.exists("destroy/s") is None and kv.exists("config") is None


def test_data_path_has_no_list(kv: Harness) -> None:
    with pytest.raises(UnsupportedOperation):
        kv.list("data/")


def test_change_notifications(kv: Harness) -> None:
    kv.write("data/a/b", {"data": {"x": 1}})
    kv.patch("data/a/b", {"data": {"y": 1}})
    kv.write("metadata/a/b", {"max_versions": 3})
    kv.write("delete/a/b", {"versions": [1]})
    kv.write("undelete/a/b", {"versions": [1]})
    kv.write("destroy/a/b", {"versions": [1]})
    kv.delete("data/a/b")
    kv.delete("metadata/a/b")
    kv.write("config", {"max_versions": 3})
    kv.read("data/a/b")
    assert kv.changes == ["a/b"] * 8


def test_failed_writes_do_not_notify(kv: Harness) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    with pytest.raises(CASMismatch):
        kv.write("data/s", {"data": {"a": 1}, "options": {"cas": 0}})
    assert kv.changes == ["s"]


def test_openapi_lists_the_versioned_routes(kv: Harness) -> None:
    doc = kv.backend.openapi("secret/")
    for p in ("/secret/config", "/secret/data/{path}", "/secret/metadata/{path}", "/secret/delete/{path}",
              "/secret/undelete/{path}", "/secret/destroy/{path}", "/secret/subkeys/{path}"):
        assert p in doc
    assert "patch" in doc["/secret/data/{path}"]


class FlakyDeletes(MemoryStorage):
    fail = False

    async def delete(self, key: str) -> None:
        if self.fail:
            raise RuntimeError("storage hiccup")
        await super().delete(key)


def test_a_failed_prune_warns_and_the_next_write_sweeps_up(clock: FakeClock) -> None:
    storage = FlakyDeletes()
    h = Harness(lambda c: v2.build(c, clock=clock), storage=storage)
    try:
        h.write("config", {"max_versions": 2})
        h.write("data/s", {"data": {"i": 1}})
        h.write("data/s", {"data": {"i": 2}})
        storage.fail = True
        out = h.write("data/s", {"data": {"i": 3}})  # the write itself lands
        assert out is not None and out.data is not None and out.data["version"] == 3
        assert out.warnings and "cleaned up on next write" in out.warnings[0] and "hiccup" not in out.warnings[0]
        assert _version_blobs(h) == 3
        storage.fail = False
        h.write("data/s", {"data": {"i": 4}})
        assert _version_blobs(h) == 2
        assert set(_meta(h, "s")["versions"]) == {"3", "4"}  # type: ignore[arg-type]
    finally:
        h.close()


def test_a_fresh_mount_is_marked_as_v2(clock: FakeClock) -> None:
    h = Harness(lambda c: v2.build(c, clock=clock))
    try:
        assert h.backend.initialize is not None
        h.runner.run(h.backend.initialize())
        assert list(h.storage.data) == ["_kv/format"]
        h.runner.run(h.backend.initialize())  # idempotent
        assert list(h.storage.data) == ["_kv/format"]
    finally:
        h.close()
