"""The detector's hot-path contract: observe never blocks or raises, the queue is bounded, outcomes classify."""

from __future__ import annotations

from types import SimpleNamespace

from strongroom.core.anomaly import AnomalyConfig, AnomalyDetector
from strongroom.core.anomaly.detector import outcome_of
from strongroom.core.anomaly.event import RequestEvent
from strongroom.core.anomaly.webhook import signature
from strongroom.sdk.errors import InvalidRequest, NotFound, PermissionDenied


def detector(**kw: object) -> AnomalyDetector:
    core = SimpleNamespace(barrier=object())
    return AnomalyDetector(core, AnomalyConfig(**kw))  # type: ignore[arg-type]


def test_observe_is_a_bounded_append_and_a_no_op_when_stopped() -> None:
    d = detector(queue_size=3)
    e = RequestEvent(time=1.0, path="secret/data/x", operation="read", outcome="ok")
    d.observe(e)
    assert len(d.events) == 0  # not started (sealed): nothing is kept
    d._running = True
    for _ in range(5):
        d.observe(e)
    assert len(d.events) == 3 and d.dropped == 2


def test_outcome_classification() -> None:
    auth_route = SimpleNamespace(entry=SimpleNamespace(kind="auth"))
    kv_route = SimpleNamespace(entry=SimpleNamespace(kind="secret"))
    entry = object()
    assert outcome_of("error", PermissionDenied(), auth_route, None) == "auth_failed"  # type: ignore[arg-type]
    assert outcome_of("error", InvalidRequest("x"), auth_route, None) == "auth_failed"  # type: ignore[arg-type]
    assert outcome_of("error", PermissionDenied(), kv_route, entry) == "denied"  # type: ignore[arg-type]
    assert outcome_of("error", NotFound("x"), kv_route, entry) == "error"  # type: ignore[arg-type]
    assert outcome_of("denied", PermissionDenied(), kv_route, entry) == "denied"  # type: ignore[arg-type]


def test_identity_prefers_stable_names() -> None:
    base = {"time": 0.0, "path": "p", "operation": "read", "outcome": "ok", "accessor": "acc"}
    assert RequestEvent(**base).identity == "accessor:acc"  # type: ignore[arg-type]
    assert RequestEvent(**base, display_name="token").identity == "accessor:acc"  # type: ignore[arg-type]
    assert RequestEvent(**base, display_name="userpass-bob").identity == "name:userpass-bob"  # type: ignore
    k8s = RequestEvent(**base, k8s_service_account="api", k8s_namespace="pay", role="r")  # type: ignore[arg-type]
    assert k8s.identity == "k8s:pay/api" and k8s.who()["kubernetes"] == {"namespace": "pay",
                                                                           "service_account": "api"}


def test_signature_is_hmac_sha256_hex() -> None:
    import hashlib
    import hmac

    body = b'{"type":"alert"}'
    assert signature("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


class ListStore:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.data[key] = value

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)

    async def list(self, prefix: str) -> list[str]:
        return [k[len(prefix):] for k in self.data if k.startswith(prefix)]


def test_alert_store_retention_ack_and_reload() -> None:
    import asyncio

    from strongroom.core import clock
    from strongroom.core.anomaly.store import AlertStore, new_id

    async def run() -> None:
        storage = ListStore()
        s = AlertStore(storage, max_alerts=3, retention=3600)
        now = clock.now()
        old = {"id": new_id(now - 7200), "rule": "r", "created": now - 7200, "acknowledged": False}
        await s.add(old)
        assert s.get(old["id"]) is None and storage.data == {}  # older than the retention: gone at once
        ids = []
        for i in range(5):
            a = {"id": new_id(now + i), "rule": "enumeration" if i % 2 else "denial_burst", "created": now + i,
                 "acknowledged": False}
            ids.append(a["id"])
            await s.add(a)
        assert list(s.alerts) == ids[2:] and len(storage.data) == 3  # only the newest max_alerts are kept
        assert [a["id"] for a in s.query(rule="enumeration")] == [ids[3]]
        assert await s.acknowledge(ids[4], "acc-1", "ok") is not None
        assert await s.acknowledge("nope", "acc-1") is None
        again = AlertStore(storage, max_alerts=3, retention=3600)
        await again.load()
        assert [a["id"] for a in again.query(acknowledged=True)] == [ids[4]]
        assert len(again.query(since=now + 3, limit=1)) == 1

    asyncio.run(run())


def test_event_from_request_never_carries_the_token_or_body() -> None:
    from strongroom.core.anomaly.event import from_request
    from strongroom.core.request import ApiRequest
    from strongroom.core.tokens.entry import TokenEntry
    from strongroom.sdk.operations import Operation

    route = SimpleNamespace(prefix="auth/kubernetes/", entry=SimpleNamespace(type="kubernetes", kind="auth"))
    api = ApiRequest(operation=Operation.UPDATE, path="/auth/kubernetes/login", token="s.RAWTOKEN",
                     data={"role": "web", "jwt": "eyJ.SECRET"}, remote_addr="10.0.0.9")
    ev = from_request(api, route, None, "auth_failed", 403, 5.0)  # type: ignore[arg-type]
    assert ev.role == "web" and ev.path == "auth/kubernetes/login" and ev.remote_address == "10.0.0.9"
    assert "RAWTOKEN" not in repr(ev) and "SECRET" not in repr(ev)
    entry = TokenEntry(id_hash="h", accessor="acc", policies=["p"], display_name="kubernetes-web",
                       meta={"role": "web", "service_account_name": "api", "service_account_namespace": "pay"})
    ok = from_request(api, route, entry, "ok", 200, 5.0)  # type: ignore[arg-type]
    assert ok.identity == "k8s:pay/api" and ok.policies == ("p",) and ok.mount_kind == "auth"
