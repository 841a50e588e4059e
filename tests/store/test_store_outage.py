"""The Redis store when Redis goes away and comes back: bounded Unavailable, then the same object
works again, and nothing acknowledged is lost.

Each test starts a ``redis-server`` (or a cluster) of its own on a free port, since it stops,
kills and freezes it; the shared server is never touched.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from server_process import RedisCluster, RedisServer, free_port
from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.store import Change, Checkpoint, IntervalValue, ValueStore, follow_changes
from wallboard.store.redis import RedisValueStore

T = TypeVar("T")
TIMEOUT_S = 1.0
TENANT = TenantId("acme")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    redis_server = RedisServer(tmp_path / "redis", free_port())
    redis_server.start()
    try:
        yield redis_server
    finally:
        redis_server.stop()


@pytest.fixture
async def store(server: RedisServer) -> AsyncIterator[RedisValueStore]:
    opened = await RedisValueStore.connect(server.url, timeout=TIMEOUT_S)
    try:
        yield opened
    finally:
        await opened.close()


def every_call(store: ValueStore, version: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    """One call of each kind the store has, by name."""
    interval = IntervalValue("offered", "queue", "q1", 0, 1)
    return {
        "apply": lambda: store.apply(TENANT, [Change("agent", "a1", "calls", 99)]),
        "get_object": lambda: store.get_object(TENANT, "agent", "a1"),
        "snapshot": lambda: store.snapshot(TENANT),
        "current_version": lambda: store.current_version(TENANT),
        "changes_since": lambda: store.changes_since(TENANT, 0),
        "wait_for_changes": lambda: store.wait_for_changes(TENANT, version, max_wait=0.5),
        "write_intervals": lambda: store.write_intervals(TENANT, [interval]),
        "read_intervals": lambda: store.read_intervals(TENANT, "offered", "queue", "q1", 0, 10),
        "put_checkpoint": lambda: store.put_checkpoint(TENANT, Checkpoint("engine", b"x")),
        "get_checkpoint": lambda: store.get_checkpoint(TENANT, "engine"),
    }


async def assert_every_call_is_unavailable(store: ValueStore, version: int) -> None:
    """Each call raises Unavailable (not a redis-py error) within its bound: the timeout, plus
    the wait for a blocking read."""
    for name, call in every_call(store, version).items():
        started = time.monotonic()
        try:
            await call()
        except Unavailable:
            pass  # a raw redis-py error would fail the test here
        else:
            pytest.fail(f"{name} did not raise Unavailable")
        elapsed = time.monotonic() - started
        assert elapsed < TIMEOUT_S + 0.5 + 1.0, f"{name} took {elapsed:.1f} s"


async def until_available(
    call: Callable[[], Awaitable[T]], within_s: float = 15.0, failures: list[str] | None = None
) -> T:
    """What a service does after Unavailable: wait a little and call again, on the same object.
    Each Unavailable met is added to ``failures``."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return await call()
        except Unavailable as exc:
            if failures is not None:
                failures.append(exc.message)
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_a_stopped_redis_is_unavailable_and_a_restarted_one_serves_the_same_store(
    server: RedisServer, store: RedisValueStore
) -> None:
    first = await store.apply(
        TENANT, [Change("agent", "a1", "state", "ready")], checkpoint=Checkpoint("engine", b"1")
    )
    server.stop()
    await assert_every_call_is_unavailable(store, first)
    server.start()  # same port, same data directory: its append-only file brings the data back
    # No new store object: the first call after the restart connects again.
    assert await store.current_version(TENANT) == first
    second = await store.apply(TENANT, [Change("agent", "a1", "state", "busy")])
    assert second == first + 1
    assert [b.version for b in await store.changes_since(TENANT, 0)] == [first, second]
    assert (await store.snapshot(TENANT)).values == {"agent": {"a1": {"state": "busy"}}}
    stored = await store.get_checkpoint(TENANT, "engine")
    assert stored is not None
    assert (stored.blob, stored.version) == (b"1", first)


async def test_a_frozen_redis_times_out_as_unavailable_and_thawed_serves_again(
    server: RedisServer, store: RedisValueStore
) -> None:
    """SIGSTOP: connections stay open but nothing answers, as behind a dead network path."""
    version = await store.apply(TENANT, [Change("agent", "a1", "state", "ready")])
    waiting = asyncio.create_task(store.wait_for_changes(TENANT, version, max_wait=0.5))
    await asyncio.sleep(0.1)  # the blocking read is on the wire when Redis freezes
    server.freeze()
    try:
        with pytest.raises(Unavailable):
            await asyncio.wait_for(waiting, TIMEOUT_S + 0.5 + 1.0)
        await assert_every_call_is_unavailable(store, version)
    finally:
        server.thaw()
    # Calls cut short left no half-read reply on a connection: every answer is the right one.
    newer = await store.apply(TENANT, [Change("agent", "a1", "state", "busy")])
    assert await store.current_version(TENANT) == newer
    assert await store.get_object(TENANT, "agent", "a1") == {"state": "busy"}
    assert [b.version for b in await store.wait_for_changes(TENANT, version, max_wait=1)] == [newer]


async def test_a_writer_and_a_follower_that_retry_lose_nothing_across_a_crash(
    server: RedisServer, store: RedisValueStore
) -> None:
    """Redis is killed (SIGKILL) and restarted while one task writes batches and another follows
    them; each retries the call that raised Unavailable. Every batch the writer had acknowledged
    is kept, the follower sees every kept batch once, in version order, and the values end as
    the writer left them."""
    follower_store = await RedisValueStore.connect(server.url, timeout=TIMEOUT_S)
    start = await store.apply(TENANT, [Change("queue", "q1", "calls", 0)])
    acknowledged: list[int] = []
    seen: list[int] = []
    writer_failures: list[str] = []
    follower_failures: list[str] = []
    rounds = 60

    async def write() -> None:
        for n in range(1, rounds + 1):
            batch = [Change("queue", "q1", "calls", n)]
            acknowledged.append(
                await until_available(
                    lambda b=batch: store.apply(TENANT, b),  # type: ignore[misc]
                    failures=writer_failures,
                )
            )
            await asyncio.sleep(0.02)

    async def follow() -> None:
        version = start
        while True:
            try:
                async for batch in follow_changes(
                    follower_store, TENANT, version, poll_timeout=0.3
                ):
                    seen.append(batch.version)
                    version = batch.version
                    if batch.changes[0].value == rounds:
                        return
            except Unavailable as exc:
                follower_failures.append(exc.message)
                await asyncio.sleep(0.1)

    try:
        writer = asyncio.create_task(write())
        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.2)
        server.stop(signal.SIGKILL)
        await asyncio.sleep(0.5)
        server.start()
        await asyncio.wait_for(asyncio.gather(writer, follower), 60)
    finally:
        await follower_store.close()
    assert writer_failures, "the writer never met the outage"
    assert follower_failures, "the follower never met the outage"
    assert len(acknowledged) == rounds
    kept = [b.version for b in await store.changes_since(TENANT, start, limit=1000)]
    assert set(acknowledged) <= set(kept)  # a retried batch may have landed twice: never zero
    assert kept == list(range(start + 1, start + 1 + len(kept)))
    assert seen == kept
    assert await store.get_object(TENANT, "queue", "q1") == {"calls": rounds}


# --- a cluster losing a master ------------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    own = RedisCluster(tmp_path / "cluster")
    own.start()
    try:
        yield own
    finally:
        own.stop()


async def test_a_cluster_master_that_goes_away_and_comes_back_serves_its_tenants_again(
    cluster: RedisCluster,
) -> None:
    store = await RedisValueStore.connect(cluster.url, timeout=TIMEOUT_S)
    try:
        # One tenant per master: each master serves a third of the slots.
        tenants = {await master_of(store, t): t for t in map(TenantId, "abcdefghij")}
        assert len(tenants) == 3
        versions = {
            t: await store.apply(t, [Change("agent", "a1", "state", "ready")])
            for t in tenants.values()
        }
        down = cluster.nodes[0]
        lost = tenants[down.port]
        down.stop()
        with pytest.raises(Unavailable):
            await store.apply(lost, [Change("agent", "a1", "state", "busy")])
        down.start()  # same port, same data and nodes.conf: it rejoins as the master it was
        newer = await until_available(
            lambda: store.apply(lost, [Change("agent", "a1", "state", "busy")]), within_s=30
        )
        assert newer == versions[lost] + 1
        assert await store.get_object(lost, "agent", "a1") == {"state": "busy"}
        for tenant, version in versions.items():
            if tenant != lost:
                assert await until_available(lambda t=tenant: store.current_version(t)) == version  # type: ignore[misc]
    finally:
        await store.close()


async def test_a_cluster_master_that_fails_over_to_its_replica_is_followed(
    tmp_path: Path,
) -> None:
    """A master is killed and its replica takes over its slots: the same store object finds
    the new master and goes on from the replicated data."""
    cluster = RedisCluster(tmp_path / "cluster", masters=3, replicas=1)
    cluster.start()
    store = await RedisValueStore.connect(cluster.url, timeout=TIMEOUT_S)
    try:
        port = await master_of(store, TENANT)
        version = await store.apply(TENANT, [Change("agent", "a1", "state", "ready")])
        # Replication is asynchronous: let the replica have the batch before the master dies.
        deadline = time.monotonic() + 10
        while not cluster.replicated(port):
            assert time.monotonic() < deadline, "the replica never caught up"
            await asyncio.sleep(0.05)
        next(node for node in cluster.nodes if node.port == port).stop(signal.SIGKILL)
        newer = await until_available(
            lambda: store.apply(TENANT, [Change("agent", "a1", "state", "busy")]), within_s=30
        )
        assert await master_of(store, TENANT) != port
        assert newer == version + 1
        assert [b.version for b in await store.changes_since(TENANT, 0)] == [version, newer]
    finally:
        await store.close()
        cluster.stop()


async def master_of(store: RedisValueStore, tenant: TenantId) -> int:
    """The port of the master serving the tenant's slot."""
    node = store.client.get_node_from_key(store.key(tenant, "probe"))  # type: ignore[union-attr]
    port: int = node.port
    return port
