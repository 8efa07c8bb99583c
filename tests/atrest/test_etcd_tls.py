"""audit-etcd against a real etcd that demands TLS with client certificates (as kubeadm's etcd does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.atrest import k8sproto
from strongroom.cli.atrest import cli
from strongroom.crypto import _primitives as p
from tests.services import free_port, wait_port

pytestmark = pytest.mark.etcd


def _pair(d: Path, name: str) -> tuple[Path, Path]:
    key = p.ecdsa_p256_generate()
    cert = p.self_signed_certificate(key, name, days=2, ip_addresses=["127.0.0.1"], dns_names=["localhost"])
    (d / f"{name}.key").write_bytes(p.private_key_to_pem(key))
    (d / f"{name}.crt").write_bytes(p.certificate_to_pem(cert))
    return d / f"{name}.crt", d / f"{name}.key"


@pytest.fixture(scope="module")
def tls_etcd() -> Iterator[tuple[str, Path]]:
    exe = shutil.which("etcd")
    if exe is None:
        pytest.skip("etcd is not installed: run scripts/install-test-deps")
    d = Path(tempfile.mkdtemp(prefix="sretcdtls-"))
    server_crt, server_key = _pair(d, "server")
    client_crt, _ = _pair(d, "client")
    # etcd's JSON gateway dials etcd's own gRPC with the server certificate, so the server must trust it too
    # (kubeadm gets this for free: one CA signs both)
    bundle = d / "trusted.pem"
    bundle.write_bytes(server_crt.read_bytes() + client_crt.read_bytes())
    port, peer = free_port(), free_port()
    url = f"https://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            exe,
            "--data-dir",
            str(d / "data"),
            "--listen-client-urls",
            url,
            "--advertise-client-urls",
            url,
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"default=http://127.0.0.1:{peer}",
            "--cert-file",
            str(server_crt),
            "--key-file",
            str(server_key),
            "--client-cert-auth",
            "--trusted-ca-file",
            str(bundle),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        subprocess.run(
            [
                "etcdctl",
                "--endpoints",
                url,
                "--cacert",
                str(server_crt),
                "--cert",
                str(client_crt),
                "--key",
                str(d / "client.key"),
                "put",
                "/registry/secrets/tls/one",
            ],
            input=k8sproto.encode_secret("one", "tls", {"k": b"v"}),
            check=True,
            capture_output=True,
            env={**os.environ, "ETCDCTL_API": "3"},
        )
        yield url, d
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def test_audit_over_mutual_tls(tls_etcd: tuple[str, Path]) -> None:
    url, d = tls_etcd
    args = [
        "audit-etcd",
        "--endpoints",
        url,
        "--cacert",
        str(d / "server.crt"),
        "--format",
        "json",
        "--no-progress",
        "--objects",
    ]
    out = CliRunner().invoke(cli, [*args, "--cert", str(d / "client.crt"), "--key", str(d / "client.key")])
    assert out.exit_code == 0, out.output
    objs = json.loads(out.stdout)["objects"]
    assert [(o["namespace"], o["name"], o["status"]) for o in objs] == [("tls", "one", "plaintext")]
    refused = CliRunner().invoke(cli, args)  # no client certificate
    assert refused.exit_code == 1 and "no etcd endpoint answered" in refused.output
