"""Collector leases on the real Redis: one holder at a time, renewed while held, free again
after its time or when given back; a holder's writes stop before its lease can expire; a
standby takes over an ordinal and gives it back to its member."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from collector_site import demo_lines
from expected import expected_values
from prometheus_client import CollectorRegistry

from wallboard.collector.lease import (
    Lease,
    LeasedStore,
    LeaseLost,
    LeaseSettings,
    Membership,
    lease_key,
)
from wallboard.collector.service import Collector, CollectorSettings, read_all_values
from wallboard.core.codec import decode_event
from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import StreamName
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.stats import standard_library
from wallboard.store.interface import ValueStore
from wallboard.store.redis import RedisValueStore
from wallboard.store.values import Change, Checkpoint

TTL = 1.0
# Collectors share the event loop with their lease here: a longer lease, so that a busy loop
# does not make renewals late (which would only cost a restore, but blur the counts below).
MEMBERSHIP_TTL = 3.0


@pytest.fixture
def prefix() -> str:
    return f"wblease{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def open_store(url: str, prefix: str) -> AsyncIterator[RedisValueStore]:
    store = await RedisValueStore.connect(url, prefix=prefix)
    try:
        yield store
    finally:
        keys = [k async for k in store.client.scan_iter(match=f"{prefix}*", count=1000)]
        for key in keys:  # one by one: on a cluster the keys live in different slots
            await store.client.unlink(key)
        await store.close()


@pytest.fixture(params=["redis", "redis-cluster"])
async def store(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[RedisValueStore]:
    """A Redis store of this test's own prefix, on one server and then on a Redis Cluster (each
    lease command keeps to one key, so the cluster serves it)."""
    url = request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")
    async with open_store(url, prefix) as store:
        yield store


@pytest.fixture
async def single_store(redis_url: str, prefix: str) -> AsyncIterator[RedisValueStore]:
    """One Redis server: a collector on the cluster store now holds its event loop for seconds
    at a time, longer than these tests' leases (which then are rightly lost and taken again)."""
    async with open_store(redis_url, prefix) as store:
        yield store


def lease(store: RedisValueStore, prefix: str, holder: str) -> Lease:
    return Lease(store.client, lease_key(prefix, 0), holder, TTL)


async def test_one_holder_at_a_time_until_released(store: RedisValueStore, prefix: str) -> None:
    a, b = lease(store, prefix, "a"), lease(store, prefix, "b")
    assert await a.acquire()
    assert 0 < a.left_s() <= TTL
    assert not await b.acquire()
    # A holder that could not confirm a renewal in time takes its own lease back at once.
    assert await lease(store, prefix, "a").acquire()
    assert b.left_s() < 0
    assert await a.current_holder() == "a"
    await b.release()  # not b's to give back: nothing happens
    assert await a.current_holder() == "a"
    assert not await b.renew()
    await a.release()
    assert await a.current_holder() is None
    assert await b.acquire()
    assert not await a.renew()  # a renewal finds the lease another's: no longer held
    assert a.left_s() < 0


async def test_renewal_extends_and_expiry_frees(store: RedisValueStore, prefix: str) -> None:
    a, b = lease(store, prefix, "a"), lease(store, prefix, "b")
    assert await a.acquire()
    for _ in range(4):  # renewed past its first expiry, it stays held
        await asyncio.sleep(TTL / 3)
        assert await a.renew()
        assert not await b.acquire()
    ttl_ms = await store.client.pttl(a.key)
    assert TTL * 1000 * 0.5 < ttl_ms <= TTL * 1000
    await asyncio.sleep(TTL * 1.2)  # not renewed: it expires in Redis
    assert await a.current_holder() is None
    assert not await a.renew()
    assert await b.acquire()


async def test_writes_stop_before_the_lease_can_expire(store: RedisValueStore, prefix: str) -> None:
    held = lease(store, prefix, "a")
    assert await held.acquire()
    guarded = LeasedStore(store, held, margin_s=TTL / 4)
    tenant = TenantId("acme")
    await guarded.apply(tenant, [Change("queue", "q1", "calls", 1)])
    await asyncio.sleep(TTL - TTL / 4 + 0.05)  # the lease still exists, but too little is left
    assert await held.current_holder() == "a"
    # A late holder whose key is still its own renews before writing: nothing can have
    # happened meanwhile.
    await guarded.apply(tenant, [Change("queue", "q1", "calls", 2)])
    assert held.left_s() > TTL / 2
    await asyncio.sleep(TTL + 0.1)  # now it expires, and another takes it
    other = lease(store, prefix, "b")
    assert await other.acquire()
    with pytest.raises(LeaseLost):
        await guarded.apply(tenant, [Change("queue", "q1", "calls", 3)])
    with pytest.raises(LeaseLost):
        await guarded.put_checkpoint(tenant, Checkpoint("c", b"x"))
    assert (await guarded.get_object(tenant, "queue", "q1")) == {"calls": 2}  # reads go on
    assert await store.get_checkpoint(tenant, "c") is None
    # Expired and free again: still refused, the key is not the holder's any more.
    await other.release()
    with pytest.raises(LeaseLost):
        await guarded.apply(tenant, [Change("queue", "q1", "calls", 4)])


def test_every_store_write_is_guarded() -> None:
    """A method added to the store interface must be classified here: reads pass through the
    guard, writes must be refused without the lease."""
    reads = {
        "get_object",
        "snapshot",
        "current_version",
        "changes_since",
        "wait_for_changes",
        "read_intervals",
        "get_checkpoint",
    }
    methods = {
        n for n, _ in inspect.getmembers(ValueStore, inspect.isfunction) if not n.startswith("_")
    }
    assert reads <= methods
    for name in methods - reads:
        assert name in vars(LeasedStore), f"{name} is not guarded by LeasedStore"


def test_lease_time_is_checked() -> None:
    for bad in (0.0, 0.2, 4000.0):
        with pytest.raises(InvalidInput, match="lease time"):
            LeaseSettings(ttl_s=bad).check()
    s = LeaseSettings(ttl_s=8.0)
    assert (s.renew_s, s.margin_s, s.call_s, s.takeover_s) == (2.0, 2.0, 1.0, 8.8)


@pytest.mark.timeout(120)
async def test_a_standby_takes_over_a_stopped_member_and_gives_the_ordinal_back(
    single_store: RedisValueStore, prefix: str, tmp_path: Path
) -> None:
    """In one process, with events arriving all along: the member's lease is taken from under
    it (as if it had been paused past its lease), its collector is aborted and it takes the
    lease again; the member stops, the standby takes the ordinal on from the checkpoints; the
    member comes back, claims it, and the standby hands it over cleanly. The values are those
    of an uninterrupted run."""
    store = single_store
    lines = demo_lines(tmp_path, seed=5, hours=1.5)
    log = MemoryEventLog()
    key = lease_key(prefix, 0)

    async def publish(part: int) -> None:
        """As a source would: the in-memory log never waits, so yield now and then (a loop
        held for longer than the lease rightly costs the holders their leases)."""
        for i, line in enumerate(lines[part * len(lines) // 3 : (part + 1) * len(lines) // 3]):
            event = decode_event(line)
            assert isinstance(event, Event)
            await log.publish(StreamName(event.source), TenantId(event.tenant), event.id, line)
            if i % 100 == 0:
                await asyncio.sleep(0)

    def make(ordinal: int, store_: ValueStore) -> Collector:
        settings = CollectorSettings(
            name=str(ordinal), ordinal=ordinal, clock="events", flush_s=0.02, checkpoint_events=50
        )
        return Collector(log, store_, standard_library(), settings)

    def membership(ordinal: int | None) -> tuple[Membership, CollectorRegistry]:
        registry = CollectorRegistry()
        holder = "standby" if ordinal is None else "member"
        made = Membership(
            store.client,
            store,
            make,
            prefix=prefix,
            replicas=1,
            ordinal=ordinal,
            holder=holder,
            settings=LeaseSettings(ttl_s=MEMBERSHIP_TTL),
            registry=registry,
        )
        return made, registry

    def count(registry: CollectorRegistry, name: str) -> float:
        return registry.get_sample_value(f"wallboard_collector_{name}_total") or 0.0

    await publish(0)
    first, first_metrics = membership(0)
    standby, standby_metrics = membership(None)
    tasks = [asyncio.create_task(first.run())]
    await until(lambda: first.collector is not None and first.collector.records_read > 0)
    tasks.append(asyncio.create_task(standby.run()))
    await until(lambda: standby.state.startswith("standing by"))

    # Someone else's for a moment: the member's next renewal fails and its collector stops at
    # once; the standby leaves the ordinal to its member (which claims it) and the member
    # takes it again once free.
    await store.client.set(key, "intruder", px=round(MEMBERSHIP_TTL * 1000))
    await until(lambda: count(first_metrics, "leases_lost") >= 1, within=10)
    await publish(1)
    await until(lambda: first.holding == 0 and first.collector is not None, within=10)
    assert standby.holding is None
    assert count(standby_metrics, "takeovers") == 0

    # The member stops (its lease is given back at once): the standby takes over.
    first.stop()
    await tasks[0]
    await until(lambda: standby.holding == 0, within=10)
    assert count(standby_metrics, "takeovers") >= 1
    await publish(2)

    # The member is back: it claims its ordinal, the standby gives it back and stands by.
    second, _ = membership(0)
    tasks.append(asyncio.create_task(second.run()))
    await until(lambda: second.holding == 0, within=10)
    await until(lambda: standby.state.startswith("standing by"))
    assert count(standby_metrics, "handbacks") >= 1
    assert await store.client.get(key) == b"member"
    last = {stream: await log.last_seq(stream) for stream in StreamName}
    await until(
        lambda: (
            second.collector is not None
            and all(second.collector.read_position(s) == last[s] for s in StreamName)
        )
    )
    standby.stop()
    second.stop()
    await asyncio.gather(*tasks)
    assert await store.client.get(key) is None  # a clean stop gives the lease back
    tenants = sorted({e.tenant for e in map(decode_event, lines) if isinstance(e, Event)})
    assert await read_all_values(store, tenants) == expected_values(lines)


async def until(condition: Callable[[], bool], within: float = 30) -> None:
    """Wait for a condition on objects that signal nothing (polling is the only way)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
