"""The webhook as a plain ASGI app (no framework: two routes). AdmissionReview v1 in, AdmissionReview v1 out.

Pods that don't ask are admitted untouched. Bad annotations deny the pod with a message that says which annotation
is wrong. An internal error admits the pod unchanged (fail open, with a warning) or denies it (fail closed),
by configuration; pair it with the webhook's failurePolicy (Ignore / Fail) for timeouts and outages.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from strongroom.injector.mutate import InjectError, InjectorConfig, patch_for

log = logging.getLogger("strongroom.injector")
MAX_BODY = 3 * 1024 * 1024  # the API server's own request limit

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Stats:
    reviewed: int = 0
    mutated: int = 0
    denied: int = 0
    errors: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def review(body: dict[str, Any], cfg: InjectorConfig, *, fail_open: bool, stats: Stats | None = None
           ) -> dict[str, Any]:
    """AdmissionReview request -> AdmissionReview response. Raises ValueError when `body` is not one."""
    if body.get("kind") != "AdmissionReview" or body.get("apiVersion") != "admission.k8s.io/v1":
        raise ValueError("expected an admission.k8s.io/v1 AdmissionReview")
    req = body.get("request")
    if not isinstance(req, dict) or not req.get("uid"):
        raise ValueError("AdmissionReview has no request.uid")
    stats = stats or Stats()
    stats.reviewed += 1
    resp: dict[str, Any] = {"uid": req["uid"], "allowed": True}
    pod = req.get("object")
    if (req.get("kind") or {}).get("kind") == "Pod" and req.get("operation", "CREATE") == "CREATE" \
            and isinstance(pod, dict):
        try:
            ops = patch_for(pod, cfg)
        except InjectError as exc:
            stats.denied += 1
            resp.update(allowed=False, status={"code": 400, "reason": "BadRequest", "message": str(exc)})
            log.info("denied pod in %s: %s", req.get("namespace", ""), exc)
        except Exception as exc:  # a bug must not take pod creation down unless the operator chose that
            stats.errors += 1
            log.exception("internal error mutating a pod (%s)", type(exc).__name__)
            if fail_open:
                resp["warnings"] = ["strongroom injector internal error: pod admitted without the agent"]
            else:
                resp.update(allowed=False, status={"code": 500, "reason": "InternalError",
                                                   "message": "strongroom injector internal error"})
        else:
            if ops:
                stats.mutated += 1
                resp["patchType"] = "JSONPatch"
                resp["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp}


class InjectorApp:
    def __init__(self, cfg: InjectorConfig, *, fail_open: bool = True) -> None:
        self.cfg, self.fail_open, self.stats = cfg, fail_open, Stats()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path in ("/healthz", "/readyz") and method == "GET":
            return await _send(send, 200, {"status": "ok"})
        if path == "/metrics" and method == "GET":
            return await _send(send, 200, self.stats.__dict__)
        if path != "/mutate":
            return await _send(send, 404, {"error": "not found"})
        if method != "POST":
            return await _send(send, 405, {"error": "use POST"})
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if len(body) > MAX_BODY:
                return await _send(send, 413, {"error": "request too large"})
            if not msg.get("more_body"):
                break
        try:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                raise ValueError("expected a JSON object")
            out = review(parsed, self.cfg, fail_open=self.fail_open, stats=self.stats)
        except ValueError as exc:
            return await _send(send, 400, {"error": f"bad AdmissionReview: {exc}"})
        await _send(send, 200, out)


async def _send(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})


def serve(cfg: InjectorConfig, *, host: str, port: int, cert_file: str, key_file: str, fail_open: bool) -> None:
    """Serves HTTPS with uvicorn until SIGTERM."""
    import uvicorn

    uvicorn.run(InjectorApp(cfg, fail_open=fail_open), host=host, port=port, ssl_certfile=cert_file,
                ssl_keyfile=key_file, log_level="warning", access_log=False, lifespan="on")
