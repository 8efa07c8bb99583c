from __future__ import annotations

from collections.abc import Iterator

import pytest

from strongroom.engines import cubbyhole
from strongroom.engines.kv import v1, v2
from tests.engines.harness import FakeClock, Harness


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kv(clock: FakeClock) -> Iterator[Harness]:
    h = Harness(lambda c: v2.build(c, clock=clock), options={"version": "2"})
    yield h
    h.close()


@pytest.fixture
def kv1() -> Iterator[Harness]:
    h = Harness(v1.build, default_lease_ttl=0)
    yield h
    h.close()


@pytest.fixture
def cubby() -> Iterator[Harness]:
    h = Harness(cubbyhole.factory, mount_type="cubbyhole")
    yield h
    h.close()
