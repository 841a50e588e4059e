"""What only the Redis store promises: its key layout, its prefix, and how it fails."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Protocol

import pytest
import redis.asyncio
from redis.crc import key_slot

from wallboard.core.errors import InvalidInput, Unavailable
from wallboard.core.ids import TenantId
from wallboard.store import Change, Checkpoint, IntervalValue, MemoryValueStore, open_store
from wallboard.store.interface import ValueStore
from wallboard.store.redis import RedisValueStore


class RedisMaker(Protocol):
    """The ``redis_maker`` fixture: opens Redis stores under a key prefix of its own."""

    prefix: str

    async def __call__(self, **options: Any) -> ValueStore: ...


def crc16_xmodem(data: bytes) -> int:
    """CRC16/XMODEM as the Redis Cluster spec gives it, so the slot check needs no Redis code."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def cluster_slot(key: bytes) -> int:
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc16_xmodem(key) % 16384


async def keys_under(redis_url: str, pattern: str) -> list[bytes]:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        return sorted([key async for key in client.scan_iter(match=pattern, count=1000)])
    finally:
        await client.aclose()


async def test_every_key_of_a_tenant_is_in_the_tenant_slot(
    redis_maker: RedisMaker, redis_url: str
) -> None:
    store = await redis_maker()
    # Object ids and checkpoint contents with braces must not move a key to another slot.
    tenants = [TenantId("acme"), TenantId("globex-2")]
    for tenant in tenants:
        await store.apply(
            tenant,
            [
                Change("agent", "a{1}", "state", "ready"),
                Change("queue", "}q{", "calls", 3),
                Change("agent", "a:2", "calls", 1),
            ],
            checkpoint=Checkpoint("engine", b"{other}"),
        )
        await store.write_intervals(tenant, [IntervalValue("offered", "queue", "{q}", 0, 1)])

    slots: dict[str, set[int]] = {}
    for tenant in tenants:
        keys = await keys_under(redis_url, f"{redis_maker.prefix}:{{{tenant}}}:*")
        kinds = {key.split(b":")[2] for key in keys}
        assert kinds == {
            b"version",
            b"origin",
            b"changes",
            b"objects",
            b"obj",
            b"ts",
            b"checkpoint",
        }
        slots[tenant] = {cluster_slot(key) for key in keys}
        assert slots[tenant] == {key_slot(key) for key in keys}  # agrees with redis-py
        assert slots[tenant] == {crc16_xmodem(tenant.encode()) % 16384}
    assert slots["acme"] != slots["globex-2"]
    everything = await keys_under(redis_url, f"{redis_maker.prefix}:*")
    assert len(everything) == 2 * 9  # 3 objects; nothing outside the tenants' keys


def test_cluster_slot_matches_the_spec_example() -> None:
    # The Redis Cluster specification: CRC16 of "123456789" is 0x31C3.
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert cluster_slot(b"{user1000}.following") == cluster_slot(b"{user1000}.followers")


async def test_keys_live_under_the_prefix_and_drop_tenant_removes_them(
    redis_maker: RedisMaker, redis_url: str
) -> None:
    store = await redis_maker()
    tenant = TenantId("t1")
    await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    await store.write_intervals(tenant, [IntervalValue("offered", "queue", "q1", 0, 1)])
    assert len(await keys_under(redis_url, f"{redis_maker.prefix}:*")) == 6
    await store.drop_tenant(tenant)
    assert await keys_under(redis_url, f"{redis_maker.prefix}:*") == []


@pytest.mark.parametrize("prefix", ["", "w b", "w{b", "wb}", "w*", "x" * 65])
def test_invalid_prefixes_are_rejected(redis_url: str, prefix: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RedisValueStore(redis_url, prefix=prefix)
    assert caught.value.detail["field"] == "redis_prefix"


async def test_an_unreachable_redis_is_unavailable_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await RedisValueStore.connect("redis://127.0.0.1:1/0", timeout=1.0)
    assert time.monotonic() - started < 5


async def test_open_store_follows_the_url(redis_url: str) -> None:
    memory = await open_store("")
    assert isinstance(memory, MemoryValueStore)
    await memory.close()
    prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
    store = await open_store(redis_url, prefix=prefix)
    try:
        assert isinstance(store, RedisValueStore)
        await store.apply(TenantId("t1"), [Change("agent", "a1", "state", "ready")])
        assert await keys_under(redis_url, f"{prefix}:{{t1}}:*") != []
        await store.drop_tenant(TenantId("t1"))
    finally:
        await store.close()


async def test_a_batch_and_its_checkpoint_change_in_one_step(
    redis_maker: RedisMaker, redis_url: str
) -> None:
    """Read the value and the checkpoint in one MULTI while batches are written: they match.

    This looks at the keys directly (the layout is this module's business): a store that wrote
    the checkpoint in a step of its own would let a reader in between.
    """
    store = await redis_maker()
    tenant = TenantId("t1")
    base = f"{redis_maker.prefix}:{{{tenant}}}:"
    rounds = 150
    done = asyncio.Event()

    async def write() -> None:
        for n in range(1, rounds + 1):
            await store.apply(
                tenant,
                [Change("agent", "a1", "counter", n)],
                checkpoint=Checkpoint("engine", str(n).encode()),
            )
        done.set()

    async def read(client: redis.asyncio.Redis) -> int:
        seen = 0
        while not done.is_set():
            async with client.pipeline(transaction=True) as pipe:
                pipe.hget(base + "obj:agent:a1", "counter")
                pipe.hget(base + "checkpoint:engine", "blob")
                counter, blob = await pipe.execute()
            assert (counter is None) == (blob is None)
            if counter is not None:
                assert int(counter) == int(blob)
                seen += 1
        return seen

    readers = [redis.asyncio.Redis.from_url(redis_url) for _ in range(3)]
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(write())
            reads = [group.create_task(read(client)) for client in readers]
    finally:
        for client in readers:
            await client.aclose()
    assert sum(task.result() for task in reads) > 0
