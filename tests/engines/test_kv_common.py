"""The small formats and helpers KV is built on."""

from __future__ import annotations

import asyncio

import pytest

from strongroom.engines.kv._common import KeyedLocks, go_duration, merge_patch, rfc3339nano


@pytest.mark.parametrize(("ns", "text"), [
    (None, ""),
    (0, "1970-01-01T00:00:00Z"),
    (1_521_685_446_945_319_214, "2018-03-22T02:24:06.945319214Z"),
    (1_521_685_446_100_000_000, "2018-03-22T02:24:06.1Z"),
    (1_521_685_446_000_001_000, "2018-03-22T02:24:06.000001Z"),
])
def test_rfc3339nano_like_go(ns: int | None, text: str) -> None:
    assert rfc3339nano(ns) == text


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (45, "45s"), (60, "1m0s"), (90, "1m30s"),
                                               (3600, "1h0m0s"), (12319, "3h25m19s"), (-1, "-1s"),
                                               (90000, "25h0m0s")])
def test_go_duration_like_go(seconds: int, text: str) -> None:
    assert go_duration(seconds) == text


def test_merge_patch_rfc7386_examples() -> None:
    target = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["a", "b"],
              "content": "This will be unchanged"}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None},
             "tags": ["example"]}
    assert merge_patch(target, patch) == {"title": "Hello!", "author": {"givenName": "John"},
                                          "tags": ["example"], "content": "This will be unchanged",
                                          "phoneNumber": "+01-123-456-7890"}
    assert merge_patch({"a": "b"}, {"a": {"b": "c"}}) == {"a": {"b": "c"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert target["author"] == {"givenName": "John", "familyName": "Doe"}  # inputs are not modified


def test_keyed_locks_serialise_per_key_and_clean_up() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def worker(key: str, tag: str) -> None:
        async with locks.hold(key):
            order.append(f"{tag}+")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            order.append(f"{tag}-")

    async def failing() -> None:
        async with locks.hold("a"):
            raise RuntimeError("boom")

    async def main() -> None:
        await asyncio.gather(worker("a", "1"), worker("a", "2"), worker("b", "3"))
        with pytest.raises(RuntimeError):
            await failing()

    asyncio.run(main())
    a_events = [e for e in order if e[0] in "12"]
    assert a_events in (["1+", "1-", "2+", "2-"], ["2+", "2-", "1+", "1-"])
    assert order.index("3+") < order.index("1-") or order.index("3+") < order.index("2-")  # b didn't wait
    assert len(locks) == 0
