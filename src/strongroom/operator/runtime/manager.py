"""`Runtime`: hosts controllers, shared informers, leader election, HTTP endpoints and graceful shutdown.

    rt = Runtime(kube, name="strongroom-operator", namespace="strongroom-system")
    secrets = rt.informer(kinds.SECRET)
    rt.add_controller(Controller("sealedsecret", reconciler, rt.informer(kinds.SEALED_SECRET), ...))
    await rt.run()           # until SIGTERM/SIGINT (after install_signal_handlers) or request_stop()

Only the leader runs informers, controllers and leader tasks; every replica serves HTTP apps and health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from strongroom.operator.kube import Kube, ResourceKind
from strongroom.operator.runtime import metrics
from strongroom.operator.runtime.controller import Controller
from strongroom.operator.runtime.http import HttpApp, HttpServer, Request, Response
from strongroom.operator.runtime.informer import Informer
from strongroom.operator.runtime.leader import LeaderElector

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, kube: Kube, *, name: str = "strongroom-operator", namespace: str | None = None,
                 identity: str | None = None, leader_election: bool = True, lease_duration: float = 15.0,
                 renew_deadline: float = 10.0, retry_period: float = 2.0,
                 health_addr: tuple[str, int] | None = ("0.0.0.0", 8081)) -> None:  # noqa: S104 - pod port
        self.kube, self.name = kube, name
        self.namespace = namespace or kube.namespace
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
        self.elector = (LeaderElector(kube, self.namespace, f"{name}-leader", self.identity,
                                      lease_duration=lease_duration, renew_deadline=renew_deadline,
                                      retry_period=retry_period) if leader_election else None)
        self.controllers: list[Controller] = []
        self.leader_tasks: list[Callable[[], Awaitable[None]]] = []
        self.servers: list[HttpServer] = []
        self._informers: dict[tuple[Any, ...], Informer] = {}
        self._stop = asyncio.Event()
        self.started = asyncio.Event()
        self.leading = False
        if health_addr is not None:
            app = HttpApp()
            app.route("/healthz", self._healthz)
            app.route("/readyz", self._readyz)
            app.route("/metrics", self._metrics)
            self.health = self.add_http_app(app, *health_addr)

    # -- assembly -------------------------------------------------------------------------------------
    def informer(self, kind: ResourceKind, namespace: str | None = None,
                 labels: dict[str, Any] | None = None) -> Informer:
        """Shared informer: one list+watch per (kind, namespace, labels), however many controllers use it."""
        key = (kind, namespace, tuple(sorted((labels or {}).items())))
        if key not in self._informers:
            self._informers[key] = Informer(self.kube, kind, namespace, labels)
        return self._informers[key]

    def add_controller(self, controller: Controller) -> Controller:
        self.controllers.append(controller)
        return controller

    def add_leader_task(self, factory: Callable[[], Awaitable[None]]) -> None:
        """A coroutine run only while this replica leads (e.g. a key-renewal timer)."""
        self.leader_tasks.append(factory)

    def add_http_app(self, app: HttpApp, host: str, port: int) -> HttpServer:
        server = HttpServer(app, host, port)
        self.servers.append(server)
        return server

    # -- health ---------------------------------------------------------------------------------------
    async def _healthz(self, _req: Request) -> Response:
        return Response(200, b"ok\n")

    def ready(self) -> bool:
        if not self.started.is_set():
            return False
        return not self.leading or all(i.synced.is_set() for i in self._informers.values())

    async def _readyz(self, _req: Request) -> Response:
        return Response(200, b"ok\n") if self.ready() else Response(503, b"not ready\n")

    async def _metrics(self, _req: Request) -> Response:
        return Response(200, generate_latest(metrics.REGISTRY), CONTENT_TYPE_LATEST)

    # -- running --------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    async def _lead(self) -> None:
        self.leading = True
        tasks = [asyncio.ensure_future(i.run()) for i in self._informers.values()]
        tasks += [asyncio.ensure_future(c.run()) for c in self.controllers]
        tasks += [asyncio.ensure_future(f()) for f in self.leader_tasks]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.leading = False
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self) -> None:
        """Run until `request_stop()`; then stop reconciling and release the lease (the caller closes `kube`)."""
        servers = [asyncio.ensure_future(s.run()) for s in self.servers]
        for server, task in zip(self.servers, servers, strict=True):
            waiter = asyncio.ensure_future(server.started.wait())
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                waiter.cancel()
                for t in servers:
                    t.cancel()
                task.result()  # raises the bind error
        main = asyncio.ensure_future(self.elector.run(self._lead) if self.elector else self._lead())
        self.started.set()
        log.info("%s started as %s (pid %d)", self.name, self.identity, os.getpid())
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        everything: list[asyncio.Future[Any]] = [main, stop, *servers]
        try:
            done, _ = await asyncio.wait(everything, return_when=asyncio.FIRST_COMPLETED)
            for fut in done:
                exc = fut.exception()
                if fut is not stop and exc is not None:
                    raise exc
        finally:
            for fut in everything:
                fut.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(main, stop, *servers, return_exceptions=True)
            self.started.clear()
            log.info("%s stopped", self.name)
