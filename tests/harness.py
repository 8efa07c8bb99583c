"""Runs real servers for tests: `strongroom server` (dev or config mode) and OpenBao's `bao server -dev`.

Each server is a subprocess on a free loopback port, exactly as a user would start it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from tests.services import free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
STRONGROOM = os.path.join(VENV_BIN, "strongroom")
BAO = os.path.join(VENV_BIN, "bao")


@dataclass
class Server:
    addr: str
    root_token: str
    proc: subprocess.Popen[bytes]
    data_dir: str
    unseal_key: str = ""
    log_path: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def env(self, token: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env.update({"VAULT_ADDR": self.addr, "BAO_ADDR": self.addr, "VAULT_TOKEN": token or self.root_token,
                    "BAO_TOKEN": token or self.root_token, "HOME": self.data_dir})
        return env

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)


def wait_ready(addr: str, proc: subprocess.Popen[bytes], log_path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                raise RuntimeError(f"server exited early ({proc.returncode}):\n{f.read()[-4000:]}")
        try:
            r = httpx.get(f"{addr}/v1/sys/health", timeout=1.0, verify=False)
            if r.status_code in (200, 429, 472, 473, 501, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server at {addr} not ready after {timeout}s")


def start_strongroom(*args: str, data_dir: str | None = None, root_token: str = "root", dev: bool = True,
                     env: dict[str, str] | None = None, scheme: str = "http", port: int | None = None) -> Server:
    data_dir = data_dir or tempfile.mkdtemp(prefix="strongroom-test-")
    port = port or free_port()
    log_path = os.path.join(data_dir, f"server-{port}.log")
    if dev:
        cmd = [STRONGROOM, "server", "-dev", f"-dev-root-token-id={root_token}",
               f"-dev-listen-address=127.0.0.1:{port}", f"-dev-data-dir={data_dir}", *args]
    else:
        cmd = [STRONGROOM, "server", *args]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    addr = f"{scheme}://127.0.0.1:{port}"
    wait_ready(addr, proc, log_path)
    unseal = ""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Unseal Key: "):
                unseal = line.split(": ", 1)[1].strip()
    return Server(addr, root_token, proc, data_dir, unseal, log_path)


def start_openbao(root_token: str = "root") -> Server:
    data_dir = tempfile.mkdtemp(prefix="openbao-test-")
    port = free_port()
    log_path = os.path.join(data_dir, "bao.log")
    cmd = [BAO, "server", "-dev", f"-dev-root-token-id={root_token}", f"-dev-listen-address=127.0.0.1:{port}"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "HOME": data_dir, "BAO_DISABLE_MLOCK": "true"})
    addr = f"http://127.0.0.1:{port}"
    wait_ready(addr, proc, log_path)
    return Server(addr, root_token, proc, data_dir, "", log_path)


@contextmanager
def strongroom_server(*args: str, **kwargs: object) -> Iterator[Server]:
    server = start_strongroom(*args, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


@contextmanager
def openbao_server() -> Iterator[Server]:
    server = start_openbao()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


def run_cli(server: Server, *args: str, token: str | None = None, check: bool = True, input: str | None = None,
            binary: str = BAO) -> subprocess.CompletedProcess[str]:
    """Runs the real bao CLI (or another binary) against a server, as a user would."""
    proc = subprocess.run([binary, *args], capture_output=True, text=True, env=server.env(token), input=input,
                          timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


__all__ = ["BAO", "STRONGROOM", "Server", "openbao_server", "run_cli", "start_openbao", "start_strongroom",
           "strongroom_server", "sys"]
