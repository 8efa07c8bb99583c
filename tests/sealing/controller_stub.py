"""A loopback HTTP server speaking the controller's /v1 API (format notes §8), built on strongroom.sealing.

It stands in for the SealedSecret controller's HTTP endpoints so the CLI's network paths are exercised over
real HTTP; the controller itself is tested in tests/operator/.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from strongroom import sealing


@dataclass
class StubController:
    keys: list[sealing.RSAPrivateKey]  # newest first
    cert_pem: bytes
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""


def _handler(state: StubController) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path))
            if self.path == "/v1/cert.pem":
                self._reply(200, state.cert_pem, "application/x-pem-file")
            else:
                self._reply(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            state.requests.append(("POST", self.path))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                [sealed] = sealing.load_manifests(body)
                secret = sealing.unseal_sealed_secret(sealed, state.keys)
            except sealing.UnsealError:
                self._reply(409, b"conflict\n", "text/plain")
                return
            except (sealing.SealingError, ValueError):
                self._reply(500, b"bad request\n", "text/plain")
                return
            if self.path == "/v1/verify":
                self._reply(200, b"")
            elif self.path == "/v1/rotate":
                newest = sealing.load_recipient(state.cert_pem)
                rotated = sealing.seal_secret(secret, newest, sealing.scope_of(sealed), allow_empty_data=True)
                rotated["metadata"]["generation"] = 3
                self._reply(200, json.dumps(rotated).encode())
            else:
                self._reply(404, b"not found\n", "text/plain")

    return Handler


@contextmanager
def stub_controller(keys: list[sealing.RSAPrivateKey], cert_pem: bytes) -> Iterator[StubController]:
    state = StubController(keys, cert_pem)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
