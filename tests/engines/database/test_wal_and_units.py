"""Write-ahead rollback (crash mid-creation), rollback statements, and the pure helpers (statements, cron,
username templates) the engine is built on."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import time
from collections.abc import Iterator

import orjson
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.engines import database
from strongroom.engines.database import cron
from strongroom.engines.database import statements as stm
from strongroom.engines.database.credentials import DEFAULT_USERNAME_TEMPLATE, generate_password, render_username
from strongroom.sdk import InvalidRequest, Operation
from tests.engines.database.conftest import CREATE, Db
from tests.engines.harness import Harness


@pytest.fixture
def eng(db: Db) -> Iterator[Harness]:
    h = Harness(database.factory, mount_type="database")
    h.write("config/pg", {"plugin_name": "postgresql-database-plugin", "connection_url": db.template_url,
                          "username": db.pg.user, "password": db.pg.password, "allowed_roles": "*"})
    yield h
    assert h.backend.clean is not None
    h.runner.run(h.backend.clean())
    h.close()


def test_leftover_wal_record_is_rolled_back_on_startup(eng: Harness, db: Db) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE \"v-crashed-user\" WITH LOGIN PASSWORD 'whatever-pw'")
    rec = {"kind": "creation", "created": time.time() - 120, "db_name": "pg", "username": "v-crashed-user",
           "rollback_statements": []}
    eng.runner.run(eng.storage.put("wal/abc", orjson.dumps(rec)))
    assert eng.backend.initialize is not None

    async def start_and_wait() -> None:
        await eng.backend.initialize()  # type: ignore[misc]
        for _ in range(100):
            if not await eng.storage.list("wal/"):
                return
            await asyncio.sleep(0.05)

    eng.runner.run(start_and_wait())
    assert not db.role_exists("v-crashed-user")
    assert eng.runner.run(eng.storage.list("wal/")) == []


def test_fresh_wal_record_is_left_to_its_creator(eng: Harness, db: Db) -> None:
    rec = {"kind": "creation", "created": time.time(), "db_name": "pg", "username": "v-inflight",
           "rollback_statements": []}
    eng.runner.run(eng.storage.put("wal/new", orjson.dumps(rec)))
    assert eng.backend.periodic is not None
    eng.runner.run(eng.backend.periodic())
    assert eng.runner.run(eng.storage.list("wal/")) == ["new"]


def test_failed_creation_runs_rollback_statements_and_clears_wal(eng: Harness, db: Db) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS rolled (name text)")
    eng.write("roles/rb", {"db_name": "pg", "creation_statements": [CREATE, "SELECT nope FROM nowhere"],
                           "rollback_statements": "INSERT INTO rolled VALUES ('{{name}}');"})
    with pytest.raises(InvalidRequest, match="creating the database user failed"):
        eng.call(Operation.READ, "creds/rb")
    with psycopg.connect(db.dsn) as conn:
        rows = conn.execute("SELECT name FROM rolled").fetchall()
    assert len(rows) == 1 and rows[0][0].startswith("v-token-rb-")
    assert not db.role_exists(rows[0][0])
    assert eng.runner.run(eng.storage.list("wal/")) == []


def test_statement_parsing_forms() -> None:
    one = "CREATE ROLE a; GRANT x TO a;"
    assert stm.parse_statements(one, "f") == [one]
    assert stm.parse_statements(base64.b64encode(one.encode()).decode(), "f") == [one]
    assert stm.parse_statements('["a;", "b"]', "f") == ["a;", "b"]
    assert stm.parse_statements(["a", "", "b"], "f") == ["a", "b"]
    assert stm.split([one]) == ["CREATE ROLE a", "GRANT x TO a"]
    block = "DO $$ BEGIN CREATE ROLE x; END $$;"
    assert stm.split([block]) == [block]
    assert not stm.has_block("CREATE ROLE \"end\" PASSWORD 'END'; GRANT y TO z;")
    with pytest.raises(InvalidRequest):
        stm.parse_statements(42, "creation_statements")


def test_render_and_expiration_format() -> None:
    q = stm.render("ALTER ROLE \"{{ username }}\" VALID UNTIL '{{expiration}}' -- {{name}} {{other}}",
                   {"name": "u1", "expiration": "x"})
    assert q == "ALTER ROLE \"u1\" VALID UNTIL 'x' -- u1 {{other}}"
    assert stm.format_expiration(0) == "1970-01-01 00:00:00+0000"


def test_cron_next_and_errors() -> None:
    base = dt.datetime(2026, 1, 1, 10, 7, tzinfo=dt.UTC).timestamp()
    assert cron.parse("*/15 * * * *").next_after(base) == dt.datetime(2026, 1, 1, 10, 15, tzinfo=dt.UTC).timestamp()
    assert cron.parse("0 3 * * 1").next_after(base) == dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.UTC).timestamp()
    for bad in ("* * * *", "61 * * * *", "a b c d e"):
        with pytest.raises(InvalidRequest):
            cron.parse(bad)


def test_default_username_template() -> None:
    name = render_username(DEFAULT_USERNAME_TEMPLATE, "token-with-a-long-name", "readonly-role-x")
    parts = name.split("-")
    assert name.startswith("v-token-wi-readonly-") and len(name) <= 63 and len(parts[-2]) == 20
    with pytest.raises(InvalidRequest):
        render_username('{{ "bad\\"quote" }}', "t", "r")


@given(st.text(alphabet="abcXYZ09-_", min_size=1, max_size=30), st.text(alphabet="abc09-_", min_size=1,
                                                                              max_size=30))
def test_usernames_are_always_safe_identifiers(display: str, role: str) -> None:
    name = render_username(DEFAULT_USERNAME_TEMPLATE, display, role)
    assert len(name) <= 63 and '"' not in name and "'" not in name


def test_passwords_meet_the_default_policy() -> None:
    for _ in range(50):
        pw = generate_password()
        assert len(pw) == 20 and "-" in pw and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw)


def test_periodic_rotates_due_static_roles(eng: Harness, db: Db) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS \"periodic-user\"")
        conn.execute("CREATE ROLE \"periodic-user\" WITH LOGIN PASSWORD 'start-pw'")
    eng.write("static-roles/per", {"db_name": "pg", "username": "periodic-user", "rotation_period": "5s"})
    first = eng.read("static-creds/per")
    assert first is not None and first.data is not None and 0 < first.data["ttl"] <= 5
    assert db.can_login("periodic-user", first.data["password"])
    assert eng.backend.periodic is not None
    eng.runner.run(eng.backend.periodic())  # not due yet: unchanged
    same = eng.read("static-creds/per")
    assert same is not None and same.data is not None and same.data["password"] == first.data["password"]
    raw = orjson.loads(eng.runner.run(eng.storage.get("static-role/per")) or b"{}")
    raw["next_rotation"] = time.time() - 1
    eng.runner.run(eng.storage.put("static-role/per", orjson.dumps(raw)))
    eng.runner.run(eng.backend.periodic())
    new = eng.read("static-creds/per")
    assert new is not None and new.data is not None and new.data["password"] != first.data["password"]
    assert db.can_login("periodic-user", new.data["password"])
    assert not db.can_login("periodic-user", first.data["password"])
