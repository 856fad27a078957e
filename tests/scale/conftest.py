"""PostgreSQL and Redis on loopback for the scale-out test (tests/services.py), started from
Debian's packages (`make test-scale` installs them when missing), stopped afterwards."""
from __future__ import annotations

from typing import ContextManager, Dict, Iterator

import pytest

from tests.conftest import OFFSET
from tests.services import ServiceError, postgres_server, redis_server

PG_PORT, REDIS_PORT = 15432 + OFFSET, 16379 + OFFSET


def _running(service: ContextManager[Dict[str, str]]) -> Iterator[Dict[str, str]]:
    """The service's MUTU_* settings while it runs; a clear failure when it cannot start."""
    try:
        with service as env:
            yield env
    except ServiceError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Dict[str, str]]:
    yield from _running(postgres_server(PG_PORT))


@pytest.fixture(scope="session")
def redis() -> Iterator[Dict[str, str]]:
    yield from _running(redis_server(REDIS_PORT))
