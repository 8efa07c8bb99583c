"""Runs the provider on the unix socket the driver dials: `<providers dir>/strongroom.sock`."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from concurrent import futures

import grpc

from strongroom.csi._proto import csi_provider_pb2_grpc as pb2_grpc
from strongroom.csi.provider import ProviderService

DEFAULT_SOCKET = "/provider/strongroom.sock"


class ProviderServer:
    def __init__(self, socket_path: str = DEFAULT_SOCKET, workers: int = 8) -> None:
        self.socket_path, self.workers = socket_path, workers
        self.service = ProviderService()
        self._server: grpc.Server | None = None

    def start(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.socket_path)), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)  # a stale socket from a previous run
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=self.workers))
        pb2_grpc.add_CSIDriverProviderServicer_to_server(self.service, server)  # type: ignore[no-untyped-call]
        if server.add_insecure_port(f"unix://{os.path.abspath(self.socket_path)}") == 0:
            raise OSError(f"cannot listen on {self.socket_path}")
        server.start()
        os.chmod(self.socket_path, 0o660)
        self._server = server

    def stop(self, grace: float = 5.0) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)

    def serve_forever(self) -> None:
        self.start()
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        done.wait()
        self.stop()
