"""The PostgreSQL plugin (`postgresql-database-plugin`): psycopg 3 with a small async connection pool.

Identifiers the plugin builds itself are quoted with psycopg.sql.Identifier; every driver error is sanitised
before it leaves, so neither the root password, a generated password nor the connection URL can leak.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from strongroom.engines.database.plugin import ConnectionConfig, DatabaseError, register, sanitize

log = logging.getLogger("strongroom.database.postgresql")

DEFAULT_RENEW = ["ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}';"]
DEFAULT_ROTATION = ["ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"]
CONNECT_TIMEOUT = 10


def render_url(cfg: ConnectionConfig) -> str:
    url = cfg.connection_url
    if "://" in url:  # URL form: escape the credentials
        user, pw = quote(cfg.username, safe=""), quote(cfg.password, safe="")
    else:  # key=value form
        user, pw = cfg.username, cfg.password
    return url.replace("{{username}}", user).replace("{{password}}", pw)


class PostgresPlugin:
    name = "postgresql-database-plugin"

    def __init__(self, cfg: ConnectionConfig) -> None:
        self.cfg = cfg
        self._dsn = render_url(cfg)
        self._pool: AsyncConnectionPool | None = None
        self._lock = asyncio.Lock()

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self._dsn, self.cfg.connection_url, self.cfg.password, quote(self.cfg.password, safe=""))

    def _error(self, exc: BaseException, extra: tuple[str, ...] = ()) -> DatabaseError:
        if isinstance(exc, PoolTimeout):
            msg = f"could not connect to the database within {CONNECT_TIMEOUT}s"
        else:
            msg = str(exc).strip() or type(exc).__name__
        return DatabaseError(sanitize(msg, (*self._secrets, *extra)))

    async def _get_pool(self) -> AsyncConnectionPool:
        async with self._lock:
            if self._pool is None:
                pool = AsyncConnectionPool(
                    self._dsn, min_size=0, max_size=max(1, self.cfg.max_open_connections), open=False,
                    timeout=CONNECT_TIMEOUT, kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                    max_lifetime=float(self.cfg.max_connection_lifetime or 3600),
                    max_idle=60.0, reconnect_timeout=CONNECT_TIMEOUT)
                await pool.open(wait=False)
                self._pool = pool
            return self._pool

    async def verify(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(self._dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True)
        except (psycopg.Error, OSError, ValueError) as exc:
            raise self._error(exc) from None
        try:
            await conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            await conn.close()

    async def run(self, queries: list[str], *, transaction: bool = True, secrets: tuple[str, ...] = ()) -> None:
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn:
                if transaction:
                    async with conn.transaction():
                        for q in queries:
                            await conn.execute(q.encode(), prepare=False)
                else:
                    for q in queries:
                        await conn.execute(q.encode(), prepare=False)
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise self._error(exc, secrets) from None

    async def user_exists(self, username: str) -> bool:
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,))
                return await cur.fetchone() is not None
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise self._error(exc) from None

    async def revoke_default(self, username: str) -> None:
        """Vault's default: revoke grants schema by schema (best effort), then DROP ROLE in one last step."""
        if not await self.user_exists(username):
            return
        pool = await self._get_pool()
        u = sql.Identifier(username)
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee = %s",
                    (username,))
                schemas = [r[0] for r in await cur.fetchall()]
                dbname = (await (await conn.execute("SELECT current_database()")).fetchone() or [""])[0]
                best_effort: list[sql.Composed] = []
                for s in schemas:
                    best_effort.append(sql.SQL("REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA {} FROM {}").format(
                        sql.Identifier(s), u))
                    best_effort.append(sql.SQL("REVOKE USAGE ON SCHEMA {} FROM {}").format(sql.Identifier(s), u))
                best_effort += [
                    sql.SQL("REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM {}").format(u),
                    sql.SQL("REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM {}").format(u),
                    sql.SQL("REVOKE USAGE ON SCHEMA public FROM {}").format(u),
                    sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(sql.Identifier(dbname), u),
                ]
                for q in best_effort:
                    try:
                        await conn.execute(q)
                    except psycopg.Error as exc:
                        log.debug("default revocation step failed (continuing): %s",
                                  sanitize(str(exc), self._secrets))
                await conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(u))
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise self._error(exc) from None

    def default_renew(self) -> list[str]:
        return list(DEFAULT_RENEW)

    def default_rotation(self) -> list[str]:
        return list(DEFAULT_ROTATION)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


register(PostgresPlugin.name, PostgresPlugin, "postgresql", "postgres-database-plugin")

__all__ = ["PostgresPlugin", "render_url"]
