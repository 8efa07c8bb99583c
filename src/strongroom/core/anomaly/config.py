"""Typed settings for anomaly detection (`anomaly { ... }`) and alert delivery (`alerts { ... }`).

Every threshold has a default that is quiet on a normal cluster; docs/alerts.md lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def seconds(value: Any, what: str) -> float:
    """`250ms`, `10s`, `5m`, `24h`, `7d` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a duration like \"10s\"")
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if m is None:
        raise ValueError(f"{what} must be a duration like \"10s\", \"5m\" or \"24h\"")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass
class BurstRule:
    """N events of one kind from one key (accessor, role, remote address) within `window` seconds."""

    enabled: bool = True
    threshold: int = 10
    window: float = 60.0
    cooldown: float = 300.0


@dataclass
class RateSpikeRule:
    """Requests per bucket per path prefix / identity, against an EWMA of earlier buckets."""

    enabled: bool = True
    bucket: float = 10.0
    factor: float = 5.0
    min_requests: int = 100
    alpha: float = 0.1
    warmup_buckets: int = 6
    prefix_depth: int = 2
    cooldown: float = 300.0
    max_keys: int = 20_000


@dataclass
class FirstAccessRule:
    """An identity reads a secret that other identities read before, for the first time."""

    enabled: bool = True
    learning_period: float = 86400.0
    max_entries: int = 1_000_000


@dataclass
class EnumerationRule:
    """One identity reads (or tries to read) many distinct secrets within `window` seconds."""

    enabled: bool = True
    distinct_paths: int = 50
    window: float = 60.0
    cooldown: float = 300.0


@dataclass
class Webhook:
    url: str = ""
    secret: str = field(default="", repr=False)  # HMAC key for X-Strongroom-Signature: never printed
    timeout: float = 5.0
    max_attempts: int = 5
    backoff: float = 1.0
    queue_size: int = 1000


@dataclass
class AnomalyConfig:
    enabled: bool = True
    evaluate_interval: float = 0.25
    queue_size: int = 100_000
    denial_burst: BurstRule = field(default_factory=BurstRule)
    auth_failure_burst: BurstRule = field(default_factory=lambda: BurstRule(threshold=5))
    rate_spike: RateSpikeRule = field(default_factory=RateSpikeRule)
    first_access: FirstAccessRule = field(default_factory=FirstAccessRule)
    enumeration: EnumerationRule = field(default_factory=EnumerationRule)
    # alerts { ... }
    retention: float = 30 * 86400.0
    max_alerts: int = 10_000
    webhook: Webhook = field(default_factory=Webhook)


_DURATION_FIELDS = {"window", "cooldown", "bucket", "learning_period", "timeout", "backoff", "retention",
                    "evaluate_interval"}

_MAY_BE_ZERO = {"learning_period", "cooldown"}


def _block(raw: Any, what: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, list):  # HCL repeated/nested blocks parse as lists of maps
        merged: dict[str, Any] = {}
        for item in raw:
            merged.update(_block(item, what))
        return merged
    if not isinstance(raw, dict):
        raise ValueError(f"{what} must be a block like: {what} {{ ... }}")
    return raw


def _fill(obj: Any, raw: dict[str, Any], what: str, skip: frozenset[str] = frozenset()) -> None:
    known = {f.name: f for f in fields(obj)}
    unknown = sorted(set(raw) - set(known) - skip)
    if unknown:
        raise ValueError(f"{what}: unknown setting(s): {', '.join(unknown)}")
    for name, value in raw.items():
        if name in skip:
            continue
        current = getattr(obj, name)
        where = f"{what}.{name}"
        if isinstance(current, bool):
            if not isinstance(value, (bool, str)) or str(value).lower() not in ("true", "false"):
                raise ValueError(f"{where} must be true or false")
            setattr(obj, name, str(value).lower() == "true")
        elif name in _DURATION_FIELDS:
            v = seconds(value, where)
            if v < 0 or (v == 0 and name not in _MAY_BE_ZERO):
                raise ValueError(f"{where} must be positive")
            setattr(obj, name, v)
        elif isinstance(current, (int, float)):
            try:
                v = type(current)(value)
            except (TypeError, ValueError):
                raise ValueError(f"{where} must be a number") from None
            if v <= 0:
                raise ValueError(f"{where} must be positive")
            setattr(obj, name, v)
        elif isinstance(current, str):
            setattr(obj, name, str(value))
        else:
            _fill(current, _block(value, where), where)


RULES = ("denial_burst", "auth_failure_burst", "rate_spike", "first_access", "enumeration")


def parse(anomaly: Any = None, alerts: Any = None) -> AnomalyConfig:
    """Both blocks from the server config file; raises ValueError naming the bad setting."""
    cfg = AnomalyConfig()
    alert_keys = {"retention", "max_alerts", "webhook"}
    an = _block(anomaly, "anomaly")
    misplaced = sorted(set(an) & alert_keys)
    if misplaced:
        raise ValueError(f"anomaly: {', '.join(misplaced)} belong(s) in the alerts {{ ... }} block")
    _fill(cfg, an, "anomaly")
    a = _block(alerts, "alerts")
    unknown = sorted(set(a) - alert_keys)
    if unknown:
        raise ValueError(f"alerts: unknown setting(s): {', '.join(unknown)}")
    _fill(cfg, a, "alerts")
    if cfg.webhook.url and not cfg.webhook.url.startswith(("http://", "https://")):
        raise ValueError("alerts.webhook.url must be an http:// or https:// URL")
    if cfg.rate_spike.alpha >= 1:
        raise ValueError("anomaly.rate_spike.alpha must be between 0 and 1")
    return cfg
