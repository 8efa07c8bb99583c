"""Pure parts: ESO hashes, gjson paths, decoding, rewrites, store conditions, durations, desired Secret."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.operator.externalsecret import desired as d
from strongroom.operator.externalsecret.controller import parse_go_duration
from strongroom.operator.externalsecret.providers import StoreConfigError
from strongroom.operator.externalsecret.providers.base import gjson_get, select_property
from strongroom.operator.externalsecret.stores import namespace_allowed


def test_data_hash_is_sha3_224_of_go_percent_plus_v() -> None:
    data = {"b": b"hi", "a": b"", "c": b"\x00\xff"}
    assert d.go_bytes_map(data) == "map[a:[] b:[104 105] c:[0 255]]"
    assert d.data_hash(data) == hashlib.sha3_224(b"map[a:[] b:[104 105] c:[0 255]]").hexdigest()
    assert d.go_bytes_map({}) == "map[]"


def test_synced_resource_version_and_created_by() -> None:
    es = {"metadata": {"generation": 3, "labels": {"b": "2", "a": "1"}, "annotations": {"x": "y"}}}
    digest = hashlib.sha3_224(b"map[a:1 b:2]map[x:y]").hexdigest()
    assert d.synced_resource_version(es) == f"3-{digest}"
    assert d.created_by("ns", "n") == hashlib.sha3_224(b"ns/n").hexdigest()


def test_gjson_paths() -> None:
    doc = {"a": {"b": [10, {"c": "x"}]}, "d.e": "dot"}
    assert gjson_get(doc, "a.b.0") == 10 and gjson_get(doc, "a.b.1.c") == "x"
    assert gjson_get(doc, "a.b.#") == 2 and gjson_get(doc, r"d\.e") == "dot"
    assert gjson_get(doc, "a.zz") is None
    assert select_property(doc, "a", "s") == b'{"b":[10,{"c":"x"}]}'
    assert select_property(doc, "d.e", "s") == b"dot"  # a top-level key with a dot wins


@pytest.mark.parametrize(("value", "strategy", "want"), [
    (b"aGk=", "Base64", b"hi"), (b"aGk", "Base64URL", b"hi"), (b"_-8", "Base64URL", b"\xff\xef"),
    (b"aGk=", "Auto", b"hi"), (b"not base64!", "Auto", b"not base64!"), (b"aGk=", "None", b"aGk="),
    (b"aGk=", "", b"aGk="),
])
def test_decoding_strategies(value: bytes, strategy: str, want: bytes) -> None:
    assert d.decode(value, strategy, "x") == want


def test_decoding_error_names_the_place_not_the_value() -> None:
    with pytest.raises(d.SyncError) as exc:
        d.decode(b"s3cr3t!!", "Base64", "spec.data[2]")
    assert "spec.data[2]" in str(exc.value) and "s3cr3t" not in str(exc.value)


def test_rewrite_and_conversion() -> None:
    data = {"db/user": b"u", "db/pass": b"p"}
    out = d.rewrite(data, [{"regexp": {"source": "db/(.*)", "target": "DB_$1"}},
                           {"transform": {"template": "{{ .value | lower }}"}}], "w")
    assert out == {"db_user": b"u", "db_pass": b"p"}
    with pytest.raises(d.SyncError, match="not a valid Secret key"):
        d.rewrite({"a b": b""}, [], "w")
    assert d.convert_key("user_U0040_example", "Unicode") == "user@example"
    assert d.convert_key("user_U0040_example", "Default") == "user_U0040_example"


def test_namespace_conditions() -> None:
    assert namespace_allowed([], "x", {})
    assert namespace_allowed([{"namespaces": ["a", "b"]}], "b", {})
    assert not namespace_allowed([{"namespaces": ["a"]}], "b", {})
    assert namespace_allowed([{"namespaceRegexes": ["^team-"]}], "team-x", {})
    sel = {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}}
    assert namespace_allowed([sel], "p", {"env": "prod"}) and not namespace_allowed([sel], "p", {"env": "dev"})


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h0m0s", 3600), ("15s", 15), ("1m30s", 90), ("500ms", 0.5), ("0", 0), ("", 0), (60, 60)])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == seconds


def test_bad_duration() -> None:
    with pytest.raises(StoreConfigError):
        parse_go_duration("soon")


def _es(**target: object) -> dict[str, object]:
    return {"metadata": {"name": "es", "namespace": "ns", "uid": "u1", "generation": 1},
            "spec": {"target": target}}


def test_desired_secret_owner_and_in_sync() -> None:
    es = _es(template={"type": "kubernetes.io/tls", "metadata": {"labels": {"x": "1"}},
                       "data": {"tls.crt": "{{ .crt }}"}})
    rendered = d.render(es, {"crt": b"CERT", "other": b"o"}, {})
    assert rendered.data == {"tls.crt": b"CERT"} and rendered.type == "kubernetes.io/tls"
    body = d.desired_secret(es, rendered, None)
    meta = body["metadata"]
    assert meta["labels"] == {"x": "1", d.LABEL_MANAGED: "true", d.LABEL_CREATED_BY: d.created_by("ns", "es")}
    assert meta["ownerReferences"][0]["uid"] == "u1" and body["data"] == {"tls.crt": base64.b64encode(b"CERT").decode()}
    existing = {**body, "metadata": {**meta, "resourceVersion": "5"}}
    assert d.is_valid(existing) and d.in_sync(existing, body)
    edited = {**existing, "data": {"tls.crt": base64.b64encode(b"HAND").decode()}}
    assert not d.is_valid(edited) and not d.in_sync(edited, body)


def test_merge_policy_and_orphan() -> None:
    es = _es(creationPolicy="Orphan", template={"mergePolicy": "Merge", "data": {"k": "{{ .a }}{{ .b }}"}})
    rendered = d.render(es, {"a": b"1", "b": b"2"}, {})
    assert rendered.data == {"a": b"1", "b": b"2", "k": b"12"}
    body = d.desired_secret(es, rendered, None)
    assert "ownerReferences" not in body["metadata"] and d.LABEL_CREATED_BY not in body["metadata"]["labels"]


def test_conflicts() -> None:
    es = _es()
    theirs = {"metadata": {"ownerReferences": [{"kind": "ExternalSecret", "uid": "other", "controller": True}]}}
    assert d.conflict(es, theirs) == "target is owned by another ExternalSecret"
    assert "refusing to adopt" in d.conflict(es, {"metadata": {}})
    assert d.conflict(_es(creationPolicy="Merge"), {"metadata": {}}) == ""


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.binary(max_size=8), max_size=5))
def test_hash_changes_with_any_byte(data: dict[str, bytes]) -> None:
    h = d.data_hash(data)
    for k, v in data.items():
        assert d.data_hash({**data, k: v + b"x"}) != h
