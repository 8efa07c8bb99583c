"""Fixtures for auth-method tests: the shared dev server, a mount per test, and a fake Kubernetes API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import hvac
import pytest

from tests.auth import kubeapi


@pytest.fixture
def root(dev_server) -> hvac.Client:
    return hvac.Client(url=dev_server.addr, token=dev_server.root_token)


def _mount(client: hvac.Client, method: str) -> Iterator[str]:
    path = f"{method}-{uuid.uuid4().hex[:8]}"
    client.sys.enable_auth_method(method, path=path)
    yield path
    client.sys.disable_auth_method(path)


@pytest.fixture
def userpass(root) -> Iterator[str]:
    yield from _mount(root, "userpass")


@pytest.fixture
def approle(root) -> Iterator[str]:
    yield from _mount(root, "approle")


@pytest.fixture
def k8s_mount(root) -> Iterator[str]:
    yield from _mount(root, "kubernetes")


@pytest.fixture(scope="session")
def kube() -> Iterator[kubeapi.KubeAPI]:
    api = kubeapi.start()
    yield api
    api.close()


def anon(server) -> hvac.Client:
    """A client without a token, as a workload logging in."""
    return hvac.Client(url=server.addr)
