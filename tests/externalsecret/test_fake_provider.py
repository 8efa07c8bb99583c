"""End to end with ESO's Fake provider: the controller against the fake Kubernetes API over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom.operator.externalsecret import desired
from strongroom.operator.runtime.metrics import REGISTRY
from tests.externalsecret.harness import ESO, b64, es_obj, eventually, ready, start, store_obj, unb64
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


FAKE_DATA = [{"key": "/db", "value": '{"user":"app","password":"p4ss","nested":{"a":"b"}}'},
             {"key": "/token", "value": "t0k3n"}, {"key": "/token", "value": "old", "version": "v1"}]


def _writes(fake: FakeKube) -> int:
    return sum(1 for m, p in fake.requests if m != "GET" and "/events" not in p)


def test_sync_status_events_and_no_writes_in_steady_state(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": FAKE_DATA}}), group=ESO)
            es = fake.put("externalsecrets", es_obj(
                data=[{"secretKey": "password", "remoteRef": {"key": "/db", "property": "password"}},
                      {"secretKey": "nested", "remoteRef": {"key": "/db", "property": "nested.a"}},
                      {"secretKey": "token", "remoteRef": {"key": "/token"}},
                      {"secretKey": "old", "remoteRef": {"key": "/token", "version": "v1"}}]), group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            assert {k: unb64(v) for k, v in secret["data"].items()} == {
                "password": "p4ss", "nested": "b", "token": "t0k3n", "old": "old"}
            meta = secret["metadata"]
            assert meta["labels"][desired.LABEL_MANAGED] == "true"
            assert meta["labels"][desired.LABEL_CREATED_BY] == desired.created_by("app", "es")
            assert meta["annotations"][desired.ANNOTATION_DATA_HASH] == desired.data_hash(
                desired.secret_data(secret))
            assert meta["ownerReferences"][0]["uid"] == es["metadata"]["uid"]
            cond = await eventually(lambda: ready(fake, "es"), what="Ready")
            assert (cond["status"], cond["reason"], cond["message"]) == ("True", "SecretSynced", "secret synced")
            status = fake.get("externalsecrets", "es", "app", group=ESO)["status"]
            assert status["syncedResourceVersion"].startswith("1-") and status["refreshTime"]
            assert status["binding"] == {"name": "es"}
            store = await eventually(lambda: (fake.get("secretstores", "store", "app", group=ESO) or {}).get(
                "status", {}).get("conditions"), what="store status")
            assert store[0]["reason"] == "Valid"
            await eventually(lambda: [e for e in fake.objects("events", "app") if e["reason"] == "Created"],
                             what="Created event")
            await asyncio.sleep(0.3)
            before = _writes(fake)
            await asyncio.sleep(0.6)
            assert _writes(fake) == before  # steady state: zero writes
        finally:
            await op.stop()

    _run(scenario())


def test_drift_is_repaired_at_once(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": FAKE_DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(data=[{"secretKey": "t", "remoteRef": {"key": "/token"}}]), group=ESO)
            await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            res = fake.resource("secrets")
            s = fake.get("secrets", "es", "app")
            s["data"]["t"] = b64("hacked")
            fake.store.update(res, "app", "es", s, "kubectl")
            await eventually(lambda: unb64(fake.get("secrets", "es", "app")["data"]["t"]) == "t0k3n", what="repair")
            fake.store.delete(res, "app", "es")
            await eventually(lambda: fake.get("secrets", "es", "app"), what="recreate")
            assert op.app.reconciler.provider_fetches >= 3
            repairs = REGISTRY.get_sample_value("strongroom_externalsecret_drift_repairs_total", {"namespace": "app"})
            assert repairs is not None and repairs >= 2
        finally:
            await op.stop()

    _run(scenario())


def test_dataFrom_extract_find_rewrite_and_template(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": FAKE_DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(
                dataFrom=[{"extract": {"key": "/db"},
                           "rewrite": [{"regexp": {"source": "^(.*)$", "target": "db_$1"}}]}],
                target={"template": {"type": "kubernetes.io/basic-auth", "mergePolicy": "Merge",
                                     "metadata": {"labels": {"team": "a"}},
                                     "data": {"username": "{{ .db_user | upper }}",
                                              "dsn": "postgres://{{ .db_user }}:{{ .db_password }}@db"}}}),
                group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            data = {k: unb64(v) for k, v in secret["data"].items()}
            assert data["username"] == "APP" and data["dsn"] == "postgres://app:p4ss@db"
            assert data["db_nested"] == '{"a":"b"}'
            assert secret["type"] == "kubernetes.io/basic-auth" and secret["metadata"]["labels"]["team"] == "a"
        finally:
            await op.stop()

    _run(scenario())


def test_bad_template_is_a_precise_error_without_values(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": FAKE_DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj(
                data=[{"secretKey": "pw", "remoteRef": {"key": "/db", "property": "password"}}],
                target={"template": {"data": {"x": "{{ .pw | fromJson }}", "y": "{{ .nope }}"}}}), group=ESO)
            cond = await eventually(lambda: ready(fake, "es"), what="Ready")
            assert cond["status"] == "False" and cond["reason"] == "SecretSyncedError"
            assert "p4ss" not in cond["message"] and "template" in cond["message"]
            assert fake.get("secrets", "es", "app") is None
            ev = await eventually(lambda: [e for e in fake.objects("events", "app") if e["reason"] == "UpdateFailed"],
                                  what="event")
            assert ev[0]["type"] == "Warning" and "p4ss" not in ev[0]["message"]
        finally:
            await op.stop()

    _run(scenario())


def test_missing_key_retain_and_delete_policies(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"fake": {"data": FAKE_DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj("r", data=[{"secretKey": "x", "remoteRef": {"key": "/nope"}}]),
                     group=ESO)
            cond = await eventually(lambda: ready(fake, "r"), what="Ready")
            assert cond["reason"] == "SecretSyncedError" and "/nope" in cond["message"]
            fake.put("externalsecrets", es_obj("d", data=[{"secretKey": "x", "remoteRef": {"key": "/nope"}}],
                                               target={"deletionPolicy": "Delete"}), group=ESO)
            cond = await eventually(lambda: ready(fake, "d"), what="Ready")
            assert cond["reason"] == "SecretDeleted"
        finally:
            await op.stop()

    _run(scenario())


def test_refuses_to_adopt_and_merge_policy(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "theirs", "namespace": "app"}, "data": {"k": b64("v")}})
            fake.put("secretstores", store_obj(provider={"fake": {"data": FAKE_DATA}}), group=ESO)
            fake.put("externalsecrets", es_obj("a", target={"name": "theirs"},
                                               data=[{"secretKey": "t", "remoteRef": {"key": "/token"}}]), group=ESO)
            cond = await eventually(lambda: ready(fake, "a"), what="Ready")
            assert cond["status"] == "False" and "refusing to adopt" in cond["message"]
            assert fake.get("secrets", "theirs", "app")["data"] == {"k": b64("v")}
            fake.put("externalsecrets", es_obj("m", target={"name": "theirs", "creationPolicy": "Merge"},
                                               data=[{"secretKey": "t", "remoteRef": {"key": "/token"}}]), group=ESO)
            await eventually(lambda: "t" in fake.get("secrets", "theirs", "app")["data"], what="merged")
            assert fake.get("secrets", "theirs", "app")["data"]["k"] == b64("v")
            fake.put("externalsecrets", es_obj("n", target={"name": "absent", "creationPolicy": "Merge"},
                                               data=[{"secretKey": "t", "remoteRef": {"key": "/token"}}]), group=ESO)
            cond = await eventually(lambda: ready(fake, "n"), what="Ready")
            assert cond["reason"] == "SecretMissing"
        finally:
            await op.stop()

    _run(scenario())
