"""What only the Redis store promises: its key layout, its prefix, and how it fails."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Protocol

import pytest
import redis.asyncio.cluster
from redis.crc import key_slot

from wallboard.core.errors import InvalidInput, Unavailable
from wallboard.core.ids import TenantId
from wallboard.store import Change, Checkpoint, IntervalValue, MemoryValueStore, open_store
from wallboard.store.interface import ValueStore
from wallboard.store.redis import RedisClient, RedisValueStore, redis_client


class RedisMaker(Protocol):
    """The ``redis_maker`` fixture: opens Redis stores under a key prefix of its own, on one
    server and on a cluster in turn (``redis_url`` says which)."""

    prefix: str
    redis_url: str

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
    """Every key matching ``pattern``, from every node of a cluster."""
    client = redis_client(redis_url)
    try:
        return sorted([key async for key in client.scan_iter(match=pattern, count=1000)])
    finally:
        await client.aclose()


async def test_every_key_of_a_tenant_is_in_the_tenant_slot(redis_maker: RedisMaker) -> None:
    store = await redis_maker()
    redis_url = redis_maker.redis_url
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
    redis_maker: RedisMaker,
) -> None:
    store = await redis_maker()
    redis_url = redis_maker.redis_url
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


async def test_a_batch_and_its_checkpoint_change_in_one_step(redis_maker: RedisMaker) -> None:
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

    async def read(client: RedisClient) -> int:
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

    readers = [redis_client(redis_maker.redis_url) for _ in range(3)]
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(write())
            reads = [group.create_task(read(client)) for client in readers]
    finally:
        for client in readers:
            await client.aclose()
    assert sum(task.result() for task in reads) > 0


# --- Redis Cluster and the URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+cluster://127.0.0.1:7000/2", "only database 0"),
        ("redis+cluster://127.0.0.1", "a port is required"),
        ("redis+cluster://127.0.0.1:7000,,127.0.0.1:7001", "at least one cluster node"),
        ("redis+cluster://", "at least one cluster node"),
        ("redis+cluster://127.0.0.1:port", "not host:port"),
        ("redis+cluster://user:secret@127.0.0.1:99999", "not host:port"),
        ("http://127.0.0.1:6379", "must start with redis://"),
        ("127.0.0.1:6379", "must look like"),
    ],
)
def test_a_redis_url_that_cannot_work_is_refused_naming_why(url: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as caught:
        RedisValueStore(url)
    assert caught.value.detail["field"] == "redis_url"
    assert "secret" not in str(caught.value)


async def test_a_cluster_url_opens_a_cluster_client_seeded_by_any_node_that_answers(
    redis_cluster_url: str,
) -> None:
    # A seed that nobody answers on comes first: the others are enough to find the cluster.
    dead = "127.0.0.1:1"
    url = redis_cluster_url.replace("redis+cluster://", f"redis+cluster://{dead},") + "/0"
    store = await RedisValueStore.connect(url, prefix=f"wbtest-{uuid.uuid4().hex[:12]}")
    try:
        assert isinstance(store.client, redis.asyncio.cluster.RedisCluster)
        tenant = TenantId("t1")
        version = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
        assert await store.current_version(tenant) == version
        await store.drop_tenant(tenant)
    finally:
        await store.close()


async def test_the_client_and_a_tenant_key_serve_a_lease_beside_the_store(
    redis_maker: RedisMaker,
) -> None:
    """What another part (a collector's lease) does with ``client`` and ``key``: SET NX PX and
    a compare-and-delete script on one key, on one server and on a cluster alike."""
    store = await redis_maker()
    assert isinstance(store, RedisValueStore)
    tenant = TenantId("~collector-0")
    key = store.key(tenant, "lease")
    assert key == f"{redis_maker.prefix}:{{{tenant}}}:x:lease"
    assert key_slot(key.encode()) == key_slot(store.key(tenant, "other").encode())
    client = store.client
    assert await client.set(key, b"owner-a", nx=True, px=10_000)
    assert not await client.set(key, b"owner-b", nx=True, px=10_000)
    release = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
    assert await client.eval(release, 1, key, b"owner-b") == 0
    assert await client.eval(release, 1, key, b"owner-a") == 1
    assert await client.get(key) is None
    await client.set(key, b"owner-a")
    await store.drop_tenant(tenant)  # the tenant's extra keys go with it
    assert await client.get(key) is None
    for bad in ("", "a{b}", "a b", "x" * 65):
        with pytest.raises(InvalidInput):
            store.key(tenant, bad)


async def test_a_wait_longer_than_five_seconds_is_not_cut_short(redis_maker: RedisMaker) -> None:
    """redis-py reads with a 5-second socket timeout unless told otherwise: a follower waiting
    longer for a batch would get Unavailable instead of the batch."""
    store = await redis_maker(timeout=1.0)
    tenant = TenantId("t1")
    version = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    waiter = asyncio.create_task(store.wait_for_changes(tenant, version, max_wait=8))
    await asyncio.sleep(5.5)
    assert not waiter.done()
    newer = await store.apply(tenant, [Change("agent", "a1", "state", "busy")])
    assert [batch.version for batch in await asyncio.wait_for(waiter, 2)] == [newer]
