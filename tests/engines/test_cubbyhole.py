"""Cubbyhole: per-token private storage."""

from __future__ import annotations

import pytest

from strongroom.sdk import InvalidRequest, Operation, StrongroomError
from tests.engines.harness import Harness

A, B = "tokA", "tokB"


def test_each_token_sees_only_its_own_cubbyhole(cubby: Harness) -> None:
    assert cubby.call(Operation.UPDATE, "k", {"v": 1}, token_id=A) is None
    cubby.call(Operation.UPDATE, "dir/k2", {"v": 2}, token_id=A)
    got = cubby.call(Operation.READ, "k", token_id=A)
    assert got is not None and got.data == {"v": 1} and got.secret is None
    assert cubby.call(Operation.READ, "k", token_id=B) is None
    assert cubby.call(Operation.LIST, "", token_id=B) is None
    listing = cubby.call(Operation.LIST, "", token_id=A)
    assert listing is not None and listing.data == {"keys": ["dir/", "k"]}
    listing = cubby.call(Operation.LIST, "dir", token_id=A)
    assert listing is not None and listing.data == {"keys": ["k2"]}
    assert sorted(cubby.storage.data) == ["tokA/dir/k2", "tokA/k"]
    cubby.call(Operation.DELETE, "k", token_id=B)  # B can't delete A's entry
    assert cubby.call(Operation.READ, "k", token_id=A) is not None
    cubby.call(Operation.DELETE, "k", token_id=A)
    assert cubby.call(Operation.READ, "k", token_id=A) is None


def test_existence_check_is_per_token(cubby: Harness) -> None:
    cubby.call(Operation.UPDATE, "k", {"v": 1}, token_id=A)
    req = cubby.request(Operation.UPDATE, "k", token_id=A)
    assert cubby.runner.run(cubby.backend.exists(req)) is True
    req = cubby.request(Operation.UPDATE, "k", token_id=B)
    assert cubby.runner.run(cubby.backend.exists(req)) is False


def test_bad_input(cubby: Harness) -> None:
    with pytest.raises(InvalidRequest, match="client token empty"):
        cubby.call(Operation.READ, "k")
    with pytest.raises(InvalidRequest, match="missing data fields"):
        cubby.call(Operation.UPDATE, "k", {}, token_id=A)
    with pytest.raises(InvalidRequest, match="missing path"):
        cubby.call(Operation.UPDATE, "", {"v": 1}, token_id=A)
    with pytest.raises(InvalidRequest):
        cubby.call(Operation.UPDATE, "a//b", {"v": 1}, token_id=A)
    with pytest.raises(InvalidRequest, match="64 bits"):
        cubby.call(Operation.UPDATE, "k", {"v": 2**70}, token_id=A)
    with pytest.raises(StrongroomError):
        cubby.call(Operation.READ, "k", token_id="a/b")
    assert cubby.storage.data == {}
