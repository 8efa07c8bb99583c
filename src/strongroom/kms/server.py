"""gRPC server lifecycle on a unix socket: stale-socket removal, bounded concurrency, SIGTERM drain."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import threading
from concurrent import futures
from pathlib import Path
from types import FrameType

import grpc
from prometheus_client import start_http_server

from strongroom.kms._proto import kms_v2_api_pb2_grpc as pb2_grpc
from strongroom.kms.backend import BackendError
from strongroom.kms.service import KMSService


def socket_path(endpoint: str) -> str:
    """`unix:///run/x.sock`, `unix:///@name` (abstract) or a plain path -> the path grpc/unix use."""
    if endpoint.startswith("unix://"):
        endpoint = endpoint[len("unix://") :]
    if endpoint.startswith("/@"):
        endpoint = endpoint[1:]
    if not endpoint:
        raise BackendError("empty socket endpoint")
    return endpoint


def grpc_target(path: str) -> str:
    return f"unix-abstract:{path[1:]}" if path.startswith("@") else f"unix://{os.path.abspath(path)}"


def clear_stale_socket(path: str) -> None:
    """Remove a socket left by a crashed plugin; refuse if something still answers or it is no socket."""
    if path.startswith("@") or not os.path.lexists(path):
        return
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise BackendError(f"{path} exists and is not a socket; refusing to remove it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(path)
        except OSError:
            os.unlink(path)
            return
    raise BackendError(f"another process is serving on {path}")


class PluginServer:
    def __init__(
        self,
        service: KMSService,
        endpoint: str,
        *,
        workers: int = 8,
        max_concurrent: int = 256,
        metrics_address: str | None = None,
    ) -> None:
        self.service = service
        self.path = socket_path(endpoint)
        self._workers, self._max = workers, max_concurrent
        self._metrics_address = metrics_address
        self._server: grpc.Server | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        clear_stale_socket(self.path)
        if not self.path.startswith("@"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="kms"),
            maximum_concurrent_rpcs=self._max,
        )
        pb2_grpc.add_KeyManagementServiceServicer_to_server(self.service, server)  # type: ignore[no-untyped-call]
        old = os.umask(0o177)  # socket created 0600: only the API server's user may connect
        try:
            if server.add_insecure_port(grpc_target(self.path)) == 0:
                raise BackendError(f"cannot listen on {self.path}")
        finally:
            os.umask(old)
        server.start()
        self._server = server
        if self._metrics_address:
            host, _, port = self._metrics_address.rpartition(":")
            start_http_server(int(port), addr=host or "127.0.0.1", registry=self.service.metrics.registry)

    def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let in-flight calls finish for up to `grace` seconds, remove the socket."""
        if self._server is not None:
            self._server.stop(grace).wait(grace + 1)
            self._server = None
        if not self.path.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        self.service.backend.close()
        self._stopped.set()

    def serve_forever(self, grace: float = 10.0) -> None:
        """Run until SIGTERM/SIGINT, then drain gracefully."""
        stop = threading.Event()

        def _handler(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)
        self.start()
        stop.wait()
        self.stop(grace)
