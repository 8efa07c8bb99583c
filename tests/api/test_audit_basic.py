"""Audit devices through hvac: entries recorded, secrets HMAC'd, audit-hash finds them, a stalled device is cut off."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import hvac
import pytest

SECRET = "audit-planted-secret-0b5e"


def _lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def test_file_device_hashes_secrets(fresh_server, tmp_path):
    log = str(tmp_path / "audit.log")
    c = hvac.Client(url=fresh_server.addr, token="root")
    c.sys.enable_audit_device("file", options={"file_path": log})
    assert "file/" in c.sys.list_enabled_audit_devices()["data"]
    c.secrets.kv.v2.create_or_update_secret("a", {"password": SECRET})
    c.secrets.kv.v2.read_secret_version("a", raise_on_deleted_version=True)
    with open(log) as f:
        raw = f.read()
    assert SECRET not in raw and "root" not in raw.replace('"root"', "")
    entries = _lines(log)
    types = [e["type"] for e in entries]
    assert "request" in types and "response" in types
    h = c.sys.calculate_hash("file", SECRET)["data"]["hash"]
    assert h.startswith("hmac-sha256:") and h in raw
    c.sys.disable_audit_device("file")
    assert "file/" not in c.sys.list_enabled_audit_devices()["data"]


def test_denied_requests_are_audited(fresh_server, tmp_path):
    log = str(tmp_path / "audit.log")
    c = hvac.Client(url=fresh_server.addr, token="root")
    c.sys.enable_audit_device("file", options={"file_path": log})
    bad = hvac.Client(url=fresh_server.addr, token="not-a-token")
    with pytest.raises(hvac.exceptions.Forbidden):
        bad.secrets.kv.v2.read_secret_version("a")
    errs = [e for e in _lines(log) if e.get("error")]
    assert errs and errs[-1]["error"] == "permission denied"
    with open(log) as f:
        assert "not-a-token" not in f.read()


def test_stalled_socket_device_fails_fast_and_recovers(fresh_server):
    # a TCP server that accepts but never reads: sends block once the buffers fill
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    conns = []
    threading.Thread(target=lambda: conns.append(lsock.accept()[0]), daemon=True).start()
    c = hvac.Client(url=fresh_server.addr, token="root", timeout=30)
    c.sys.enable_audit_device("socket", options={"address": f"127.0.0.1:{port}", "socket_type": "tcp",
                                                 "write_timeout": "60s", "log_raw": "true"})
    time.sleep(0.2)
    big = "x" * 200_000
    t0 = time.monotonic()
    failures = 0
    for i in range(30):
        try:
            c.secrets.kv.v2.create_or_update_secret(f"big{i}", {"v": big})
        except (hvac.exceptions.VaultDown, hvac.exceptions.InternalServerError):
            failures += 1
    elapsed = time.monotonic() - t0
    assert failures > 0, "the only device is stalled: requests must fail (fail closed)"
    assert elapsed < 15, f"requests must fail fast, took {elapsed:.1f}s"
    # the device comes back: drain it, and requests succeed again
    stop = threading.Event()

    def drain():
        conns[0].settimeout(0.2)
        while not stop.is_set():
            try:
                if not conns[0].recv(1 << 20):
                    break
            except OSError:
                continue

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 20
    while True:
        try:
            c.secrets.kv.v2.create_or_update_secret("after", {"v": "ok"})
            assert c.secrets.kv.v2.read_secret_version("after", raise_on_deleted_version=True)["data"]["data"]
            break
        except (hvac.exceptions.VaultDown, hvac.exceptions.InternalServerError):
            if time.monotonic() > deadline:
                print(fresh_server.log()[-3000:])
                raise
            time.sleep(0.2)
    stop.set()
    lsock.close()
    assert os.getpid()
