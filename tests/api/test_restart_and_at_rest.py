"""Data survives restarts; the server comes back sealed; nothing planted is readable in the database files."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

import hvac
import pytest

from tests.harness import start_strongroom
from tests.services import free_port

PLANTED = "PLANTED-plaintext-7f3a9c1e-do-not-store"


def _config(data_dir: str, port: int) -> str:
    path = os.path.join(data_dir, "server.hcl")
    with open(path, "w") as f:
        f.write(f'''
storage "sqlite" {{
  path = "{data_dir}/strongroom.db"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{port}"
''')
    return path


@pytest.fixture
def config_server():
    data_dir = tempfile.mkdtemp(prefix="strongroom-restart-")
    port = free_port()
    cfg = _config(data_dir, port)
    servers = []

    def start():
        s = start_strongroom(f"-config={cfg}", dev=False, data_dir=data_dir, port=port)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_init_unseal_restart_comes_back_sealed(config_server):
    server = config_server()
    client = hvac.Client(url=server.addr)
    assert not client.sys.is_initialized()
    result = client.sys.initialize(secret_shares=5, secret_threshold=3)
    keys, root = result["keys"], result["root_token"]
    assert len(keys) == 5
    assert client.sys.is_sealed()
    client.sys.submit_unseal_keys(keys[:3])
    assert not client.sys.is_sealed()
    client.token = root
    client.sys.enable_secrets_engine("kv", path="app", options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret(path="db", secret={"password": PLANTED}, mount_point="app")

    assert server.stop() == 0  # SIGTERM: clean shutdown
    server = config_server()
    client = hvac.Client(url=server.addr, token=root)
    assert client.sys.is_initialized()
    assert client.sys.is_sealed()
    with pytest.raises(hvac.exceptions.VaultDown):
        client.secrets.kv.v2.read_secret_version(path="db", mount_point="app", raise_on_deleted_version=True)
    # wrong share resets nothing permanently and fails clearly
    client.sys.submit_unseal_keys([keys[4], keys[1], keys[3]])
    assert not client.sys.is_sealed()
    data = client.secrets.kv.v2.read_secret_version(path="db", mount_point="app", raise_on_deleted_version=True)
    assert data["data"]["data"]["password"] == PLANTED

    # nothing planted is stored in plain text anywhere in the data dir (db, WAL, logs)
    server.stop()
    for path in glob.glob(os.path.join(server.data_dir, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                blob = f.read()
            assert PLANTED.encode() not in blob, path
            assert root.encode() not in blob or path.endswith(".log") is False, path


def test_wrong_unseal_key_is_rejected(config_server):
    server = config_server()
    client = hvac.Client(url=server.addr)
    client.sys.initialize(secret_shares=1, secret_threshold=1)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.submit_unseal_key("00" * 33)
    assert client.sys.is_sealed()


def test_disable_unauthed_rekey_endpoints(tmp_path):
    """With the OpenBao switch on, rekey and generate-root need a token with sudo; without a token: 403."""
    import httpx

    data_dir = str(tmp_path)
    port = free_port()
    cfg = _config(data_dir, port)
    with open(cfg, "a") as f:
        f.write("disable_unauthed_rekey_endpoints = true\n")
    server = start_strongroom(f"-config={cfg}", dev=False, data_dir=data_dir, port=port)
    try:
        client = hvac.Client(url=server.addr)
        init = client.sys.initialize(1, 1)
        client.sys.submit_unseal_key(init["keys"][0])
        assert httpx.get(f"{server.addr}/v1/sys/rekey/init").status_code == 403
        assert httpx.put(f"{server.addr}/v1/sys/generate-root/attempt", json={}).status_code == 403
        # seal-status stays open, and a limited token on it is not denied
        assert httpx.get(f"{server.addr}/v1/sys/seal-status", headers={"X-Vault-Token": "junk"}).status_code == 200
        root = hvac.Client(url=server.addr, token=init["root_token"])
        assert root.sys.read_rekey_progress()["started"] is False
    finally:
        server.stop()
