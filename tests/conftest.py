"""Fixtures shared by every test: where the real PostgreSQL and Redis servers are.

Tests that need a server ask for ``postgres_url`` or ``redis_url``. Without the server they are
skipped on a developer's machine, but when ``CI`` is set a missing server fails the run: a green
CI must mean the server tests really ran.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "WALLBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("WALLBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def _require(url: str, what: str) -> str:
    if not _reachable(url):
        message = f"{what} is not reachable at {url}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the server tests", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL server whose user may create databases (libpq form)."""
    return _require(POSTGRES_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis server; tests isolate themselves by key prefix, never by FLUSHDB."""
    return _require(REDIS_URL, "Redis")


NATS_URL = os.environ.get("WALLBOARD_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture(scope="session")
def nats_url() -> str:
    """URL of a NATS server with JetStream; tests isolate themselves by stream prefix."""
    return _require(NATS_URL, "NATS")
