"""KV v2 metadata/: read, write, patch, delete, list, and custom_metadata limits."""

from __future__ import annotations

import pytest

from strongroom.sdk import CASMismatch, InvalidRequest, NotFound
from tests.engines.harness import FakeClock, Harness

METADATA_KEYS = {"versions", "current_version", "oldest_version", "created_time", "updated_time",
                 "max_versions", "cas_required", "delete_version_after", "custom_metadata",
                 "current_metadata_version", "metadata_cas_required"}


def meta(kv: Harness, path: str) -> dict[str, object]:
    got = kv.read("metadata/" + path)
    assert got is not None and got.data is not None
    return got.data


def test_read_shape(kv: Harness, clock: FakeClock) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    first = meta(kv, "s")["created_time"]
    clock.advance(2)
    kv.write("data/s", {"data": {"a": 2}})
    m = meta(kv, "s")
    assert set(m) == METADATA_KEYS
    assert m["current_version"] == 2 and m["oldest_version"] == 0
    assert m["created_time"] == first and m["updated_time"] != first
    assert m["max_versions"] == 0 and m["cas_required"] is False
    assert m["delete_version_after"] == "0s" and m["custom_metadata"] is None
    assert set(m["versions"]) == {"1", "2"}  # type: ignore[arg-type]
    assert m["versions"]["2"] == {"created_time": m["updated_time"], "deletion_time": "",  # type: ignore[index]
                                  "destroyed": False}
    assert kv.read("metadata/missing") is None


def test_write_settings_and_custom_metadata(kv: Harness) -> None:
    assert kv.write("metadata/s", {"max_versions": 5, "cas_required": True, "delete_version_after": "1h30m",
                                   "custom_metadata": {"owner": "team-a", "n": 3, "flag": True}}) is None
    m = meta(kv, "s")
    assert m["max_versions"] == 5 and m["cas_required"] is True
    assert m["delete_version_after"] == "1h30m0s"
    assert m["custom_metadata"] == {"owner": "team-a", "n": "3", "flag": "1"}
    assert m["current_version"] == 0 and m["versions"] == {} and m["created_time"] != ""
    out = kv.write("data/s", {"data": {"a": 1}, "options": {"cas": 0}})
    assert out is not None and out.data is not None
    assert out.data["custom_metadata"] == {"owner": "team-a", "n": "3", "flag": "1"}
    kv.write("metadata/s", {"custom_metadata": {"only": "this"}})  # POST replaces the whole map
    assert meta(kv, "s")["custom_metadata"] == {"only": "this"}
    assert meta(kv, "s")["max_versions"] == 5  # settings not given are kept
    kv.write("metadata/s", {"custom_metadata": {}})
    assert meta(kv, "s")["custom_metadata"] is None


def test_write_without_settings_creates_nothing(kv: Harness) -> None:
    assert kv.write("metadata/s", {}) is None
    assert kv.read("metadata/s") is None and kv.storage.data == {}


def test_cas_required_false_warns_when_the_mount_requires_it(kv: Harness) -> None:
    kv.write("config", {"cas_required": True})
    out = kv.write("metadata/s", {"cas_required": False})
    assert out is not None and out.warnings == [
        '"cas_required" set to false, but is mandated by backend config. This value will be ignored.']
    out = kv.patch("metadata/s", {"cas_required": False})
    assert out is not None and len(out.warnings) == 1


@pytest.mark.parametrize("body", [{"max_versions": -3}, {"delete_version_after": -5},
                                  {"max_versions": "x"}, {"cas_required": "perhaps"},
                                  {"custom_metadata": "nope"}, {"custom_metadata": {"k": {"nested": 1}}},
                                  {"custom_metadata": {"k": [1]}}])
def test_bad_metadata_input_changes_nothing(kv: Harness, body: dict[str, object]) -> None:
    kv.write("metadata/s", {"max_versions": 4})
    before = dict(kv.storage.data)
    with pytest.raises(InvalidRequest):
        kv.write("metadata/s", body)
    with pytest.raises(InvalidRequest):
        kv.patch("metadata/s", body)
    assert kv.storage.data == before


def test_custom_metadata_limits_match_vault(kv: Harness) -> None:
    ok = {f"k{i}": "v" for i in range(64)}
    kv.write("metadata/s", {"custom_metadata": ok})
    with pytest.raises(InvalidRequest) as e:
        kv.write("metadata/s", {"custom_metadata": {f"k{i}": "v" for i in range(65)}})
    assert e.value.message == ("1 error occurred:\n\t* custom_metadata validation failed: payload must "
                               "contain at most 64 keys, provided 65\n\n")
    kv.write("metadata/s", {"custom_metadata": {"k" * 128: "v" * 512}})
    with pytest.raises(InvalidRequest) as e:
        kv.write("metadata/s", {"custom_metadata": {"k" * 129: "v" * 513}})
    assert e.value.message.startswith("2 errors occurred:")
    assert "length of key" in e.value.message and "is 129 but must be 0 < len(key) <= 128" in e.value.message
    assert "is 513 but must be 0 < len(value) <= 512" in e.value.message
    with pytest.raises(InvalidRequest, match="length of value"):
        kv.write("metadata/s", {"custom_metadata": {"empty": ""}})
    with pytest.raises(InvalidRequest, match="unprintable"):
        kv.write("metadata/s", {"custom_metadata": {"bell": "a\x07"}})
    with pytest.raises(InvalidRequest, match="length of value for key"):
        kv.write("metadata/s", {"custom_metadata": {"k": "é" * 257}})  # 514 bytes: limits are in bytes
    assert meta(kv, "s")["custom_metadata"] == {"k" * 128: "v" * 512}


def test_limit_errors_never_echo_values(kv: Harness) -> None:
    with pytest.raises(InvalidRequest) as e:
        kv.write("metadata/s", {"custom_metadata": {"k": "s3cr3t-value\x00"}})
    assert "s3cr3t" not in e.value.message


def test_patch_merges(kv: Harness) -> None:
    kv.write("metadata/s", {"max_versions": 5, "cas_required": True,
                            "custom_metadata": {"a": "1", "b": "2"}})
    assert kv.patch("metadata/s", {"custom_metadata": {"b": None, "c": "3"}, "max_versions": 7}) is None
    m = meta(kv, "s")
    assert m["custom_metadata"] == {"a": "1", "c": "3"}
    assert m["max_versions"] == 7 and m["cas_required"] is True
    kv.patch("metadata/s", {"cas_required": None, "delete_version_after": "10m"})
    m = meta(kv, "s")
    assert m["cas_required"] is False and m["delete_version_after"] == "10m0s" and m["max_versions"] == 7
    kv.patch("metadata/s", {"custom_metadata": None})
    assert meta(kv, "s")["custom_metadata"] is None


def test_patch_checks_the_merged_custom_metadata(kv: Harness) -> None:
    kv.write("metadata/s", {"custom_metadata": {f"k{i}": "v" for i in range(60)}})
    with pytest.raises(InvalidRequest, match="at most 64 keys"):
        kv.patch("metadata/s", {"custom_metadata": {f"n{i}": "v" for i in range(10)}})
    assert len(meta(kv, "s")["custom_metadata"]) == 60  # type: ignore[arg-type]


def test_patch_missing_is_not_found(kv: Harness) -> None:
    with pytest.raises(NotFound):
        kv.patch("metadata/s", {"max_versions": 1})
    with pytest.raises(InvalidRequest, match="missing path"):
        kv.patch("metadata/", {"max_versions": 1})


def test_delete_removes_every_version_and_the_metadata(kv: Harness) -> None:
    for i in range(3):
        kv.write("data/s", {"data": {"i": i}})
    kv.write("data/other", {"data": {"i": 0}})
    assert kv.delete("metadata/s") is None
    assert kv.read("metadata/s") is None and kv.read("data/s") is None
    assert all("other" in k or not k.startswith("_kv/metadata/") for k in kv.storage.data)
    assert sum(k.startswith("_kv/versions/") for k in kv.storage.data) == 1
    assert kv.delete("metadata/s") is None
    out = kv.write("data/s", {"data": {"fresh": True}})
    assert out is not None and out.data is not None and out.data["version"] == 1


def test_list(kv: Harness) -> None:
    for p in ("a", "b/c", "b/d/e", "c"):
        kv.write("data/" + p, {"data": {"x": 1}})
    root = kv.list("metadata/")
    assert root is not None and root.data == {"keys": ["a", "b/", "c"]}
    sub = kv.list("metadata/b")  # trailing slash optional
    assert sub is not None and sub.data == {"keys": ["c", "d/"]}
    assert kv.list("metadata/nothing/") is None
    page = kv.list("metadata/", after="a", limit="1")
    assert page is not None and page.data == {"keys": ["b/"]}
    with pytest.raises(InvalidRequest):
        kv.list("metadata/", limit="lots")


def test_soft_deleted_secrets_are_still_listed(kv: Harness) -> None:
    kv.write("data/s", {"data": {"x": 1}})
    kv.delete("data/s")
    kv.write("destroy/s", {"versions": [1]})
    got = kv.list("metadata/")
    assert got is not None and got.data == {"keys": ["s"]}


def test_metadata_writes_bump_the_metadata_version_and_updated_time(kv: Harness, clock: FakeClock) -> None:
    kv.write("data/s", {"data": {"a": 1}})
    m = meta(kv, "s")
    assert m["current_metadata_version"] == 0 and m["updated_time"] == m["created_time"]
    clock.advance(1)
    kv.write("metadata/s", {"max_versions": 0})
    m2 = meta(kv, "s")
    assert m2["current_metadata_version"] == 1 and m2["updated_time"] != m["updated_time"]
    kv.patch("metadata/s", {"cas_required": False})
    assert meta(kv, "s")["current_metadata_version"] == 2
    clock.advance(1)
    kv.write("data/s", {"data": {"a": 2}})  # data writes move updated_time, not the metadata version
    assert meta(kv, "s")["current_metadata_version"] == 2


def test_metadata_check_and_set(kv: Harness) -> None:
    kv.write("metadata/m", {"metadata_cas_required": True})
    assert meta(kv, "m")["metadata_cas_required"] is True
    with pytest.raises(InvalidRequest, match="metadata check-and-set parameter required for this call"):
        kv.write("metadata/m", {"max_versions": 2})
    with pytest.raises(CASMismatch, match="metadata check-and-set parameter does not match"):
        kv.write("metadata/m", {"max_versions": 2, "metadata_cas": 5})
    kv.write("metadata/m", {"max_versions": 2, "metadata_cas": 1})
    with pytest.raises(InvalidRequest, match="required"):
        kv.patch("metadata/m", {"max_versions": 3})
    kv.patch("metadata/m", {"max_versions": 3, "metadata_cas": 2})
    assert meta(kv, "m")["max_versions"] == 3
    kv.write("data/m", {"data": {"x": 1}})  # data writes don't need it
    kv.delete("metadata/m")  # nor does deleting the key
    kv.write("config", {"metadata_cas_required": True})
    assert kv.read("config").data["metadata_cas_required"] is True  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest, match="required"):
        kv.write("metadata/new", {"max_versions": 1})
    kv.write("metadata/new", {"max_versions": 1, "metadata_cas": 0})


def test_detailed_metadata_listing(kv: Harness) -> None:
    kv.write("data/a", {"data": {"x": 1}})
    kv.write("data/a/b", {"data": {"x": 1}})
    kv.write("data/c/d", {"data": {"x": 1}})
    got = kv.list("detailed-metadata/")
    assert got is not None and got.data is not None
    assert got.data["keys"] == ["a", "a/", "c/"]
    # OpenBao attaches the metadata of secret "a" to the folder "a/" as well; "c/" has no secret "c"
    assert set(got.data["key_info"]) == {"a", "a/"}
    assert got.data["key_info"]["a"] == meta(kv, "a")
    sub = kv.list("detailed-metadata/a/")
    assert sub is not None and sub.data is not None and sub.data["key_info"]["b"] == meta(kv, "a/b")
    assert kv.list("detailed-metadata/none/") is None


def test_list_of_the_bare_metadata_root_lists_the_mount(kv: Harness) -> None:
    kv.write("data/a/b", {"data": {"x": 1}})
    got = kv.list("metadata")
    assert got is not None and got.data == {"keys": ["a/"]}
    got = kv.list("detailed-metadata")
    assert got is not None and got.data is not None and got.data["keys"] == ["a/"]
    got = kv.read("metadata")
    assert got is not None and got.raw_status == 404 and "root of a K/V v2 mount" in got.warnings[0]
