"""Prometheus metrics for one Core (its own registry, so several cores in one process don't collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("strongroom_requests_total", "API requests", ["mount", "operation", "status"],
                                registry=r)
        self.latency = Histogram("strongroom_request_duration_seconds", "API request latency",
                                 ["mount", "operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.tokens_created = Counter("strongroom_tokens_created_total", "Tokens created", ["path"], registry=r)
        self.tokens_revoked = Counter("strongroom_tokens_revoked_total", "Tokens revoked", registry=r)
        self.sealed = Gauge("strongroom_sealed", "1 when the server is sealed", registry=r)
        self.audit_failures = Counter("strongroom_audit_device_failures_total",
                                      "Audit entries a device failed to take in time", ["device"], registry=r)
        self.audit_latency = Gauge("strongroom_audit_device_write_seconds", "Last audit write latency",
                                   ["device"], registry=r)
        self.audit_dropped = Gauge("strongroom_audit_device_dropped_entries", "Entries dropped on queue overflow",
                                   ["device"], registry=r)
        self.storage = Histogram("strongroom_storage_operation_seconds", "Physical storage latency", ["op"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.leases = Gauge("strongroom_leases", "Leases currently held", registry=r)
        self.alerts = Counter("strongroom_alerts_total", "Anomaly alerts raised", ["rule"], registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
