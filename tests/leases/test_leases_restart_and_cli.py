"""Leases survive restarts (a crash included) and still revoke on time; the real `bao` CLI drives the flow."""

from __future__ import annotations

import json
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator

import hvac
import pytest

from tests.engines.database.conftest import CREATE, Db, fresh_db
from tests.harness import Server, run_cli, start_strongroom, strongroom_server
from tests.services import Postgres


@pytest.fixture(scope="module")
def db(pg: Postgres) -> Db:
    return fresh_db(pg)


def _setup(c: hvac.Client, db: Db, ttl: int) -> None:
    c.sys.enable_secrets_engine("database")
    c.secrets.database.configure("pg", "postgresql-database-plugin", allowed_roles=["*"],
                                 connection_url=db.template_url, username=db.pg.user, password=db.pg.password)
    c.secrets.database.create_role("short", "pg", creation_statements=CREATE, default_ttl=ttl, max_ttl=600)


def _wait_gone(db: Db, users: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(db.role_exists(u) for u in users) and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL], ids=["crash"])
def test_restart_mid_lease_still_revokes_on_time(db: Db, sig: signal.Signals) -> None:
    data_dir = tempfile.mkdtemp(prefix="sr-lease-")
    server = start_strongroom(data_dir=data_dir)
    try:
        c = hvac.Client(url=server.addr, token="root")
        _setup(c, db, ttl=4)
        creds = [c.secrets.database.generate_credentials("short")["data"] for _ in range(3)]
        users = [cr["username"] for cr in creds]
        assert all(db.can_login(cr["username"], cr["password"]) for cr in creds)
        server.stop(sig)
        assert all(db.role_exists(u) for u in users)  # nobody revoked them while the server was down
        server = start_strongroom(data_dir=data_dir)
        _wait_gone(db, users, 20)
        assert not any(db.role_exists(u) for u in users)
        assert not any(db.can_login(cr["username"], cr["password"]) for cr in creds)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with strongroom_server() as s:
        yield s


def test_bao_cli_database_and_lease_flow(server: Server, db: Db) -> None:
    run_cli(server, "secrets", "enable", "-path=dbcli", "database")
    run_cli(server, "write", "dbcli/config/pg", "plugin_name=postgresql-database-plugin",
            f"connection_url={db.template_url}", f"username={db.pg.user}", f"password={db.pg.password}",
            "allowed_roles=readonly")
    out = run_cli(server, "read", "-format=json", "dbcli/config/pg").stdout
    assert db.pg.password not in out and json.loads(out)["data"]["allowed_roles"] == ["readonly"]
    run_cli(server, "write", "dbcli/roles/readonly", "db_name=pg", f"creation_statements={CREATE}",
            "default_ttl=1h", "max_ttl=24h")
    cr = json.loads(run_cli(server, "read", "-format=json", "dbcli/creds/readonly").stdout)
    lease_id, user, pw = cr["lease_id"], cr["data"]["username"], cr["data"]["password"]
    assert cr["lease_duration"] == 3600 and db.can_login(user, pw)
    look = json.loads(run_cli(server, "lease", "lookup", "-format=json", lease_id).stdout)
    assert look["data"]["id"] == lease_id
    ren = json.loads(run_cli(server, "lease", "renew", "-format=json", "-increment=2h", lease_id).stdout)
    assert ren["lease_duration"] == 7200
    listed = run_cli(server, "list", "-format=json", "sys/leases/lookup/dbcli/creds/readonly").stdout
    assert lease_id.rsplit("/", 1)[1] in json.loads(listed)
    revoked = run_cli(server, "lease", "revoke", "-sync", lease_id)
    assert "revoked" in (revoked.stdout + revoked.stderr).lower()
    assert not db.can_login(user, pw)
    cr2 = json.loads(run_cli(server, "read", "-format=json", "dbcli/creds/readonly").stdout)
    run_cli(server, "lease", "revoke", "-prefix", "dbcli/creds/readonly")
    _wait_gone(db, [cr2["data"]["username"]], 10)
    assert not db.role_exists(cr2["data"]["username"])
    bad = run_cli(server, "read", "dbcli/creds/nope", check=False)
    assert bad.returncode != 0 and "unknown role" in bad.stderr


def test_async_revoke_is_queued_and_done(server: Server, db: Db) -> None:
    c = hvac.Client(url=server.addr, token="root")
    _setup(c, db, ttl=600)
    cr = c.secrets.database.generate_credentials("short")
    c.adapter.put("/v1/sys/leases/revoke", json={"lease_id": cr["lease_id"], "sync": False})
    _wait_gone(db, [cr["data"]["username"]], 10)
    assert not db.role_exists(cr["data"]["username"])
