"""The live hub: a snapshot plus the changes after it always equals a fresh snapshot, whatever
the timing, filtering and falling behind."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.core.ids import TenantId
from wallboard.live.hub import Hub, Key, Outbox, Target
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change, Since, Value, revive_value

TENANT = TenantId("acme")

values = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(0, 100, allow_nan=False),
    st.builds(Since, st.integers(0, 10**12)),
)
changes = st.builds(
    Change,
    st.sampled_from(["agent", "queue", "source"]),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["s1", "s2", "s3"]),
    values,
)
batches = st.lists(st.lists(changes, min_size=1, max_size=6), max_size=25)
targets = st.one_of(
    st.just(Target(TENANT)),
    st.builds(
        Target,
        st.just(TENANT),
        st.one_of(st.none(), st.frozensets(st.sampled_from([("agent", "a"), ("queue", "b")]))),
        st.one_of(st.none(), st.frozensets(st.sampled_from(["s1", "s3"]))),
    ),
)


async def fresh(store: MemoryValueStore, target: Target) -> dict[Key, Value]:
    snapshot = await store.snapshot(TENANT)
    return {
        (t, o, s): v
        for t, by_id in snapshot.values.items()
        for o, stats in by_id.items()
        for s, v in stats.items()
        if target.wants((t, o, s))
    }


class Client:
    """Applies what an outbox sends as a browser does (docs/live.md)."""

    def __init__(self) -> None:
        self.values: dict[Key, Value] = {}
        self.version = 0

    def receive(self, texts: list[str]) -> None:
        for text in texts:
            message = json.loads(text)
            rows = message.get("values", message.get("changes", []))
            decoded = {(t, o, s): revive_value(v) for t, o, s, v in rows}
            if message["type"] == "snapshot":
                self.values = {k: v for k, v in decoded.items() if v is not None}
                self.version = message["version"]
            elif message["type"] == "changes" and message["version"] > self.version:
                for key, value in decoded.items():
                    if value is None:
                        self.values.pop(key, None)
                    else:
                        self.values[key] = value
                self.version = message["version"]


async def scenario(
    before: list[list[Change]],
    after: list[list[Change]],
    target: Target,
    moments: list[int],
    max_outbox: int,
) -> None:
    store = MemoryValueStore()
    for batch in before:
        await store.apply(TENANT, batch)
    hub = Hub(store, poll_timeout=0.05, coalesce_s=None)
    outbox = Outbox(max_outbox)
    await hub.subscribe(1, target, outbox)
    client = Client()
    for n, batch in enumerate(after):
        await store.apply(TENANT, batch)
        for _ in range(moments[n % len(moments)] if moments else 0):
            await asyncio.sleep(0)  # the feed takes what came, or not yet
            if n % 2:
                hub.tick()
            if n % 3:
                client.receive(outbox.take())
    last = await store.current_version(TENANT)
    for _ in range(200):
        if hub.feeds[TENANT].version >= last:
            break
        await asyncio.sleep(0.01)
    hub.tick()
    client.receive(outbox.take())
    assert client.values == await fresh(store, target)
    await hub.close()


@settings(max_examples=80, deadline=None)
@given(
    batches,
    batches,
    targets,
    st.lists(st.integers(0, 3), max_size=10),
    st.sampled_from([1, 2, 1000]),
)
def test_snapshot_and_changes_equal_a_fresh_snapshot(
    before: list[list[Change]],
    after: list[list[Change]],
    target: Target,
    moments: list[int],
    max_outbox: int,
) -> None:
    asyncio.run(scenario(before, after, target, moments, max_outbox))


async def test_a_store_gap_sends_every_subscriber_a_fresh_snapshot() -> None:
    store = MemoryValueStore(max_batches=3)
    await store.apply(TENANT, [Change("queue", "q", "s", 1)])
    hub = Hub(store, poll_timeout=0.05, coalesce_s=None)
    outbox = Outbox()
    await hub.subscribe(1, Target(TENANT), outbox)
    client = Client()
    client.receive(outbox.take())
    assert client.values == {("queue", "q", "s"): 1}
    feed = hub.feeds[TENANT]
    feed.task.cancel()  # the follower falls far behind...
    for n in range(10):
        await store.apply(TENANT, [Change("queue", "q", "s", n + 2)])
    feed.task = asyncio.create_task(feed._follow())  # ...and finds what it needs trimmed
    for _ in range(100):
        await asyncio.sleep(0.01)
        if outbox.snapshots:
            break
    client.receive(outbox.take())
    assert client.values == {("queue", "q", "s"): 11}
    await hub.close()


async def test_views_are_shared_and_frames_encoded_once_per_view() -> None:
    store = MemoryValueStore()
    hub = Hub(store, poll_timeout=0.05, coalesce_s=None)
    outboxes = [Outbox() for _ in range(50)]
    for n, outbox in enumerate(outboxes):
        await hub.subscribe(n + 1, Target(TENANT, statistics=frozenset({"s"})), outbox)
    assert len(hub.views) == 1
    assert all(len(outbox.take()) == 1 for outbox in outboxes)  # the snapshots
    await store.apply(TENANT, [Change("queue", "q", "s", 7)])
    for _ in range(100):
        await asyncio.sleep(0.01)
        if next(iter(hub.views.values())).pending:
            break
    hub.tick()
    texts = [text for outbox in outboxes for text in outbox.take()]
    assert len(texts) == 50
    assert all('"changes":[["queue","q","s",7]]' in text for text in texts)
    assert {json.loads(text)["sub"] for text in texts} == set(range(1, 51))
    for outbox in outboxes:
        for sub in list(outbox.subs.values()):
            hub.unsubscribe(sub)
    assert not hub.views
    assert not hub.feeds
    await hub.close()
