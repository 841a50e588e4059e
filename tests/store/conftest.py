"""Fixtures for the value store tests: every contract test runs on every store.

The Redis store runs against the real server from ``redis_url`` with a key prefix of its own;
afterwards every key under that prefix is deleted (never FLUSHDB: other tests share the server).
It runs again against a Redis Cluster of three masters that this session starts itself
(``redis_cluster_url``): three ``redis-server`` processes in cluster mode on free loopback
ports, about two seconds to start, so it runs wherever ``redis-server`` is installed (and fails
under ``CI`` without it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from wallboard.core.clock import FakeClock
from wallboard.store.interface import ValueStore
from wallboard.store.memory import MemoryValueStore
from wallboard.store.redis import RedisValueStore, redis_client


class StoreMaker:
    """Opens stores of one kind, all sharing one fake clock (and one Redis key prefix).

    Test modules type it with a Protocol of their own (a conftest is not importable).
    """

    def __init__(self, kind: str, redis_url: str | None) -> None:
        self.kind = kind
        self.clock = FakeClock()
        self.prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
        self.redis_url = redis_url
        self.opened: list[ValueStore] = []

    async def __call__(self, **options: Any) -> ValueStore:
        options.setdefault("clock", self.clock)
        store: ValueStore
        if self.kind == "memory":
            store = MemoryValueStore(**options)
        else:
            assert self.redis_url is not None
            store = await RedisValueStore.connect(self.redis_url, prefix=self.prefix, **options)
        self.opened.append(store)
        return store

    async def cleanup(self) -> None:
        for store in self.opened:
            await store.close()
        if self.redis_url is not None:
            client = redis_client(self.redis_url)
            try:
                keys = [key async for key in client.scan_iter(match=f"{self.prefix}:*", count=1000)]
                if keys:
                    await client.unlink(*keys)
            finally:
                await client.aclose()


_URL_FIXTURES = {"memory": None, "redis": "redis_url", "redis-cluster": "redis_cluster_url"}


@pytest.fixture(params=list(_URL_FIXTURES))
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreMaker]:
    """A maker of stores of one kind; ``await make_store(max_batches=5)`` opens one."""
    kind: str = request.param
    fixture = _URL_FIXTURES[kind]
    url = request.getfixturevalue(fixture) if fixture else None
    maker = StoreMaker("memory" if url is None else "redis", url)
    try:
        yield maker
    finally:
        await maker.cleanup()


@pytest.fixture
async def store(make_store: StoreMaker) -> ValueStore:
    """A store with default options, of each kind in turn."""
    return await make_store()


@pytest.fixture(params=["redis", "redis-cluster"])
async def redis_maker(request: pytest.FixtureRequest) -> AsyncIterator[StoreMaker]:
    """A maker of Redis stores only (one server, then a cluster), for tests of the key layout;
    its ``redis_url`` is the URL they use."""
    fixture = _URL_FIXTURES[request.param]
    assert fixture is not None
    maker = StoreMaker("redis", request.getfixturevalue(fixture))
    try:
        yield maker
    finally:
        await maker.cleanup()
