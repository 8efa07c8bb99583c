"""Prometheus metrics of the operator runtime, in one registry served at /metrics.

Controllers add their own metrics to `REGISTRY` (see sealedsecret/metrics.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILE_TOTAL = Counter("strongroom_operator_reconcile_total", "Reconciliations by controller and result",
                          ["controller", "result"], registry=REGISTRY)
RECONCILE_SECONDS = Histogram("strongroom_operator_reconcile_duration_seconds", "Time spent in one reconcile",
                              ["controller"], registry=REGISTRY,
                              buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
QUEUE_DEPTH = Gauge("strongroom_operator_workqueue_depth", "Keys waiting in the work queue", ["controller"],
                    registry=REGISTRY)
RETRIES_TOTAL = Counter("strongroom_operator_workqueue_retries_total", "Rate-limited requeues", ["controller"],
                        registry=REGISTRY)
INFORMER_RELISTS = Counter("strongroom_operator_informer_relists_total", "Full re-lists (start, 410 Gone)",
                           ["kind"], registry=REGISTRY)
WATCH_ERRORS = Counter("strongroom_operator_watch_errors_total", "Watch streams that failed", ["kind"],
                       registry=REGISTRY)
IS_LEADER = Gauge("strongroom_operator_leader", "1 while this replica holds the leader lease", ["lease"],
                  registry=REGISTRY)
EVENTS_TOTAL = Counter("strongroom_operator_events_total", "Kubernetes Events emitted", ["type", "reason"],
                       registry=REGISTRY)
