"""Differential tests: the same request sequences against a real OpenBao dev server (over HTTP) and against our
engine backends (in-process), comparing status codes and response bodies with timestamps masked.

This is the compatibility proof for the engine's shapes and messages; the lead's end-to-end hvac tests cover
the HTTP layer on top.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from strongroom.engines import cubbyhole
from strongroom.engines.kv import v1, v2
from strongroom.sdk import Operation, StrongroomError
from tests.engines.harness import Harness

pytestmark = pytest.mark.bao

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
VERBS = {"GET": Operation.READ, "POST": Operation.UPDATE, "PATCH": Operation.PATCH, "DELETE": Operation.DELETE,
         "LIST": Operation.LIST}
SYSTEM_DEFAULT_TTL = 2764800  # 768h, OpenBao's default lease TTL
# messages produced by the shared request framework (owned by the SDK, not this engine): compare status only
FRAMEWORK_ERRORS = ("error converting input", "Field validation failed", "unsupported operation")

Step = tuple[str, str, dict[str, Any] | None]


def mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str) and TS.match(value):
        return "<ts>"
    return value


class StrictClock:
    """Wall-clock nanoseconds that never repeat, so "deleted before now" holds right after a delete."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> int:
        self.last = max(time.time_ns(), self.last + 1)
        return self.last


@pytest.fixture(scope="module")
def bao(bao_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bao_server.addr + "/v1/", headers={"X-Vault-Token": "root"}, timeout=10) as c:
        yield c


def mount(bao: httpx.Client, kind: str, options: dict[str, str] | None = None) -> str:
    name = f"t{uuid.uuid4().hex[:10]}"
    r = bao.post(f"sys/mounts/{name}", json={"type": kind, "options": options or {}})
    assert r.status_code == 204, r.text
    if options and options.get("version") == "2":
        for _ in range(100):  # the v2 backend finishes its (empty) upgrade in the background
            if bao.get(f"{name}/config").status_code == 200:
                break
            time.sleep(0.05)
    return name


def bao_call(bao: httpx.Client, prefix: str, step: Step) -> tuple[int, Any]:
    method, path, body = step
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    url = f"{prefix}/{path}"
    if method in ("GET", "LIST") and body:
        r = bao.request(method, url, params=body)
    else:
        r = bao.request(method, url, json=body, headers=headers)
    if not r.content:
        # OpenBao answers some 404s with an empty body; ours carry {"errors": []} (same for every client)
        return r.status_code, {"errors": []} if r.status_code == 404 else None
    doc = r.json()
    if "errors" in doc:
        return r.status_code, {"errors": doc["errors"]}
    out = {"data": doc.get("data"), "warnings": doc.get("warnings")}
    if doc.get("lease_duration"):
        out["lease_duration"] = doc["lease_duration"]
    return r.status_code, out


def our_call(h: Harness, step: Step, token_id: str = "") -> tuple[int, Any]:
    method, path, body = step
    op = VERBS[method]
    query = {k: str(v) for k, v in (body or {}).items()} if method in ("GET", "LIST") else None
    data = None if method in ("GET", "LIST") else body
    try:
        resp = h.call(op, path, data, query=query, token_id=token_id)
    except StrongroomError as exc:
        return exc.status, {"errors": exc.errors}
    if resp is None:
        return (404, {"errors": []}) if op in (Operation.READ, Operation.LIST) else (204, None)
    if resp.data is None and not resp.warnings and resp.raw_status is None:
        return 204, None
    out = {"data": resp.data, "warnings": resp.warnings or None}
    if resp.secret is not None:
        out["lease_duration"] = resp.secret.ttl or SYSTEM_DEFAULT_TTL
    return resp.raw_status or 200, out


def compare(bao: httpx.Client, prefix: str, h: Harness, steps: list[Step]) -> None:
    for i, step in enumerate(steps):
        theirs = bao_call(bao, prefix, step)
        ours = our_call(h, step)
        where = f"step {i}: {step[0]} {step[1]} {step[2]!r}"
        assert ours[0] == theirs[0], f"{where}: status {ours[0]} != OpenBao's {theirs[0]}: {ours[1]} / {theirs[1]}"
        if theirs[1] and "errors" in theirs[1] and any(f in e for e in theirs[1]["errors"]
                                                       for f in FRAMEWORK_ERRORS):
            continue
        assert mask(ours[1]) == mask(theirs[1]), f"{where}"


@pytest.fixture
def ours_v2() -> Iterator[Harness]:
    h = Harness(lambda c: v2.build(c, clock=StrictClock()), options={"version": "2"})
    yield h
    h.close()


@pytest.fixture
def ours_v1() -> Iterator[Harness]:
    h = Harness(v1.build)
    yield h
    h.close()


def test_v2_write_read_versions_and_listing(bao: httpx.Client, ours_v2: Harness) -> None:
    steps: list[Step] = [
        ("GET", "config", None),
        ("GET", "data/app/db", None),
        ("POST", "data/app/db", {"data": {"user": "u", "n": 1, "nested": {"a": [1, {"b": None}]}}}),
        ("POST", "data/app/db", {"data": {"user": "v"}, "bogus": 1}),
        ("GET", "data/app/db", None),
        ("GET", "data/app/db", {"version": 1}),
        ("GET", "data/app/db", {"version": 7}),
        ("GET", "data/app/db", {"version": "x"}),
        ("POST", "data/app/other", {"data": {}}),
        ("POST", "data/top", {"data": {"k": "v"}}),
        ("POST", "data/app/", {"data": {"k": "v"}}),
        ("POST", "data/nodata", {"user": "u"}),
        ("POST", "data/bad", {"data": "string"}),
        ("GET", "metadata/app/db", None),
        ("GET", "metadata/missing", None),
        ("LIST", "metadata/", None),
        ("LIST", "metadata/app/", None),
        ("LIST", "metadata/none/", None),
        ("LIST", "metadata/", {"after": "app/", "limit": 1}),
        ("LIST", "detailed-metadata/app/", None),
        ("LIST", "data/", None),
        ("DELETE", "config", None),
        ("GET", "foo", None),
        ("POST", "foo/bar", {"a": 1}),
        ("GET", "data", None),
        ("DELETE", "metadata", None),
    ]
    compare(bao, mount(bao, "kv", {"version": "2"}), ours_v2, steps)


def test_v2_check_and_set(bao: httpx.Client, ours_v2: Harness) -> None:
    steps: list[Step] = [
        ("POST", "data/s", {"data": {"a": 1}, "options": {"cas": 0}}),
        ("POST", "data/s", {"data": {"a": 2}, "options": {"cas": 0}}),
        ("POST", "data/s", {"data": {"a": 2}, "options": {"cas": 2}}),
        ("POST", "data/s", {"data": {"a": 2}, "options": {"cas": "1"}}),
        ("POST", "data/s", {"data": {"a": 3}, "options": {"cas": "x"}}),
        ("POST", "data/s", {"data": {"a": 3}, "options": {"cas": 1.5}}),
        ("POST", "data/s", {"data": {"a": 3}, "options": {"cas": None}}),
        ("POST", "metadata/t", {"cas_required": True}),
        ("POST", "data/t", {"data": {"a": 1}}),
        ("POST", "data/t", {"data": {"a": 1}, "options": {"cas": 0}}),
        ("POST", "config", {"cas_required": True}),
        ("POST", "data/u", {"data": {"a": 1}}),
        ("POST", "metadata/u", {"cas_required": False}),
        ("GET", "config", None),
        ("POST", "config", {"cas_required": False}),
        ("POST", "data/u", {"data": {"a": 1}}),
    ]
    compare(bao, mount(bao, "kv", {"version": "2"}), ours_v2, steps)


def test_v2_delete_undelete_destroy_and_pruning(bao: httpx.Client, ours_v2: Harness) -> None:
    steps: list[Step] = [("POST", "config", {"max_versions": 3})]
    steps += [("POST", "data/s", {"data": {"i": i}}) for i in range(5)]
    steps += [
        ("GET", "metadata/s", None),
        ("GET", "data/s", {"version": 1}),
        ("DELETE", "data/s", None),
        ("GET", "data/s", None),
        ("DELETE", "data/s", None),
        ("POST", "delete/s", {"versions": [3, 4, 99]}),
        ("GET", "data/s", {"version": 3}),
        ("POST", "undelete/s", {"versions": "3,5"}),
        ("GET", "data/s", {"version": 3}),
        ("GET", "data/s", None),
        ("POST", "destroy/s", {"versions": [4]}),
        ("GET", "data/s", {"version": 4}),
        ("POST", "undelete/s", {"versions": [4]}),
        ("GET", "subkeys/s", {"version": 4}),
        ("GET", "metadata/s", None),
        ("POST", "delete/s", {}),
        ("POST", "undelete/s", {"versions": []}),
        ("POST", "destroy/s", {}),
        ("POST", "destroy/s", {"versions": ["x"]}),
        ("POST", "delete/missing", {"versions": [1]}),
        ("POST", "metadata/s", {"max_versions": 1}),
        ("POST", "data/s", {"data": {"i": "last"}}),
        ("GET", "metadata/s", None),
        ("DELETE", "metadata/s", None),
        ("GET", "metadata/s", None),
        ("GET", "data/s", None),
        ("DELETE", "metadata/s", None),
    ]
    compare(bao, mount(bao, "kv", {"version": "2"}), ours_v2, steps)


def test_v2_patch_and_subkeys(bao: httpx.Client, ours_v2: Harness) -> None:
    steps: list[Step] = [
        ("PATCH", "data/p", {"data": {"a": 1}}),
        ("POST", "data/p", {"data": {"keep": 1, "drop": 2, "nested": {"a": 1, "b": {"c": 2}}, "l": [1]}}),
        ("PATCH", "data/p", {"data": {"drop": None, "nested": {"a": None, "x": 3}, "l": [2]}}),
        ("GET", "data/p", None),
        ("PATCH", "data/p", {}),
        ("PATCH", "data/p", {"data": {"z": 1}, "options": {"cas": 9}}),
        ("PATCH", "data/p", {"data": {"z": 1}, "options": {"cas": 2}}),
        ("GET", "subkeys/p", None),
        ("GET", "subkeys/p", {"depth": 1}),
        ("GET", "subkeys/p", {"depth": 2, "version": 2}),
        ("GET", "subkeys/missing", None),
        ("DELETE", "data/p", None),
        ("PATCH", "data/p", {"data": {"z": 2}}),
        ("GET", "subkeys/p", None),
        ("POST", "metadata/only", {"max_versions": 2}),
        ("PATCH", "data/only", {"data": {"z": 2}}),
    ]
    compare(bao, mount(bao, "kv", {"version": "2"}), ours_v2, steps)


def test_v2_metadata_settings_and_limits(bao: httpx.Client, ours_v2: Harness) -> None:
    steps: list[Step] = [
        ("POST", "metadata/m", {}),
        ("GET", "metadata/m", None),
        ("POST", "metadata/m", {"max_versions": 4, "delete_version_after": "1h30m",
                                "custom_metadata": {"owner": "a", "n": 3, "b": True}}),
        ("GET", "metadata/m", None),
        ("POST", "data/m", {"data": {"x": 1}}),
        ("POST", "metadata/m", {"custom_metadata": {f"k{i}": "v" for i in range(65)}}),
        ("POST", "metadata/m", {"custom_metadata": {"k" * 129: "v" * 513}}),
        ("POST", "metadata/m", {"custom_metadata": {"e": ""}}),
        ("POST", "metadata/m", {"custom_metadata": {"e": None}}),
        ("POST", "metadata/m", {"custom_metadata": {"e": {"nested": 1}}}),
        ("POST", "metadata/m", {"delete_version_after": "-1s"}),
        ("PATCH", "metadata/m", {"custom_metadata": {"owner": None, "new": "x"}, "max_versions": None}),
        ("GET", "metadata/m", None),
        ("PATCH", "metadata/none", {"max_versions": 1}),
        ("POST", "metadata/m", {"custom_metadata": {}}),
        ("GET", "metadata/m", None),
        ("POST", "metadata/m", {"metadata_cas_required": True}),
        ("POST", "metadata/m", {"max_versions": 2}),
        ("POST", "metadata/m", {"max_versions": 2, "metadata_cas": 1}),
        ("POST", "metadata/m", {"max_versions": 2, "metadata_cas": 5}),
        ("PATCH", "metadata/m", {"max_versions": 3}),
        ("PATCH", "metadata/m", {"max_versions": 3, "metadata_cas": 6}),
        ("GET", "metadata/m", None),
        ("POST", "config", {"metadata_cas_required": True, "delete_version_after": "-1s"}),
        ("GET", "config", None),
        ("POST", "metadata/fresh", {"max_versions": 1}),
        ("POST", "metadata/fresh", {"max_versions": 1, "metadata_cas": 0}),
        ("GET", "metadata/fresh", None),
        ("POST", "config", {"metadata_cas_required": False, "delete_version_after": 0, "max_versions": 7}),
        ("GET", "config", None),
    ]
    compare(bao, mount(bao, "kv", {"version": "2"}), ours_v2, steps)


def test_v1(bao: httpx.Client, ours_v1: Harness) -> None:
    steps: list[Step] = [
        ("GET", "a", None),
        ("POST", "a", {"x": 1, "ttl": "1h"}),
        ("GET", "a", None),
        ("POST", "b/c", {"x": 1, "nested": {"y": [1, 2]}}),
        ("GET", "b/c", None),
        ("POST", "e", {"ttl": "soon"}),
        ("GET", "e", None),
        ("POST", "f", {"lease": "2m"}),
        ("GET", "f", None),
        ("POST", "g", {}),
        ("POST", "g/", {"x": 1}),
        ("LIST", "", None),
        ("LIST", "b/", None),
        ("LIST", "zz/", None),
        ("DELETE", "a", None),
        ("GET", "a", None),
        ("DELETE", "a", None),
    ]
    compare(bao, mount(bao, "kv", {"version": "1"}), ours_v1, steps)


def test_cubbyhole(bao: httpx.Client) -> None:
    h = Harness(cubbyhole.factory, mount_type="cubbyhole")
    counter = itertools.count()
    try:
        name = f"k{next(counter)}{uuid.uuid4().hex[:6]}"
        steps: list[Step] = [
            ("GET", name, None),
            ("POST", name, {"a": 1, "ttl": "1h"}),
            ("GET", name, None),
            ("POST", f"{name}/", {"a": 1}),
            ("DELETE", name, None),
            ("GET", name, None),
        ]
        for i, step in enumerate(steps):
            theirs = bao_call(bao, "cubbyhole", step)
            ours = our_call(h, step, token_id="root-id")
            assert ours[0] == theirs[0], f"step {i}: {ours} / {theirs}"
            assert mask(ours[1]) == mask(theirs[1]), f"step {i}"
    finally:
        h.close()


def test_v1_to_v2_upgrade(bao: httpx.Client) -> None:
    before: list[Step] = [("POST", "a", {"x": 1, "ttl": "1h"}), ("POST", "b/c", {"y": [1]})]
    after: list[Step] = [
        ("GET", "data/a", None),
        ("GET", "data/b/c", None),
        ("GET", "metadata/a", None),
        ("LIST", "metadata/", None),
        ("POST", "data/a", {"data": {"x": 2}, "options": {"cas": 1}}),
        ("GET", "a", None),
    ]
    name = mount(bao, "kv", {"version": "1"})
    ours_v1 = Harness(v1.build)
    ours_v2 = Harness(lambda c: v2.build(c, clock=StrictClock()), storage=ours_v1.storage)
    try:
        compare(bao, name, ours_v1, before)
        r = bao.post(f"sys/mounts/{name}/tune", json={"options": {"version": "2"}})
        assert r.status_code in (200, 204), r.text
        for _ in range(200):  # OpenBao upgrades in the background and answers errors until done
            if bao.get(f"{name}/data/a").status_code == 200:
                break
            time.sleep(0.05)
        assert ours_v2.backend.initialize is not None
        ours_v2.runner.run(ours_v2.backend.initialize())
        compare(bao, name, ours_v2, after)
    finally:
        ours_v1.close()
        ours_v2.close()
