"""Fixtures of the permissions tests: the permissions store of each kind (memory, Redis, a
Redis Cluster) under a key prefix of its own, and metadata databases on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from wallboard.db.database import Database, open_database
from wallboard.permissions.store import (
    MemoryPermissionsStore,
    PermissionsStore,
    RedisPermissionsStore,
)
from wallboard.store.redis import RedisValueStore, redis_client

_URL_FIXTURES = {"memory": None, "redis": "redis_url", "redis-cluster": "redis_cluster_url"}


@pytest.fixture(params=list(_URL_FIXTURES))
async def permissions_store(request: pytest.FixtureRequest) -> AsyncIterator[PermissionsStore]:
    fixture = _URL_FIXTURES[request.param]
    if fixture is None:
        yield MemoryPermissionsStore()
        return
    url: str = request.getfixturevalue(fixture)
    prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
    values = await RedisValueStore.connect(url, prefix=prefix)
    try:
        yield RedisPermissionsStore(values)
    finally:
        await values.close()
        client = redis_client(url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            for key in keys:  # one by one: a cluster's keys live on several nodes
                await client.unlink(key)
        finally:
            await client.aclose()


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[Database]:
    async with open_database(migrated_url) as db:
        yield db
