"""The database engine through hvac (a Vault client we did not write) against a real PostgreSQL."""

from __future__ import annotations

import base64
import time

import hvac
import hvac.exceptions
import psycopg
import pytest

from tests.engines.database.conftest import CREATE, GRANT, Db
from tests.harness import Server


def test_config_read_never_returns_the_password(client: hvac.Client, db: Db) -> None:
    got = client.secrets.database.read_connection("pg")["data"]
    assert got["plugin_name"] == "postgresql-database-plugin"
    assert got["connection_details"]["connection_url"] == db.template_url
    assert got["connection_details"]["username"] == db.pg.user
    assert "password" not in got["connection_details"]
    assert db.pg.password not in str(got)
    assert client.secrets.database.list_connections()["data"]["keys"] == ["pg"]
    client.secrets.database.reset_connection("pg")
    reloaded = client.write("database/reload/postgresql-database-plugin")
    assert reloaded["data"] == {"connections": ["pg"], "count": 1}


def test_creds_log_in_and_revoke_locks_them_out(client: hvac.Client, db: Db) -> None:
    cr = client.secrets.database.generate_credentials("ro")
    user, pw = cr["data"]["username"], cr["data"]["password"]
    assert cr["lease_id"].startswith("database/creds/ro/") and cr["renewable"] and cr["lease_duration"] == 3600
    assert user.startswith("v-root-ro-") and len(pw) == 20
    db.login(user, pw)
    looked = client.sys.read_lease(cr["lease_id"])["data"]
    assert looked["id"] == cr["lease_id"] and 3590 <= looked["ttl"] <= 3600
    client.sys.revoke_lease(cr["lease_id"])
    assert not db.can_login(user, pw)
    assert not db.role_exists(user)


def test_renew_runs_the_renew_statements_and_is_capped_by_max_ttl(client: hvac.Client, db: Db) -> None:
    cr = client.secrets.database.generate_credentials("ro")
    user = cr["data"]["username"]
    before = db.valid_until(user)
    renewed = client.sys.renew_lease(cr["lease_id"], increment=5400)
    assert renewed["lease_duration"] == 5400
    after = db.valid_until(user)
    assert after is not None and before is not None and after > before  # type: ignore[operator]
    capped = client.sys.renew_lease(cr["lease_id"], increment=99999)
    assert 7190 <= capped["lease_duration"] <= 7200  # role max_ttl 2h from issue time
    client.sys.revoke_lease(cr["lease_id"])


def test_expired_lease_is_revoked_on_time(client: hvac.Client, db: Db) -> None:
    client.secrets.database.create_role("short", "pg", creation_statements=CREATE, default_ttl=2, max_ttl=10)
    cr = client.secrets.database.generate_credentials("short")
    user, pw = cr["data"]["username"], cr["data"]["password"]
    assert cr["lease_duration"] == 2
    db.login(user, pw)
    deadline = time.monotonic() + 15
    while db.role_exists(user) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not db.role_exists(user) and not db.can_login(user, pw)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.read_lease(cr["lease_id"])


def test_statement_forms_string_json_base64_and_plpgsql_block(client: hvac.Client, db: Db) -> None:
    block = ("DO $$ BEGIN CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
             "VALID UNTIL '{{expiration}}'; END $$;")
    client.secrets.database.create_role("block", "pg", creation_statements=block, default_ttl=600)
    assert client.secrets.database.read_role("block")["data"]["creation_statements"] == [block]
    cr = client.secrets.database.generate_credentials("block")
    assert db.can_login(cr["data"]["username"], cr["data"]["password"])
    assert db.role_exists(cr["data"]["username"])
    b64 = base64.b64encode(f"{CREATE} {GRANT}".encode()).decode()
    client.write("database/roles/stb64", db_name="pg", creation_statements=b64)
    assert client.secrets.database.read_role("stb64")["data"]["creation_statements"] == [f"{CREATE} {GRANT}"]
    cr2 = client.read("database/creds/stb64")
    db.login(cr2["data"]["username"], cr2["data"]["password"])
    as_json = '["' + CREATE.replace('"', '\\"') + '"]'
    client.write("database/roles/stjson", db_name="pg", creation_statements=as_json)
    assert client.secrets.database.read_role("stjson")["data"]["creation_statements"] == [CREATE]
    client.sys.revoke_prefix("database/creds/")
    assert not db.role_exists(cr["data"]["username"]) and not db.role_exists(cr2["data"]["username"])


def test_sql_error_is_clear_rolled_back_and_leaks_nothing(client: hvac.Client, db: Db) -> None:
    bad = CREATE + " GRANT SELEKT ON items TO \"{{name}}\";"
    client.secrets.database.create_role("bad", "pg", creation_statements=bad, default_ttl=600)
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.database.generate_credentials("bad")
    msg = str(exc.value)
    assert "creating the database user failed" in msg and 'unrecognized privilege type "selekt"' in msg
    assert db.pg.password not in msg
    with psycopg.connect(db.dsn) as conn:  # the whole transaction rolled back: no half-made user
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-root-bad-%'").fetchone() == (0,)


def test_password_in_failing_statement_is_redacted(client: hvac.Client, db: Db) -> None:
    client.secrets.database.create_role("rb", "pg", creation_statements='SELECT 1 FROM "{{password}}";')
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.database.generate_credentials("rb")
    assert 'relation "[redacted]" does not exist' in str(exc.value)


def test_unknown_and_disallowed_roles(client: hvac.Client, db: Db) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest, match="unknown role"):
        client.secrets.database.generate_credentials("nope")
    client.secrets.database.create_role("notallowed", "pg", creation_statements=CREATE)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="not an allowed role"):
        client.secrets.database.generate_credentials("notallowed")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="creation_statements"):
        client.secrets.database.create_role("empty", "pg", creation_statements="")


def test_bad_connection_url_is_clear_and_secret_free(client: hvac.Client, db: Db) -> None:
    url = f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{db.pg.port}/{db.name}"
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.database.configure("wrongpw", "postgresql-database-plugin", connection_url=url,
                                          username=db.pg.user, password="sUp3r-s3cret-wr0ng")
    assert "password authentication failed" in str(exc.value) and "sUp3r-s3cret-wr0ng" not in str(exc.value)
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.database.configure("badhost", "postgresql-database-plugin",
                                          connection_url="postgresql://u:hunter2-pass@127.0.0.1:1/x")
    assert "error verifying connection" in str(exc.value) and "hunter2-pass" not in str(exc.value)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="must start with postgresql://"):
        client.secrets.database.configure("mysqlish", "postgresql-database-plugin",
                                          connection_url="mysql://u:hunter2-pass@127.0.0.1/x")
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.database.configure("badport", "postgresql-database-plugin",
                                          connection_url="postgresql://u:hunter2-pass@127.0.0.1:notaport/x")
    assert "error verifying connection" in str(exc.value) and "hunter2-pass" not in str(exc.value)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="plugin_name"):
        client.secrets.database.configure("noplug", "mysql-database-plugin", connection_url=url)
    assert client.secrets.database.list_connections()["data"]["keys"] == ["pg"]


def test_static_role_rotate_and_static_creds(client: hvac.Client, db: Db) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE \"app-static\" WITH LOGIN PASSWORD 'initial-pw'")
        conn.execute("GRANT SELECT ON items TO \"app-static\"")
    client.secrets.database.create_static_role("static1", "pg", "app-static", rotation_statements=[],
                                               rotation_period=3600)
    first = client.secrets.database.get_static_credentials("static1")["data"]
    assert first["username"] == "app-static" and first["rotation_period"] == 3600 and first["ttl"] > 3500
    assert not db.can_login("app-static", "initial-pw")
    db.login("app-static", first["password"])
    client.secrets.database.rotate_static_role_credentials("static1")
    second = client.secrets.database.get_static_credentials("static1")["data"]
    assert second["password"] != first["password"]
    db.login("app-static", second["password"])
    assert not db.can_login("app-static", first["password"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="mutually exclusive"):
        client.write("database/static-roles/static1", db_name="pg", username="app-static",
                     rotation_period=60, rotation_schedule="0 * * * *")
    client.write("database/static-roles/static1", db_name="pg", rotation_schedule="*/5 * * * *")
    got = client.read("database/static-roles/static1")["data"]
    assert got["rotation_schedule"] == "*/5 * * * *"


def test_token_revocation_revokes_its_leases(client: hvac.Client, db: Db, server: Server) -> None:
    child = client.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"]
    c2 = hvac.Client(url=server.addr, token=child)
    cr = c2.secrets.database.generate_credentials("ro")
    assert db.role_exists(cr["data"]["username"])
    client.auth.token.revoke(child)
    assert not db.role_exists(cr["data"]["username"])


def test_lease_list_count_force_and_tidy(client: hvac.Client, db: Db) -> None:
    leases = [client.secrets.database.generate_credentials("ro") for _ in range(3)]
    keys = client.sys.list_leases("database/creds/ro/")["data"]["keys"]
    assert {lease["lease_id"].rsplit("/", 1)[1] for lease in leases} <= set(keys)
    count = client.adapter.get("/v1/sys/leases/count", params={"type": "irrevocable"})
    assert count["data"]["lease_count"] == 0
    client.adapter.post("/v1/sys/leases/revoke-force/database/creds/ro")
    for lease in leases:
        assert not db.role_exists(lease["data"]["username"])
    tidy = client.adapter.post("/v1/sys/leases/tidy")
    assert getattr(tidy, "status_code", 202) == 202


def test_rotate_root_keeps_the_engine_working(client: hvac.Client, db: Db) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE rootish WITH LOGIN CREATEROLE PASSWORD 'rootish-pw'")
        conn.execute("GRANT SELECT ON items TO rootish WITH GRANT OPTION")
    client.secrets.database.configure("rot", "postgresql-database-plugin", allowed_roles=["*"],
                                      connection_url=db.template_url, username="rootish", password="rootish-pw")
    client.secrets.database.create_role("rotrole", "rot", creation_statements=CREATE)
    client.secrets.database.rotate_root_credentials("rot")
    assert not db.can_login("rootish", "rootish-pw")
    cr = client.secrets.database.generate_credentials("rotrole")
    assert db.role_exists(cr["data"]["username"])
    client.sys.revoke_lease(cr["lease_id"])
    assert not db.role_exists(cr["data"]["username"])
