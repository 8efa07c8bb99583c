"""Alert delivery to a webhook: JSON POST, `X-Strongroom-Signature: sha256=<hex HMAC-SHA256 of the body>`,
retries with exponential backoff, from a bounded queue drained by its own task (requests never wait on it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx
import orjson

from strongroom.core.anomaly.config import Webhook
from strongroom.crypto import hmac_sha256

log = logging.getLogger("strongroom.anomaly")
MAX_BACKOFF = 60.0


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac_sha256(secret.encode(), body).hex()


class WebhookSender:
    def __init__(self, cfg: Webhook) -> None:
        self.cfg = cfg
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=cfg.queue_size)
        self.task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def start(self) -> None:
        if self.cfg.url and self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    def send(self, alert: dict[str, Any]) -> None:
        if not self.cfg.url:
            return
        try:
            self.queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("alert webhook queue full; alert %s not delivered", alert.get("id"))

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.cfg.timeout) as client:
            while True:
                alert = await self.queue.get()
                await self._deliver(client, alert)

    async def _deliver(self, client: httpx.AsyncClient, alert: dict[str, Any]) -> None:
        body = orjson.dumps({"type": "alert", "alert": alert})
        headers = {"content-type": "application/json", "user-agent": "strongroom-alerts",
                   "x-strongroom-event": "alert", "x-strongroom-delivery": str(alert.get("id", ""))}
        if self.cfg.secret:
            headers["x-strongroom-signature"] = signature(self.cfg.secret, body)
        delay = self.cfg.backoff
        for attempt in range(1, self.cfg.max_attempts + 1):
            reason = ""
            try:
                r = await client.post(self.cfg.url, content=body, headers=headers)
                if r.status_code < 300:
                    self.delivered += 1
                    return
                reason = f"HTTP {r.status_code}"
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    attempt = self.cfg.max_attempts  # the receiver refuses it: retrying won't help
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            if attempt >= self.cfg.max_attempts:
                self.failed += 1
                log.warning("alert %s: webhook delivery failed after %d attempt(s) (%s)", alert.get("id"),
                            attempt, reason)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
