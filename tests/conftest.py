"""Fixtures shared by every test: where the real PostgreSQL and Redis servers are.

Tests that need a server ask for ``postgres_url`` or ``redis_url``. Without the server they are
skipped on a developer's machine, but when ``CI`` is set a missing server fails the run: a green
CI must mean the server tests really ran.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import settings

# Property tests judge results, not speed (benchmarks in bench/ do): on a shared, loaded machine a
# single example can take longer than Hypothesis' default 200 ms deadline.
settings.register_profile("wallboard", deadline=None)
settings.load_profile("wallboard")

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


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``redis+cluster://`` URL of a 3-master Redis Cluster started for this session (by
    the store and the collector lease tests)."""
    from server_process import RedisCluster

    cluster = RedisCluster(Path(tmp_path_factory.mktemp("redis-cluster")))
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(params=["memory", "redis"])
async def memory_or_redis_store(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    """A value store of each kind: the in-memory one, and Redis under a prefix of its own whose
    keys are removed afterwards."""
    import uuid

    from wallboard.store.memory import MemoryValueStore
    from wallboard.store.redis import RedisValueStore, redis_client

    if request.param == "memory":
        yield MemoryValueStore()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
    redis_store = await RedisValueStore.connect(url, prefix=prefix)
    try:
        yield redis_store
    finally:
        await redis_store.close()
        client = redis_client(url)
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


# The metadata database fixtures serve tests/db and tests/web; registered here once so that the
# session's migrated PostgreSQL template is made once.
from database_fixtures import (  # noqa: E402
    empty_postgres_url,
    empty_url,
    migrated_postgres_url,
    migrated_sqlite_url,
    migrated_url,
    postgres_template,
    sqlite_url,
)

__all__ = [
    "empty_postgres_url",
    "empty_url",
    "migrated_postgres_url",
    "migrated_sqlite_url",
    "migrated_url",
    "postgres_template",
    "sqlite_url",
]
