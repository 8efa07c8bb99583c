"""Sealing keys wrapped by an AES key in SoftHSM (PKCS#11): `strongroom operator run --key-wrap pkcs11` and
`strongroom seal reencrypt --key-wrap pkcs11` as real processes (PKCS#11 libraries are initialised once per
process, so SoftHSM is never loaded into the test process) against the fake API server."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.sealing import load_recipient, seal_secret
from tests.fakekube import FakeKube

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


@pytest.fixture
def hsm_env(tmp_path: Path) -> dict[str, str]:
    if not os.path.exists(SOFTHSM) or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM is not installed: run scripts/install-test-deps")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path}/tokens\nobjectstore.backend = file\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf), "PYTHONPATH": SRC, "STRONGROOM_PKCS11_PIN": "1234"}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "sealing", "--pin", "1234",
                    "--so-pin", "5678"], check=True, capture_output=True, env=env)
    return env


def _strongroom(*args: str) -> list[str]:
    return [sys.executable, "-c", "from strongroom.cli.main import main; main()", *args]


HSM = ["--key-wrap", "pkcs11", "--pkcs11-module", SOFTHSM, "--pkcs11-token", "sealing"]


@pytest.mark.slow
def test_pkcs11_wrapped_keys_with_softhsm(fake: FakeKube, hsm_env: dict[str, str], tmp_path: Path) -> None:
    kc = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    proc = subprocess.Popen(_strongroom("operator", "run", "--kubeconfig", kc, "--namespace", "kube-system",
                                        "--key-size", "2048", "--listen-addr", "127.0.0.1:0", "--health-addr",
                                        "127.0.0.1:0", "--no-leader-elect", *HSM),
                            env=hsm_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not fake.objects("secrets", "kube-system"):
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "no key generated"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "PRIVATE KEY" not in out and "1234" not in out
    [key_secret] = fake.objects("secrets", "kube-system")
    stored = base64.b64decode(key_secret["data"]["tls.key"])
    assert stored.startswith(b"pkcs11:v1:") and b"PRIVATE KEY" not in stored
    assert key_secret["metadata"]["annotations"]["strongroom.io/key-wrap"] == "pkcs11"

    cert = base64.b64decode(key_secret["data"]["tls.crt"])
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "app"},
              "data": {"password": base64.b64encode(b"pw").decode()}}
    fake.put("sealedsecrets", seal_secret(secret, load_recipient(cert)), group="bitnami.com")
    reenc = ["seal", "reencrypt", "--in-cluster", "--kubeconfig", kc, "-o", "json"]

    # the key unwraps inside the token and opens the object: it is up to date, sealed by that key
    done = subprocess.run(_strongroom(*reenc, *HSM), env=hsm_env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert summary["counts"] == {"up-to-date": 1}
    assert summary["objects"][0]["sealed_by"] == [key_secret["metadata"]["name"]]

    # without the wrapper, or with the wrong token key: clear errors, nothing written
    done = subprocess.run(_strongroom(*reenc), env=hsm_env, capture_output=True, timeout=120)
    assert done.returncode == 1 and b"pkcs11-wrapped key: run with --key-wrap pkcs11" in done.stderr
    done = subprocess.run(_strongroom(*reenc, *HSM, "--pkcs11-key-label", "other"), env=hsm_env,
                          capture_output=True, timeout=120)
    assert done.returncode == 1 and b"no AES key labelled 'other'" in done.stderr
    no_pin = {k: v for k, v in hsm_env.items() if k != "STRONGROOM_PKCS11_PIN"}
    done = subprocess.run(_strongroom(*reenc, *HSM), env=no_pin, capture_output=True, timeout=120)
    assert done.returncode == 2 and b"STRONGROOM_PKCS11_PIN" in done.stderr
    assert len(fake.objects("secrets", "kube-system")) == 1
