"""The controller's HTTP API, as upstream serves it for kubeseal (sealed-secrets-format.md §8):

    /healthz        200 "ok\\n"
    /v1/cert.pem    the latest key's certificate (application/x-pem-file); 500 when there is no key yet
    /v1/verify      POST a SealedSecret: 200 if it unseals with our keys, 409 if not, 500 if not a SealedSecret
    /v1/rotate      POST a SealedSecret: 200 + the same secret re-sealed to the latest key; 500 on failure

No method checks (as upstream). /v1/verify and /v1/rotate are rate-limited per path and X-Forwarded-For
(2/s, burst 2 by default) since each call costs RSA work. Plaintext never leaves the process.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from strongroom.operator.runtime import HttpApp, Request, Response
from strongroom.operator.sealedsecret.keys import KeyRegistry
from strongroom.sealing import (
    API_VERSION,
    KIND,
    SealingError,
    load_manifests,
    reseal_sealed_secret,
    unseal_sealed_secret,
)


@dataclass
class RateLimiter:
    """Token bucket per client key."""

    rate: float = 2.0
    burst: int = 2
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self.buckets[key] = (tokens, now)
            return False
        self.buckets[key] = (tokens - 1.0, now)
        if len(self.buckets) > 10_000:  # bound memory under a flood of distinct clients
            self.buckets.clear()
        return True


def _parse_sealed(body: bytes) -> dict[str, object]:
    objects = load_manifests(body)
    if len(objects) != 1:
        raise SealingError("expected exactly one SealedSecret")
    obj = objects[0]
    if obj.get("kind") != KIND or obj.get("apiVersion") != API_VERSION:
        raise SealingError("not a SealedSecret")
    return obj


class SealingApi:
    def __init__(self, registry: KeyRegistry, *, rate: float = 2.0, burst: int = 2) -> None:
        self.registry = registry
        self.limiter = RateLimiter(rate, burst)

    def app(self) -> HttpApp:
        app = HttpApp()
        app.route("/healthz", self.healthz)
        app.route("/v1/cert.pem", self.cert)
        app.route("/v1/verify", self.verify)
        app.route("/v1/rotate", self.rotate)
        return app

    async def healthz(self, _req: Request) -> Response:
        return Response(200, b"ok\n")

    async def cert(self, _req: Request) -> Response:
        await self.registry.maybe_reload()
        latest = self.registry.latest
        if latest is None:
            return Response(500, b"cannot get certificate\n")
        return Response(200, latest.certificate_pem, "application/x-pem-file")

    def _limited(self, req: Request) -> bool:
        return not self.limiter.allow(f"{req.path}|{req.headers.get('x-forwarded-for', req.client)}")

    async def verify(self, req: Request) -> Response:
        if self._limited(req):
            return Response(429, b"too many requests\n")
        try:
            sealed = _parse_sealed(req.body)
        except SealingError as exc:
            return Response(500, f"cannot decode SealedSecret: {exc}\n".encode())
        await self.registry.maybe_reload()
        try:
            unseal_sealed_secret(sealed, self.registry.private_keys())
        except SealingError as exc:
            return Response(409, f"cannot unseal: {exc}\n".encode())
        return Response(200, b"")

    async def rotate(self, req: Request) -> Response:
        if self._limited(req):
            return Response(429, b"too many requests\n")
        await self.registry.maybe_reload()
        latest = self.registry.latest
        if latest is None:
            return Response(500, b"cannot get certificate\n")
        try:
            sealed = _parse_sealed(req.body)
            out = reseal_sealed_secret(sealed, self.registry.private_keys(), latest.private_key.public_key())
        except SealingError as exc:
            return Response(500, f"cannot re-encrypt: {exc}\n".encode())
        meta = out.setdefault("metadata", {})
        for k in ("creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(k, None)
        return Response(200, json.dumps(out).encode(), "application/json")
