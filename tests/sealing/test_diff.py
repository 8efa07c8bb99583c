"""`diff_objects`: what changed between two Secrets/SealedSecrets, and how honestly we can know it."""

from __future__ import annotations

import copy
import json

from strongroom.sealing import Change, Scope, diff_objects, seal_secret

from .conftest import make_secret


def _changes(result):
    return {d.item: d.change for d in result.items}


def test_added_removed_and_unknown_without_key(pair):
    old = seal_secret(make_secret(a=b"same", b=b"gone", c=b"12345"), pair.public)
    new = seal_secret(make_secret(a=b"same", c=b"54321", d=b"new", e=b""), pair.public)
    result = diff_objects(old, new)
    assert _changes(result) == {"a": Change.UNKNOWN, "b": Change.REMOVED, "c": Change.UNKNOWN,
                                "d": Change.ADDED, "e": Change.ADDED}
    assert result.has_changes


def test_length_change_is_detectable_without_key(pair):
    old = seal_secret(make_secret(a=b"short"), pair.public)
    new = seal_secret(make_secret(a=b"much longer value"), pair.public)
    [item] = diff_objects(old, new).items
    assert (item.change, item.basis) == (Change.CHANGED, "value length differs")


def test_identical_ciphertext_is_unchanged(pair):
    old = seal_secret(make_secret(a=b"x"), pair.public)
    new = copy.deepcopy(old)
    result = diff_objects(old, new)
    assert _changes(result) == {"a": Change.UNCHANGED} and not result.has_changes


def test_with_private_key_values_are_compared(pair):
    old = seal_secret(make_secret(a=b"same", c=b"12345"), pair.public)
    new = seal_secret(make_secret(a=b"same", c=b"54321"), pair.public, Scope.CLUSTER_WIDE)
    result = diff_objects(old, new, [pair.key])
    assert _changes(result) == {"a": Change.UNCHANGED, "c": Change.CHANGED}
    assert ("scope", "changed") in result.fields


def test_plain_secret_against_sealed(pair):
    plain = make_secret(a=b"same", c=b"12345", z=b"abc")
    sealed = seal_secret(make_secret(a=b"same", c=b"54321", z=b"abcd"), pair.public)
    assert _changes(diff_objects(plain, sealed)) == {"a": Change.UNKNOWN, "c": Change.UNKNOWN,
                                                     "z": Change.CHANGED}
    assert _changes(diff_objects(plain, sealed, [pair.key])) == {"a": Change.UNCHANGED, "c": Change.CHANGED,
                                                                 "z": Change.CHANGED}


def test_metadata_fields_and_no_values_in_output(pair):
    old = make_secret(a=b"topsecret-1")
    new = make_secret(a=b"topsecret-2")
    new["metadata"]["labels"] = {"app": "x"}
    new["type"] = "kubernetes.io/basic-auth"
    new["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "topsecret-2"}
    result = diff_objects(old, new)
    assert ("labels.app", "added") in result.fields and ("type", "changed") in result.fields
    assert all("last-applied" not in f for f, _ in result.fields)
    assert "topsecret" not in json.dumps(result.as_json())


def test_status_summary(pair):
    a = seal_secret(make_secret(a=b"1"), pair.public)
    assert diff_objects(a, copy.deepcopy(a)).status == "unchanged"
    assert diff_objects(a, seal_secret(make_secret(a=b"2"), pair.public)).status == "unknown"
    assert diff_objects(a, seal_secret(make_secret(a=b"22"), pair.public)).status == "changed"
    assert diff_objects(a, seal_secret(make_secret(a=b"1"), pair.public), [pair.key]).status == "unchanged"
