"""ExternalSecret metrics: ESO's names (dashboards keep working) plus drift repairs and Secret writes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from strongroom.operator.runtime.metrics import REGISTRY

SYNC_CALLS = Counter("externalsecret_sync_calls_total", "Sync calls", ["name", "namespace"], registry=REGISTRY)
SYNC_ERRORS = Counter("externalsecret_sync_calls_error", "Sync errors", ["name", "namespace"], registry=REGISTRY)
STATUS_CONDITION = Gauge("externalsecret_status_condition", "Ready condition (1 for the current status)",
                         ["name", "namespace", "condition", "status"], registry=REGISTRY)
PROVIDER_CALLS = Counter("externalsecret_provider_api_calls_count", "Provider reads",
                         ["provider", "call", "status"], registry=REGISTRY)
DRIFT_REPAIRS = Counter("strongroom_externalsecret_drift_repairs_total",
                        "Target Secrets edited or deleted by hand and restored", ["namespace"], registry=REGISTRY)
SECRET_WRITES = Counter("strongroom_externalsecret_secret_writes_total", "Writes to target Secrets",
                        ["action"], registry=REGISTRY)
CHANGE_EVENTS = Counter("strongroom_externalsecret_change_events_total",
                        "Provider change notifications that triggered a refresh", registry=REGISTRY)
RECONCILE_DURATION = Histogram("externalsecret_reconcile_duration", "Seconds per ExternalSecret reconcile",
                               ["name", "namespace"], registry=REGISTRY,
                               buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
STORE_CONDITION = Gauge("secretstore_status_condition", "SecretStore/ClusterSecretStore Ready condition",
                        ["kind", "name", "namespace", "condition", "status"], registry=REGISTRY)
