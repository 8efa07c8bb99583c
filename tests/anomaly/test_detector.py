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
