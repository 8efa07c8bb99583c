"""A config-mode Strongroom server (the `anomaly { }` block needs a config file) and a webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import hvac
import orjson

from tests.harness import Server, start_strongroom
from tests.services import free_port

WEBHOOK_SECRET = "whsec-test-PLANTED"


@dataclass
class Receiver:
    port: int
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many requests first (exercises retries)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def alerts(self, rule: str | None = None) -> list[dict[str, Any]]:
        out = []
        for headers, body in self.posts:
            expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers.get("x-strongroom-signature", ""), expected), "bad signature"
            a = orjson.loads(body)["alert"]
            if rule is None or a["rule"] == rule:
                out.append(a)
        return out


@contextmanager
def webhook_receiver(fail_first: int = 0) -> Iterator[Receiver]:
    rec = Receiver(free_port(), fail_first=fail_first)
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            calls["n"] += 1
            if calls["n"] <= rec.fail_first:
                self.send_response(500)
                self.end_headers()
                return
            rec.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", rec.port), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield rec
    finally:
        httpd.shutdown()
        httpd.server_close()


ANOMALY = """
anomaly {
  evaluate_interval = "100ms"
  denial_burst { threshold = 5  window = "30s" }
  auth_failure_burst { threshold = 4  window = "30s" }
  enumeration { distinct_paths = 15  window = "60s" }
  rate_spike { bucket = "1s"  warmup_buckets = 2  min_requests = 40  factor = 4  alpha = 0.5 }
  first_access { learning_period = "0s" }
}
"""


def write_config(data_dir: str, port: int, webhook_url: str, extra: str = ANOMALY) -> str:
    path = os.path.join(data_dir, "server.hcl")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'''
storage "sqlite" {{ path = "{data_dir}/strongroom.db" }}
listener "tcp" {{ address = "127.0.0.1:{port}"  tls_disable = true }}
audit "file" {{ path = "file/"  options = {{ file_path = "{data_dir}/audit.log" }} }}
{extra}
alerts {{
  max_alerts = 500
  webhook {{ url = "{webhook_url}"  secret = "{WEBHOOK_SECRET}"  backoff = "100ms"  max_attempts = 4 }}
}}
''')
    return path


def start(data_dir: str, port: int, webhook_url: str, *, init: bool) -> tuple[Server, str]:
    """Starts (and initialises + unseals, or just unseals) a config-mode server. Returns (server, root token)."""
    cfg = write_config(data_dir, port, webhook_url)
    server = start_strongroom(f"-config={cfg}", dev=False, data_dir=data_dir, port=port)
    c = hvac.Client(url=server.addr)
    key_file = os.path.join(data_dir, "keys.json")
    if init:
        result = c.sys.initialize(1, 1)
        with open(key_file, "wb") as f:
            f.write(orjson.dumps(result))
    with open(key_file, "rb") as f:
        result = orjson.loads(f.read())
    c.sys.submit_unseal_key(result["keys_base64"][0])
    return server, str(result["root_token"])


@contextmanager
def anomaly_server(webhook_url: str) -> Iterator[tuple[Server, str]]:
    data_dir = tempfile.mkdtemp(prefix="strongroom-anomaly-")
    server, root = start(data_dir, free_port(), webhook_url, init=True)
    try:
        yield server, root
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
