"""Fixtures: a fresh PostgreSQL database per test module, and a Strongroom dev server with database/ mounted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import hvac
import psycopg
import pytest

from tests.harness import Server, strongroom_server
from tests.services import Postgres

CREATE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
GRANT = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";"


@dataclass
class Db:
    pg: Postgres
    name: str

    @property
    def dsn(self) -> str:
        return self.pg.dsn(self.name)

    @property
    def template_url(self) -> str:
        return f"postgresql://{{{{username}}}}:{{{{password}}}}@{self.pg.host}:{self.pg.port}/{self.name}"

    def login(self, user: str, password: str) -> None:
        """Raises psycopg.OperationalError when the credential does not (or no longer) work."""
        with psycopg.connect(host=self.pg.host, port=self.pg.port, dbname=self.name, user=user,
                             password=password, connect_timeout=5) as conn:
            conn.execute("SELECT 1").fetchone()

    def can_login(self, user: str, password: str) -> bool:
        try:
            self.login(user, password)
        except psycopg.OperationalError:
            return False
        return True

    def role_exists(self, user: str) -> bool:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is not None

    def valid_until(self, user: str) -> object:
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        return row[0] if row else None


def fresh_db(pg: Postgres) -> Db:
    name = "db_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int)")
        conn.execute("INSERT INTO items VALUES (1), (2)")
    return Db(pg, name)


@pytest.fixture(scope="module")
def db(pg: Postgres) -> Db:
    return fresh_db(pg)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with strongroom_server() as s:
        yield s


@pytest.fixture(scope="module")
def client(server: Server, db: Db) -> hvac.Client:
    c = hvac.Client(url=server.addr, token=server.root_token)
    c.sys.enable_secrets_engine("database")
    c.secrets.database.configure("pg", "postgresql-database-plugin", allowed_roles=["ro", "short", "block", "st*",
                                                                                      "static1", "bad", "rb"],
                                 connection_url=db.template_url, username=db.pg.user, password=db.pg.password)
    c.secrets.database.create_role("ro", "pg", creation_statements=[CREATE, GRANT], default_ttl="1h",
                                   max_ttl="2h")
    return c
