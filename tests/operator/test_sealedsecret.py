"""End to end: the SealedSecret controller on the runtime, against the fake API server over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubesealpy import Sealer, SealingScope

from strongroom.sealing import load_recipient, seal_secret
from tests.fakekube import FakeKube
from tests.operator.harness import CTRL_NS, Operator, eventually, start_operator


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _secret(name: str = "db", ns: str = "app", **values: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns,
                                                             "labels": {"team": "a"}},
            "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in (values or {"password": "s3cr3t"}).items()}}


async def _sealed(op: Operator, **kw: Any) -> dict[str, Any]:
    return seal_secret(_secret(**kw), load_recipient(await op.cert()))


def _synced(fake: FakeKube, name: str = "db", ns: str = "app") -> dict[str, Any] | None:
    ss = fake.get("sealedsecrets", name, ns, group="bitnami.com")
    conds = (ss or {}).get("status", {}).get("conditions") or []
    return conds[0] if conds else None


def _text(value: str | bytes) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_sealed_secret_becomes_owned_secret(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            ss = await _sealed(op)
            created = fake.put("sealedsecrets", ss, group="bitnami.com")
            secret = await eventually(lambda: fake.get("secrets", "db", "app"), what="Secret")
            assert base64.b64decode(secret["data"]["password"]) == b"s3cr3t"
            assert secret["type"] == "Opaque" and secret["metadata"]["labels"] == {"team": "a"}
            assert secret["metadata"]["ownerReferences"] == [{
                "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "name": "db",
                "uid": created["metadata"]["uid"], "controller": True}]
            cond = await eventually(lambda: _synced(fake), what="status")
            assert cond["type"] == "Synced" and cond["status"] == "True"
            ss_now = fake.get("sealedsecrets", "db", "app", group="bitnami.com")
            assert ss_now["status"]["observedGeneration"] == 1
            await eventually(lambda: [e for e in fake.objects("events", "app") if e["reason"] == "Unsealed"],
                             what="event")
            await asyncio.sleep(0.3)
            assert len([e for e in fake.objects("events", "app") if e["reason"] == "Unsealed"]) == 1
            # steady state: no further writes (no hot loop) -- wait a little and count again
            writes = sum(1 for m, _ in fake.requests if m != "GET")
            await asyncio.sleep(0.5)
            assert sum(1 for m, _ in fake.requests if m != "GET") == writes
            # deleting the SealedSecret garbage-collects the Secret
            fake.store.delete(fake.resource("sealedsecrets", "bitnami.com"), "app", "db")
            assert fake.get("secrets", "db", "app") is None
        finally:
            await op.stop()

    _run(scenario())


def test_third_party_sealer_and_update(fake: FakeKube) -> None:
    """A SealedSecret made by kubesealpy (not our code) opens; a spec change updates the Secret."""
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            sealer = Sealer.from_certificate_pem(await op.cert(), validate=False)
            enc = _text(sealer.seal_value(b"from-peer", "app", "peer", scope=SealingScope.STRICT))
            ss = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                  "metadata": {"name": "peer", "namespace": "app"},
                  "spec": {"encryptedData": {"token": enc}, "template": {"metadata": {"name": "peer"}}}}
            fake.put("sealedsecrets", ss, group="bitnami.com")
            secret = await eventually(lambda: fake.get("secrets", "peer", "app"), what="Secret")
            assert base64.b64decode(secret["data"]["token"]) == b"from-peer"
            enc2 = _text(sealer.seal_value(b"second", "app", "peer", scope=SealingScope.STRICT))
            res = fake.resource("sealedsecrets", "bitnami.com")
            fake.store.merge_patch(res, "app", "peer", {"spec": {"encryptedData": {"token": enc2}}}, "test")
            await eventually(lambda: base64.b64decode(
                fake.get("secrets", "peer", "app")["data"]["token"]) == b"second", what="update")
            await eventually(lambda: fake.get("sealedsecrets", "peer", "app", group="bitnami.com")
                             ["status"]["observedGeneration"] == 2, what="observedGeneration")
        finally:
            await op.stop()

    _run(scenario())


def test_tampered_sealed_secret_reports_and_creates_nothing(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            ss = await _sealed(op)
            raw = bytearray(base64.b64decode(ss["spec"]["encryptedData"]["password"]))
            raw[-1] ^= 1
            ss["spec"]["encryptedData"]["password"] = base64.b64encode(bytes(raw)).decode()
            fake.put("sealedsecrets", ss, group="bitnami.com")
            cond = await eventually(lambda: _synced(fake), what="status")
            assert cond["status"] == "False"
            assert "password" in cond["message"] and "s3cr3t" not in cond["message"]
            assert fake.get("secrets", "db", "app") is None
            await eventually(lambda: any(e["reason"] == "ErrUnsealFailed" and e["type"] == "Warning"
                                         for e in fake.objects("events", "app")), what="event")
            # moved to another name: the strict label no longer matches
            moved = await _sealed(op)
            moved["metadata"]["name"] = "other"
            fake.put("sealedsecrets", moved, group="bitnami.com")
            cond = await eventually(lambda: _synced(fake, "other"), what="status")
            assert cond["status"] == "False" and fake.get("secrets", "other", "app") is None
        finally:
            await op.stop()

    _run(scenario())


def test_existing_unowned_secret_is_refused_until_managed(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "db", "namespace": "app"}, "data": {"password": "b2xk"}})
            fake.put("sealedsecrets", await _sealed(op), group="bitnami.com")
            cond = await eventually(lambda: _synced(fake), what="status")
            assert cond["status"] == "False" and "not managed by SealedSecret" in cond["message"]
            assert fake.get("secrets", "db", "app")["data"] == {"password": "b2xk"}  # untouched
            # the owner opts in: the controller takes it over
            res = fake.resource("secrets")
            fake.store.merge_patch(res, "app", "db", {"metadata": {"annotations": {
                "sealedsecrets.bitnami.com/managed": "true"}}}, "test")
            await eventually(lambda: fake.get("secrets", "db", "app")["data"].get("password")
                             == base64.b64encode(b"s3cr3t").decode(), what="takeover")
            await eventually(lambda: _synced(fake)["status"] == "True", what="Synced")
        finally:
            await op.stop()

    _run(scenario())


def test_patch_annotation_merges_and_skip_owner_references(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "db", "namespace": "app", "labels": {"keep": "me"},
                                              "annotations": {"sealedsecrets.bitnami.com/patch": "true"}},
                                 "data": {"other": "eA=="}})
            fake.put("sealedsecrets", await _sealed(op), group="bitnami.com")
            secret = await eventually(lambda: (s := fake.get("secrets", "db", "app")) and "password" in s["data"]
                                      and s, what="patch")
            assert secret["data"]["other"] == "eA==" and secret["metadata"]["labels"] == {"keep": "me", "team": "a"}
            assert not secret["metadata"].get("ownerReferences")
            src = _secret("free")
            src["metadata"]["annotations"] = {"sealedsecrets.bitnami.com/skip-set-owner-references": "true"}
            fake.put("sealedsecrets", seal_secret(src, load_recipient(await op.cert())), group="bitnami.com")
            free = await eventually(lambda: fake.get("secrets", "free", "app"), what="Secret")
            assert not free["metadata"].get("ownerReferences")
        finally:
            await op.stop()

    _run(scenario())


def test_key_rotation_keeps_old_sealed_secrets_open(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            old_cert = await op.cert()
            old_ss = await _sealed(op, name="old")
            # no sleep: both keys may share a NotBefore second; the later Secret must still win
            await op.app.rotate()
            new_cert = await op.cert()
            assert new_cert != old_cert
            keys = fake.objects("secrets", CTRL_NS)
            assert len(keys) == 2 and all(k["type"] == "kubernetes.io/tls" and k["metadata"]["labels"][
                "sealedsecrets.bitnami.com/sealed-secrets-key"] == "active" for k in keys)
            fake.put("sealedsecrets", old_ss, group="bitnami.com")
            fake.put("sealedsecrets", await _sealed(op, name="new"), group="bitnami.com")
            for name in ("old", "new"):
                await eventually(lambda n=name: fake.get("secrets", n, "app"), what=name)
            counts = op.app.reconciler.usage.counts()
            assert sorted(counts.values()) == [1, 1]  # one object per key: the metric users asked for
            async with httpx.AsyncClient() as c:
                metrics = (await c.get(f"{op.health_url}/metrics")).text
            assert "strongroom_sealedsecrets_by_key" in metrics
        finally:
            await op.stop()
        # a restarted controller finds both keys again
        op2 = await start_operator(fake)
        try:
            assert len(op2.app.registry.keys) == 2 and await op2.cert() == new_cert
        finally:
            await op2.stop()

    _run(scenario())


def test_conflicts_and_expired_watches_are_survived(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            fake.fail_next(3, 409, method="POST", path="/secrets")
            fake.fail_next(2, 500, method="PATCH", path="/status")
            fake.put("sealedsecrets", await _sealed(op, name="a"), group="bitnami.com")
            await eventually(lambda: fake.get("secrets", "a", "app"), what="Secret after 409s")
            await eventually(lambda: (c := _synced(fake, "a")) and c["status"] == "True", what="status")
            fake.drop_watches()  # cut the watches, move the cluster on, forget history: resuming needs a 410
            fake.put("configmaps", {"metadata": {"name": "bump", "namespace": "app"}})
            fake.compact()
            fake.put("sealedsecrets", await _sealed(op, name="b"), group="bitnami.com")
            await eventually(lambda: fake.get("secrets", "b", "app"), what="Secret after 410")
            informer = op.app.controller.primary
            assert informer.relists >= 2
            # a Secret deleted behind our back is re-created
            fake.store.delete(fake.resource("secrets"), "app", "b")
            await eventually(lambda: fake.get("secrets", "b", "app"), what="re-created")
        finally:
            await op.stop()

    _run(scenario())


def test_http_api_cert_verify_rotate(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            ss = await _sealed(op)
            async with httpx.AsyncClient(base_url=op.api_url) as c:
                assert (await c.get("/healthz")).text == "ok\n"
                r = await c.get("/v1/cert.pem")
                assert r.headers["content-type"] == "application/x-pem-file"
                assert (await c.post("/v1/verify", json=ss)).status_code == 200
                bad = copy.deepcopy(ss)
                bad["metadata"]["name"] = "elsewhere"
                assert (await c.post("/v1/verify", json=bad)).status_code == 409
                assert (await c.post("/v1/verify", content=b"not: [a sealed secret")).status_code in (429, 500)
                await asyncio.sleep(1.1)  # rate limit: 2/s, burst 2
                await op.app.rotate()
                r = await c.post("/v1/rotate", json=ss)
                assert r.status_code == 200
                rotated = r.json()
                assert rotated["kind"] == "SealedSecret" and rotated["spec"]["encryptedData"]["password"] != \
                    ss["spec"]["encryptedData"]["password"]
                statuses = [(await c.post("/v1/verify", json=ss)).status_code for _ in range(4)]
                assert 429 in statuses
            # the re-sealed object opens with the newest key alone
            from strongroom.sealing import unseal_sealed_secret
            out = unseal_sealed_secret(rotated, [op.app.registry.keys[0].private_key])
            assert base64.b64decode(out["data"]["password"]) == b"s3cr3t"
        finally:
            await op.stop()

    _run(scenario())


def test_renewal_timer_and_relabelled_keys(fake: FakeKube) -> None:
    """A key is renewed when the newest is `renew_period` old; a key relabelled `compromised` is dropped."""
    import datetime as dt

    async def scenario() -> None:
        op = await start_operator(fake, renew_period=dt.timedelta(seconds=2))
        try:
            first = op.app.registry.latest
            await eventually(lambda: len(fake.objects("secrets", CTRL_NS)) >= 2, timeout=20, what="renewal")
            await eventually(lambda: op.app.registry.latest is not first, what="new latest")
            res = fake.resource("secrets")
            assert first is not None
            fake.store.merge_patch(res, CTRL_NS, first.secret_name, {"metadata": {"labels": {
                "sealedsecrets.bitnami.com/sealed-secrets-key": "compromised"}}}, "test")
            await op.app.registry.load()
            assert first.fingerprint not in {k.fingerprint for k in op.app.registry.keys}
        finally:
            await op.stop()

    _run(scenario())


def test_normal_events_can_be_turned_off_but_warnings_stay(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake, normal_events=False)
        try:
            fake.put("sealedsecrets", await _sealed(op), group="bitnami.com")
            await eventually(lambda: (c := _synced(fake)) and c["status"] == "True", what="Synced")
            bad = await _sealed(op, name="bad")
            bad["metadata"]["name"] = "moved"
            fake.put("sealedsecrets", bad, group="bitnami.com")
            await eventually(lambda: any(e["reason"] == "ErrUnsealFailed" for e in fake.objects("events", "app")),
                             what="warning")
            assert not [e for e in fake.objects("events", "app") if e["reason"] == "Unsealed"]
        finally:
            await op.stop()

    _run(scenario())
