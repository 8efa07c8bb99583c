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


@pytest.fixture(scope="session")
def dev_server():
    """One shared Strongroom dev server (root token "root") for API tests that don't need isolation."""
    from tests.harness import strongroom_server

    with strongroom_server() as server:
        yield server


@pytest.fixture(scope="session")
def bao_server():
    """A real OpenBao dev server (root token "root") to compare behaviour against."""
    from tests.harness import openbao_server

    with openbao_server() as server:
        yield server


@pytest.fixture
def fresh_server():
    """A Strongroom dev server of the test's own."""
    from tests.harness import strongroom_server

    with strongroom_server() as server:
        yield server
