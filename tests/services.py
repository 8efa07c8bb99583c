"""Real services for the tests: PostgreSQL and etcd from Debian packages, started on loopback per test session.

Started lazily by fixtures in conftest.py so a test run that needs neither never pays for them. PostgreSQL refuses
to run as root, so as root it runs as the `postgres` system user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"


def _pg_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-test-deps")
    return os.path.dirname(found[-1])


@contextmanager
def postgres() -> Iterator[Postgres]:
    bindir = _pg_bin()
    root = tempfile.mkdtemp(prefix="strongroom-pg-")
    os.chmod(root, 0o755)
    data = os.path.join(root, "data")
    pwfile = os.path.join(root, "pw")
    password = "strongroom-test"  # loopback-only throwaway cluster
    with open(pwfile, "w") as f:
        f.write(password)
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*prefix, f"{bindir}/initdb", "-D", data, "-U", "strongroom", f"--pwfile={pwfile}", "-A", "scram-sha-256",
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )
    log = os.path.join(root, "log")
    subprocess.run(
        [*prefix, f"{bindir}/pg_ctl", "-D", data, "-l", log, "-w", "-o",
         f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"],
        check=True, capture_output=True,
    )
    try:
        wait_port(port)
        yield Postgres("127.0.0.1", port, "strongroom", password)
    finally:
        subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Etcd:
    endpoint: str
    port: int


@contextmanager
def etcd() -> Iterator[Etcd]:
    exe = shutil.which("etcd")
    if exe is None:
        raise RuntimeError("etcd is not installed: run scripts/install-test-deps")
    root = tempfile.mkdtemp(prefix="strongroom-etcd-")
    client, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{client}"
    proc = subprocess.Popen(
        [exe, "--data-dir", root, "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"default=http://127.0.0.1:{peer}", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ETCD_UNSUPPORTED_ARCH": os.environ.get("ETCD_UNSUPPORTED_ARCH", "")},
    )
    try:
        wait_port(client)
        yield Etcd(url, client)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
