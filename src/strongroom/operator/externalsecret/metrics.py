"""ExternalSecret metrics: ESO's names (dashboards keep working) plus drift repairs and Secret writes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
