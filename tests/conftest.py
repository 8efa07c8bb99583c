"""Session-wide fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import services


@pytest.fixture(scope="session")
def pg() -> Iterator[services.Postgres]:
    """A real PostgreSQL server on loopback for the whole test session."""
    with services.postgres() as server:
        yield server


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[services.Etcd]:
    """A real etcd server on loopback for the whole test session."""
    with services.etcd() as server:
        yield server
