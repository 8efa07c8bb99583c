"""Anomaly detection over every request outcome, and the alerts it raises (sys/alerts, audit, metrics, webhook).

See detector.py for the flow and docs/alerts.md for the rules and their thresholds.
"""

from __future__ import annotations

from strongroom.core.anomaly.config import AnomalyConfig, parse
from strongroom.core.anomaly.detector import AnomalyDetector
from strongroom.core.anomaly.event import RequestEvent
from strongroom.core.anomaly.webhook import signature

__all__ = ["AnomalyConfig", "AnomalyDetector", "RequestEvent", "parse", "signature"]
