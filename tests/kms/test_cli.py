"""`strongroom kms-plugin` as a process: serve, status, SIGTERM drain, restart over a stale socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from strongroom.kms.client import KMSClient

EXE = [str(Path(sys.executable).parent / "strongroom")]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, "kms-plugin", *args], capture_output=True, text=True, timeout=60)


def _wait_socket(path: Path, proc: subprocess.Popen[str]) -> None:
    for _ in range(200):
        if path.exists():
            return
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    raise TimeoutError(path)


def test_help() -> None:
    out = _run("--help")
    assert out.returncode == 0 and "serve" in out.stdout and "keyring" in out.stdout


def test_keyring_cli_json(short_dir: Path) -> None:
    ring = short_dir / "ring.json"
    assert _run("keyring", "init", str(ring), "--format", "json").returncode == 0
    out = _run("keyring", "rotate", str(ring), "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["primary"] == 2 and doc["versions"] == [1, 2]
    again = _run("keyring", "init", str(ring))
    assert again.returncode != 0 and "already exists" in again.stderr
    staged = json.loads(_run("keyring", "rotate", str(ring), "--no-promote", "--format", "json").stdout)
    assert staged["primary"] == 2 and staged["versions"] == [1, 2, 3]
    assert json.loads(_run("keyring", "promote", str(ring), "--format", "json").stdout)["primary"] == 3
    back = _run("keyring", "promote", str(ring), "--version", "1")
    assert back.returncode == 1 and "only move forward" in back.stderr


def test_serve_status_sigterm_and_restart(short_dir: Path) -> None:
    ring, sock = short_dir / "ring.json", short_dir / "p.sock"
    _run("keyring", "init", str(ring))
    args = [
        *EXE,
        "kms-plugin",
        "serve",
        "--backend",
        "keyring",
        "--keyring",
        str(ring),
        "--socket",
        f"unix://{sock}",
        "--state-file",
        str(short_dir / "state.json"),
        "--grace",
        "2",
    ]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        _wait_socket(sock, proc)
        assert (sock.stat().st_mode & 0o777) == 0o600
        st = _run("status", "--socket", f"unix://{sock}", "--format", "json")
        assert st.returncode == 0, st.stderr
        key_id = json.loads(st.stdout)["key_id"]
        with KMSClient(f"unix://{sock}") as c:
            enc = c.encrypt(b"d" * 32)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert not sock.exists()
        # a crash leaves the socket behind: simulate with SIGKILL, restart must clear it
        proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        _wait_socket(sock, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert sock.exists()
        proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        _wait_socket(sock, proc)
        for _ in range(100):
            try:
                with KMSClient(f"unix://{sock}") as c:
                    assert c.status().key_id == key_id
                    assert c.decrypt(enc.ciphertext, enc.key_id, dict(enc.annotations)) == b"d" * 32
                break
            except Exception:
                time.sleep(0.1)
        else:
            raise AssertionError("restarted plugin never answered")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


def test_metrics_endpoint(short_dir: Path) -> None:
    import httpx

    from tests.services import free_port, wait_port

    ring, sock, port = short_dir / "ring.json", short_dir / "m.sock", free_port()
    _run("keyring", "init", str(ring))
    proc = subprocess.Popen(
        [
            *EXE,
            "kms-plugin",
            "serve",
            "--backend",
            "keyring",
            "--keyring",
            str(ring),
            "--socket",
            f"unix://{sock}",
            "--metrics-address",
            f"127.0.0.1:{port}",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_socket(sock, proc)
        wait_port(port)
        assert _run("status", "--socket", f"unix://{sock}").returncode == 0
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'strongroom_kms_operations_total{code="OK",method="Status"}' in text
        assert "strongroom_kms_key_id_info{key_id_hash=" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
