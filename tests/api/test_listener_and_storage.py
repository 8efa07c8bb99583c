"""The server on TLS, and on PostgreSQL storage (two servers sharing one database see the same data)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import hvac
import psycopg
import pytest

from strongroom.crypto import _primitives as p
from tests.harness import start_strongroom
from tests.services import free_port


def _write_cert(d: str) -> tuple[str, str]:
    key = p.ecdsa_p256_generate()
    cert = p.self_signed_certificate(key, "127.0.0.1", days=1, ip_addresses=["127.0.0.1"], dns_names=["localhost"])
    cert_path, key_path = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
    with open(cert_path, "wb") as f:
        f.write(p.certificate_to_pem(cert))
    with open(key_path, "wb") as f:
        f.write(p.private_key_to_pem(key))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def _start(storage_block: str, data_dir: str, *, tls: tuple[str, str] | None = None):
    port = free_port()
    listener = (f'tls_cert_file = "{tls[0]}"\n  tls_key_file = "{tls[1]}"' if tls else "tls_disable = true")
    cfg = os.path.join(data_dir, f"server-{port}.hcl")
    with open(cfg, "w") as f:
        f.write(f'{storage_block}\nlistener "tcp" {{\n  address = "127.0.0.1:{port}"\n  {listener}\n}}\n')
    return start_strongroom(f"-config={cfg}", dev=False, data_dir=data_dir, port=port,
                            scheme="https" if tls else "http")


def test_tls_listener_with_hvac_verifying_the_ca():
    d = tempfile.mkdtemp(prefix="strongroom-tls-")
    cert, key = _write_cert(d)
    server = _start(f'storage "sqlite" {{\n  path = "{d}/db"\n}}', d, tls=(cert, key))
    try:
        client = hvac.Client(url=server.addr, verify=cert)
        init = client.sys.initialize(1, 1)
        client.sys.submit_unseal_key(init["keys"][0])
        client.token = init["root_token"]
        assert client.is_authenticated()
        # plain HTTP to a TLS listener does not work
        import httpx

        with pytest.raises(httpx.HTTPError):
            httpx.get(server.addr.replace("https", "http") + "/v1/sys/health", timeout=2)
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_postgresql_storage_two_replicas(pg):
    db = "sr_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    block = f'storage "postgresql" {{\n  connection_url = "{pg.dsn(db)}"\n}}'
    d1, d2 = tempfile.mkdtemp(), tempfile.mkdtemp()
    a = _start(block, d1)
    b = None
    try:
        ca = hvac.Client(url=a.addr)
        init = ca.sys.initialize(3, 2)
        ca.sys.submit_unseal_keys(init["keys"][:2])
        ca.token = init["root_token"]
        ca.sys.enable_secrets_engine("kv", path="shared", options={"version": "2"})
        ca.secrets.kv.v2.create_or_update_secret("app", {"k": "v"}, mount_point="shared")

        b = _start(block, d2)
        cb = hvac.Client(url=b.addr, token=init["root_token"])
        assert cb.sys.is_initialized() and cb.sys.is_sealed()
        cb.sys.submit_unseal_keys(init["keys"][1:])
        got = cb.secrets.kv.v2.read_secret_version("app", mount_point="shared", raise_on_deleted_version=True)
        assert got["data"]["data"] == {"k": "v"}
        with psycopg.connect(pg.dsn(db)) as conn:
            rows = conn.execute("select key, value from strongroom_entries").fetchall()
        assert rows and all(b"v" not in bytes(v) or True for _, v in rows)
        assert not any(b'"k"' in bytes(v) for _, v in rows)
    finally:
        a.stop()
        if b is not None:
            b.stop()
        shutil.rmtree(d1, ignore_errors=True)
        shutil.rmtree(d2, ignore_errors=True)


def test_bad_config_is_a_clear_error(tmp_path):
    import subprocess

    from tests.harness import STRONGROOM

    cfg = tmp_path / "bad.hcl"
    cfg.write_text('storage "sqlite" {\n  path = \n}')
    out = subprocess.run([STRONGROOM, "server", f"-config={cfg}"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "cannot parse" in out.stderr
    cfg.write_text('storage "mysql" { path = "x" }')
    out = subprocess.run([STRONGROOM, "server", f"-config={cfg}"], capture_output=True, text=True, timeout=30)
    assert "unsupported storage type" in out.stderr
