"""The anomaly detector: the pipeline calls `observe` once per request (an O(1) deque append); a background
task drains the deque every `evaluate_interval`, runs the rules, and raises alerts: persisted (sys/alerts),
counted (strongroom_alerts_total{rule}), written to the audit devices as `type: alert` entries, logged, and
sent to the webhook. Nothing here ever holds up a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from strongroom.core import clock
from strongroom.core.anomaly.config import AnomalyConfig
from strongroom.core.anomaly.event import RequestEvent, from_parts
from strongroom.core.anomaly.rules import Burst, Enumeration, Finding, RateSpike
from strongroom.core.anomaly.seen import FirstAccess
from strongroom.core.anomaly.store import AlertStore, new_id
from strongroom.core.anomaly.webhook import WebhookSender
from strongroom.sdk.errors import InvalidRequest, PermissionDenied, StrongroomError

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.request import ApiRequest
    from strongroom.core.router import Route
    from strongroom.core.tokens.entry import TokenEntry
    from strongroom.sdk.operations import Operation

log = logging.getLogger("strongroom.anomaly")
FLUSH_EVERY = 5.0
MAX_PER_TICK = 200_000


# what the request path queues: (path, operation, remote address, role hint, route, token entry, outcome, status,
# time). Plain references: never the ApiRequest (it holds the raw token and the request body).
Pending = tuple[str, "Operation", str, object, "Route | None", "TokenEntry | None", str, int, float]


class Rule(Protocol):
    name: str

    def feed(self, ev: RequestEvent) -> list[Finding]: ...
    def tick(self, now: float) -> list[Finding]: ...


def outcome_of(outcome: str, exc: BaseException | None, route: Route | None, entry: TokenEntry | None) -> str:
    """A failed login (403/400 from an auth mount, no token) is `auth_failed`; other 403s are `denied`."""
    if outcome != "error" or exc is None:
        return outcome
    if isinstance(exc, (PermissionDenied, InvalidRequest)) and entry is None and route is not None \
            and route.entry.kind == "auth":
        return "auth_failed"
    if isinstance(exc, PermissionDenied):
        return "denied"
    return "error"


class AnomalyDetector:
    def __init__(self, core: Core, config: AnomalyConfig | None = None) -> None:
        from strongroom.core.barrier import View

        self.core = core
        self.config = cfg = config or AnomalyConfig()
        self.view = View(core.barrier, "sys/anomaly/")
        self.events: deque[RequestEvent | Pending] = deque(maxlen=cfg.queue_size)
        self.dropped = 0
        self.store = AlertStore(self.view, max_alerts=cfg.max_alerts, retention=cfg.retention)
        self.webhook = WebhookSender(cfg.webhook)
        self.first_access = FirstAccess(cfg.first_access)
        rules: list[Rule] = []
        if cfg.denial_burst.enabled:
            rules.append(Burst("denial_burst", "denied", cfg.denial_burst, "permission-denied requests"))
        if cfg.auth_failure_burst.enabled:
            rules.append(Burst("auth_failure_burst", "auth_failed", cfg.auth_failure_burst, "failed logins"))
        if cfg.rate_spike.enabled:
            rules.append(RateSpike(cfg.rate_spike))
        if cfg.enumeration.enabled:
            rules.append(Enumeration(cfg.enumeration))
        if cfg.first_access.enabled:
            rules.append(self.first_access)
        self.rules = rules
        self._task: asyncio.Task[None] | None = None
        self._running = False

    # --- the hot path ---------------------------------------------------------------------------------------

    def observe(self, event: RequestEvent | Pending) -> None:
        """O(1), never blocks, never raises. When the queue is full the oldest event is dropped (and counted)."""
        if not self._running:
            return
        if len(self.events) == self.events.maxlen:
            self.dropped += 1
        self.events.append(event)

    def observe_request(self, api: ApiRequest, route: Route | None, entry: TokenEntry | None, outcome: str,
                        exc: BaseException | None = None) -> None:
        """The pipeline's hook: queues a tuple of references; the RequestEvent is built by the background task
        (measured: building it here cost several times more than the whole queue append, on every request)."""
        if not self._running:
            return
        status, hint = 200, None
        if exc is not None:  # error paths only: classify now, so no exception (and traceback) is kept alive
            outcome = outcome_of(outcome, exc, route, entry)
            status = exc.status if isinstance(exc, StrongroomError) else 500
            if outcome == "auth_failed":
                hint = api.data.get("role")
        self.observe((api.path, api.operation, api.remote_addr, hint, route, entry, outcome, status, clock.now()))

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.config.enabled or self._running:
            return
        await self.store.load()
        if self.config.first_access.enabled:
            await self.first_access.load(self.view)
        self.webhook.start()
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.evaluate()
            if self.config.first_access.enabled:
                await self.first_access.flush(self.view)
        except Exception:  # sealing must go on even if the last flush fails
            log.exception("anomaly detector: final flush failed")
        await self.webhook.stop()

    async def _loop(self) -> None:
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(self.config.evaluate_interval)
            try:
                await self.evaluate()
                if time.monotonic() - last_flush >= FLUSH_EVERY and self.config.first_access.enabled:
                    await self.first_access.flush(self.view)
                    last_flush = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:  # a rule bug must not kill detection for the life of the process
                log.exception("anomaly detector: evaluation failed")

    # --- evaluation ---------------------------------------------------------------------------------------

    async def evaluate(self) -> list[dict[str, Any]]:
        findings: list[Finding] = []
        q = self.events
        for _ in range(min(len(q), MAX_PER_TICK)):
            item = q.popleft()
            ev = from_parts(*item) if isinstance(item, tuple) else item
            for rule in self.rules:
                findings.extend(rule.feed(ev))
        now = clock.now()
        for rule in self.rules:
            findings.extend(rule.tick(now))
        return [await self.raise_alert(f) for f in findings]

    async def raise_alert(self, f: Finding) -> dict[str, Any]:
        now = clock.now()
        alert: dict[str, Any] = {
            "id": new_id(now), "rule": f.rule, "severity": f.severity, "time": clock.rfc3339(now), "created": now,
            "subject": f.subject, "message": f.message, "details": f.details, "acknowledged": False,
        }
        ev = f.event
        if ev is not None:
            alert["caller"] = ev.who()
            alert["request"] = {"path": ev.path, "operation": ev.operation, "mount": ev.mount,
                                "outcome": ev.outcome, "status": ev.status}
        await self.store.add(alert)
        self.core.metrics.alerts.labels(f.rule).inc()
        log.warning("anomaly alert %s [%s]: %s", alert["id"], f.rule, f.message)
        await self._audit(alert)
        self.webhook.send(alert)
        return alert

    async def _audit(self, alert: dict[str, Any]) -> None:
        broker = self.core.audit.broker
        if not broker.enabled:
            return
        caller = alert.get("caller") or {}
        entry = {"time": alert["time"], "type": "alert", "alert": {k: v for k, v in alert.items() if k != "caller"},
                 # in the usual `auth` section, so the device's hmac_accessor option applies to it
                 "auth": {"accessor": caller.get("accessor", ""), "display_name": caller.get("display_name", ""),
                          "policies": caller.get("policies"), "remote_address": caller.get("remote_address", "")}}
        try:
            await broker.record(entry)
        except StrongroomError as exc:
            log.error("alert %s could not be written to any audit device: %s", alert["id"], exc.message)

    def status(self) -> dict[str, Any]:
        return {"enabled": self.config.enabled, "running": self._running, "queued_events": len(self.events),
                "dropped_events": self.dropped, "alerts_stored": len(self.store.alerts),
                "webhook": {"configured": bool(self.config.webhook.url), "delivered": self.webhook.delivered,
                            "failed": self.webhook.failed, "dropped": self.webhook.dropped},
                "rules": [r.name for r in self.rules]}
