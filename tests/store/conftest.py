"""Fixtures for the value store tests: every contract test runs on both stores.

The Redis store runs against the real server from ``redis_url`` with a key prefix of its own;
afterwards every key under that prefix is deleted (never FLUSHDB: other tests share the server).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio

from wallboard.core.clock import FakeClock
from wallboard.store.interface import ValueStore
from wallboard.store.memory import MemoryValueStore
from wallboard.store.redis import RedisValueStore


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
            client = redis.asyncio.Redis.from_url(self.redis_url)
            try:
                keys = [key async for key in client.scan_iter(match=f"{self.prefix}:*", count=1000)]
                if keys:
                    await client.unlink(*keys)
            finally:
                await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreMaker]:
    """A maker of stores of one kind; ``await make_store(max_batches=5)`` opens one."""
    kind: str = request.param
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    maker = StoreMaker(kind, url)
    try:
        yield maker
    finally:
        await maker.cleanup()


@pytest.fixture
async def store(make_store: StoreMaker) -> ValueStore:
    """A store with default options, of each kind in turn."""
    return await make_store()


@pytest.fixture
async def redis_maker(redis_url: str) -> AsyncIterator[StoreMaker]:
    """A maker of Redis stores only, for tests of the Redis key layout."""
    maker = StoreMaker("redis", redis_url)
    try:
        yield maker
    finally:
        await maker.cleanup()
