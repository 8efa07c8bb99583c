"""The database plugin protocol: what the engine needs from a database, so more than PostgreSQL can be added.

A plugin owns its connections and runs statements; the engine owns storage, templates, WAL and leases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ConnectionConfig:
    connection_url: str
    username: str = ""
    password: str = ""
    max_open_connections: int = 4
    max_idle_connections: int = 0
    max_connection_lifetime: int = 0
    disable_escaping: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class DatabaseError(Exception):
    """A database refused an operation. Its message is already sanitised: no passwords, no connection URL."""


class Plugin(Protocol):
    name: str

    async def verify(self) -> None:
        """Connects once; raises DatabaseError when the database cannot be reached or rejects the login."""

    async def run(self, queries: list[str], *, transaction: bool = True, secrets: tuple[str, ...] = ()) -> None:
        """Runs already-rendered queries, all in one transaction unless told otherwise."""

    async def revoke_default(self, username: str) -> None:
        """The plugin's default revocation when a role has no revocation statements."""

    async def user_exists(self, username: str) -> bool: ...

    def default_renew(self) -> list[str]: ...

    def default_rotation(self) -> list[str]: ...

    async def close(self) -> None: ...


PluginFactory = Callable[[ConnectionConfig], Plugin]
REGISTRY: dict[str, PluginFactory] = {}


def register(name: str, factory: PluginFactory, *aliases: str) -> None:
    for n in (name, *aliases):
        REGISTRY[n] = factory


def sanitize(message: str, secrets: tuple[str, ...]) -> str:
    """Removes every known secret (passwords, connection URLs) from a driver's message."""
    for s in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        message = message.replace(s, "[redacted]")
    return message


__all__ = ["REGISTRY", "ConnectionConfig", "DatabaseError", "Plugin", "PluginFactory", "register", "sanitize"]
