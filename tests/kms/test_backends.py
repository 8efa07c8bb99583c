"""The transit backend against a real `bao server -dev`, the PKCS#11 backend against SoftHSM."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from strongroom.kms.backend import BackendError, BadCiphertext
from strongroom.kms.client import KMSClient
from strongroom.kms.keyid import Journal
from strongroom.kms.server import PluginServer
from strongroom.kms.service import KMSService
from strongroom.kms.transit import TransitBackend
from tests.kms.conftest import SOFTHSM, Bao, Token


def _serve(backend, short_dir: Path) -> PluginServer:
    server = PluginServer(
        KMSService(backend, journal=Journal(short_dir / "st"), status_ttl=0), f"unix://{short_dir}/k.sock"
    )
    server.start()
    return server


def _lifecycle(path: str, rotate) -> None:
    """Status, Encrypt, rotate the KEK, Status changes, old and new seeds decrypt, restart-free."""
    with KMSClient(f"unix://{path}") as c:
        st = c.status()
        assert st.healthz == "ok", st.healthz
        old = c.encrypt(b"a" * 32)
        assert old.key_id == st.key_id and len(old.ciphertext) <= 1024
        rotate()
        st2 = c.status()
        assert st2.key_id != st.key_id
        new = c.encrypt(b"b" * 32)
        assert new.key_id == st2.key_id
        assert c.decrypt(old.ciphertext, old.key_id, dict(old.annotations)) == b"a" * 32
        assert c.decrypt(new.ciphertext, new.key_id, dict(new.annotations)) == b"b" * 32
        with pytest.raises(grpc.RpcError) as err:
            c.decrypt(b"garbage-ciphertext", new.key_id, dict(new.annotations))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.bao
def test_transit_backend_against_openbao(bao: Bao, short_dir: Path) -> None:
    bao.call("POST", "transit/keys/kms-a", {"type": "aes256-gcm96"})
    backend = TransitBackend(bao.addr, "kms-a", token=bao.token)
    ct, version = backend.wrap(b"k" * 32)
    assert ct.startswith(b"vault:v1:") and version == 1
    server = _serve(backend, short_dir)
    try:
        _lifecycle(server.path, lambda: bao.call("POST", "transit/keys/kms-a/rotate"))
    finally:
        server.stop(1)


@pytest.mark.bao
def test_transit_ciphertext_readable_by_bao_itself(bao: Bao) -> None:
    """Compatibility both ways: bao decrypts what we wrapped and we unwrap what bao encrypted."""
    import base64

    bao.call("POST", "transit/keys/kms-b")
    backend = TransitBackend(bao.addr, "kms-b", token=bao.token)
    ct, _ = backend.wrap(b"z" * 32)
    got = bao.call("POST", "transit/decrypt/kms-b", {"ciphertext": ct.decode()}).json()["data"]["plaintext"]
    assert base64.b64decode(got) == b"z" * 32
    theirs = bao.call("POST", "transit/encrypt/kms-b", {"plaintext": base64.b64encode(b"y" * 32).decode()}).json()[
        "data"
    ]["ciphertext"]
    assert backend.unwrap(theirs.encode()) == b"y" * 32


@pytest.mark.bao
def test_transit_errors_are_clear(bao: Bao) -> None:
    bao.call("POST", "transit/keys/kms-c")
    with pytest.raises(BackendError, match="403"):
        TransitBackend(bao.addr, "kms-c", token="wrong-token").current_version()
    with pytest.raises(BackendError, match="ConnectError"):
        TransitBackend("http://127.0.0.1:1", "kms-c", token="t").current_version()
    backend = TransitBackend(bao.addr, "kms-c", token=bao.token)
    with pytest.raises(BadCiphertext):
        backend.unwrap(b"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")


def test_pkcs11_backend_against_softhsm(softhsm: Token, short_dir: Path) -> None:
    """Through the CLI in child processes (own PKCS#11 initialisation): rotate creates v1, serve, rotate to v2."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    exe = str(Path(sys.executable).parent / "strongroom")
    env = {**os.environ, "SOFTHSM2_CONF": softhsm.conf, "STRONGROOM_PKCS11_PIN": softhsm.pin}
    hsm = ["--pkcs11-module", SOFTHSM, "--pkcs11-token", softhsm.label, "--pkcs11-key-label", "kek-test"]
    sock = short_dir / "p11.sock"
    serve = [exe, "kms-plugin", "serve", "--backend", "pkcs11", *hsm, "--socket", f"unix://{sock}", "--status-ttl", "0"]
    missing = subprocess.run(serve, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no AES key" in missing.stderr

    def rotate() -> int:
        out = subprocess.run(
            [exe, "kms-plugin", "pkcs11", "rotate", *hsm, "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return int(json.loads(out.stdout)["version"])

    assert rotate() == 1
    proc = subprocess.Popen(serve, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            if sock.exists():
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        _lifecycle(str(sock), lambda: rotate() == 2 or pytest.fail("rotate did not give version 2"))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


@pytest.mark.bao
@pytest.mark.slow
def test_transit_token_is_renewed_past_its_ttl(bao: Bao) -> None:
    """A renewable token with a 3 s TTL keeps working after 5 s because the backend renews it."""
    import time

    bao.call("POST", "transit/keys/k8s-kms")
    policy = (Path(__file__).resolve().parents[2] / "deploy" / "kms-plugin" / "transit-policy.hcl").read_text()
    bao.call("PUT", "sys/policies/acl/kms-r", {"policy": policy})  # the shipped least-privilege policy
    auth = bao.call(
        "POST", "auth/token/create", {"ttl": "3s", "explicit_max_ttl": "60s", "policies": ["kms-r"], "renewable": True}
    ).json()["auth"]
    backend = TransitBackend(bao.addr, "k8s-kms", token=auth["client_token"])
    try:
        assert backend.current_version() == 1
        ct, _ = backend.wrap(b"r" * 32)
        with pytest.raises(BackendError, match="403"):  # nothing beyond the policy
            backend._call("POST", "keys/k8s-kms/rotate")
        time.sleep(5)
        assert backend.unwrap(ct) == b"r" * 32
    finally:
        backend.close()
    expired = TransitBackend(
        bao.addr,
        "kms-r",
        token=bao.call("POST", "auth/token/create", {"ttl": "2s", "policies": ["kms-r"], "renewable": False}).json()[
            "auth"
        ]["client_token"],
    )
    time.sleep(3)
    with pytest.raises(BackendError, match="403"):
        expired.wrap(b"r" * 32)
    expired.close()
