"""Scale-out: two `strongroom server` replicas on one PostgreSQL storage serve requests at once; one leader
(advisory lock) expires leases; SIGKILL the leader and the survivor takes over and still revokes every lease.
Caches (tokens, policies, keyring, mounts) follow changes made on the other replica.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import hvac
import hvac.exceptions
import psycopg
import pytest

from tests.engines.database.conftest import CREATE, Db, fresh_db
from tests.harness import Server, start_strongroom
from tests.services import Postgres, free_port

pytestmark = pytest.mark.slow  # three server starts and a failover


def _start(dsn: str, data_dir: str) -> Server:
    port = free_port()
    cfg = os.path.join(data_dir, f"server-{port}.hcl")
    with open(cfg, "w") as f:
        f.write(f'storage "postgresql" {{\n  connection_url = "{dsn}"\n}}\n'
                f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
                f'api_addr = "http://127.0.0.1:{port}"\n')
    return start_strongroom(f"-config={cfg}", dev=False, data_dir=data_dir, port=port)


def _until(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def _leader(c: hvac.Client) -> dict:
    return c.sys.read_leader_status()


@pytest.fixture(scope="module")
def cluster(pg: Postgres) -> Iterator[tuple[list[Server], list[hvac.Client], Db]]:
    name = "ha_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dirs = [tempfile.mkdtemp(prefix="sr-ha-") for _ in range(2)]
    servers: list[Server] = []
    try:
        servers.append(_start(pg.dsn(name), dirs[0]))
        a = hvac.Client(url=servers[0].addr, timeout=120)
        init = a.sys.initialize(1, 1)
        a.sys.submit_unseal_key(init["keys"][0])
        servers.append(_start(pg.dsn(name), dirs[1]))
        b = hvac.Client(url=servers[1].addr, timeout=120)
        b.sys.submit_unseal_key(init["keys"][0])
        a.token = b.token = init["root_token"]
        yield servers, [a, b], fresh_db(pg)
    finally:
        for s in servers:
            s.stop()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def test_exactly_one_leader_and_health_says_standby(cluster) -> None:
    _, clients, _ = cluster
    assert _until(lambda: sum(_leader(c)["is_self"] for c in clients) == 1, 20)
    st = [_leader(c) for c in clients]
    assert all(s["ha_enabled"] for s in st)
    leader_addr = next(s["leader_address"] for s in st if s["is_self"])
    assert _until(lambda: all(_leader(c)["leader_address"] == leader_addr for c in clients), 15)
    standby = clients[[s["is_self"] for s in st].index(False)]
    h = httpx.get(standby.url + "/v1/sys/health")
    assert h.status_code == 473 and h.json()["standby"] is True
    assert httpx.get(standby.url + "/v1/sys/health?perfstandbyok=true").status_code == 200


def test_caches_follow_the_other_replica(cluster) -> None:
    _, (a, b), _ = cluster
    a.sys.enable_secrets_engine("kv", path="shared", options={"version": "2"})
    assert _until(lambda: "shared/" in b.sys.list_mounted_secrets_engines()["data"], 15)
    b.secrets.kv.v2.create_or_update_secret("x", {"v": "1"}, mount_point="shared")
    a.sys.create_or_update_policy("reader", 'path "shared/data/x" { capabilities = ["read"] }')
    tok = a.auth.token.create(policies=["reader"], ttl="1h")["auth"]["client_token"]
    tb = hvac.Client(url=b.url, token=tok)
    assert tb.secrets.kv.v2.read_secret_version("x", mount_point="shared",
                                                raise_on_deleted_version=True)["data"]["data"] == {"v": "1"}
    a.sys.create_or_update_policy("reader", 'path "shared/data/nothing" { capabilities = ["read"] }')

    def denied() -> bool:
        try:
            tb.secrets.kv.v2.read_secret_version("x", mount_point="shared", raise_on_deleted_version=True)
        except hvac.exceptions.Forbidden:
            return True
        return False

    assert _until(denied, 15)
    a.auth.token.revoke(tok)
    assert _until(lambda: not tb.is_authenticated(), 15)
    a.adapter.post("/v1/sys/rotate")  # new keyring term on A; B must read what A writes with it
    a.secrets.kv.v2.create_or_update_secret("y", {"v": "2"}, mount_point="shared")
    assert _until(lambda: _read_ok(b, "y"), 15)


def _read_ok(c: hvac.Client, path: str) -> bool:
    try:
        return c.secrets.kv.v2.read_secret_version(path, mount_point="shared",
                                                   raise_on_deleted_version=True)["data"]["data"] == {"v": "2"}
    except hvac.exceptions.VaultError:
        return False


def test_leader_killed_mid_run_survivor_revokes_every_lease(cluster) -> None:
    servers, clients, db = cluster
    a = clients[0]
    a.sys.enable_secrets_engine("database")
    a.secrets.database.configure("pg", "postgresql-database-plugin", allowed_roles=["*"],
                                 connection_url=db.template_url, username=db.pg.user, password=db.pg.password)
    a.secrets.database.create_role("short", "pg", creation_statements=CREATE, default_ttl=5, max_ttl=60)
    b = clients[1]
    assert _until(lambda: "database/" in b.sys.list_mounted_secrets_engines()["data"], 15)
    issued = [c.secrets.database.generate_credentials("short")["data"] for c in (a, b, a, b)]
    users = [cr["username"] for cr in issued]
    assert all(db.can_login(cr["username"], cr["password"]) for cr in issued)
    idx = [_leader(c)["is_self"] for c in clients].index(True)
    servers[idx].stop(signal.SIGKILL)
    survivor = clients[1 - idx]
    assert _until(lambda: _leader(survivor)["is_self"], 20)
    assert _until(lambda: not any(db.role_exists(u) for u in users), 25)
    assert not any(db.can_login(cr["username"], cr["password"]) for cr in issued)
    assert httpx.get(survivor.url + "/v1/sys/health").status_code == 200
