"""The value store contract, checked on the in-memory store and on the Redis store alike."""

from __future__ import annotations

import asyncio
import copy
import math
import uuid
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallboard.core.clock import FakeClock
from wallboard.core.errors import InvalidInput, ResumeGap
from wallboard.core.ids import TenantId
from wallboard.store import (
    Change,
    Checkpoint,
    IntervalValue,
    Since,
    TenantValues,
    Value,
    ValueStore,
    apply_changes,
    follow_changes,
)
from wallboard.store.interface import VERSION_ORIGIN_FACTOR


class StoreMaker(Protocol):
    """The ``make_store`` fixture: opens stores of the kind under test sharing one fake clock."""

    clock: FakeClock

    async def __call__(self, **options: Any) -> ValueStore: ...


Key = tuple[str, str, str]

hypothesis_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def fresh_tenant() -> TenantId:
    return TenantId(f"t-{uuid.uuid4().hex[:10]}")


def flatten(values: TenantValues) -> dict[Key, Value]:
    return {
        (object_type, object_id, statistic): value
        for object_type, objects in values.items()
        for object_id, stats in objects.items()
        for statistic, value in stats.items()
    }


def update_model(model: dict[Key, Value], changes: list[Change]) -> None:
    """The obvious semantics, written independently of the stores: last write wins."""
    for change in changes:
        key = (change.object_type, change.object_id, change.statistic)
        if change.value is None:
            model.pop(key, None)
        else:
            model[key] = change.value


# --- strategies --------------------------------------------------------------------------------

text_without_surrogates = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
scalar_values = (
    st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text_without_surrogates
    | st.builds(Since, st.integers(min_value=0, max_value=2**50))
)
nested_values: st.SearchStrategy[Value] = st.recursive(
    scalar_values | st.none(),
    lambda inner: (
        st.lists(inner, max_size=3)
        # {"since": <int>} is how a Since is stored, so a plain dict never uses that sole key.
        | st.dictionaries(text_without_surrogates.filter(lambda k: k != "since"), inner, max_size=3)
    ),
    max_leaves=6,
)
values_or_removal = st.none() | scalar_values | nested_values
changes = st.builds(
    Change,
    st.sampled_from(["agent", "queue", "agent_group"]),
    # Ids with the characters that delimit Redis keys and hash tags, and non-ASCII.
    st.sampled_from(["a1", "a:2", "{x}", "q 1", "é/ü", "}{"]),
    st.sampled_from(["state", "calls", "wait.longest", "aht-1"]),
    values_or_removal,
)
batches_of_changes = st.lists(st.lists(changes, max_size=6), max_size=8)


# --- snapshot + changes = fresh snapshot -------------------------------------------------------


@hypothesis_settings
@given(batches=batches_of_changes, split=st.integers(min_value=0, max_value=8))
async def test_snapshot_plus_later_changes_equals_fresh_snapshot(
    store: ValueStore, batches: list[list[Change]], split: int
) -> None:
    tenant = fresh_tenant()
    model: dict[Key, Value] = {}
    for batch in batches[:split]:
        await store.apply(tenant, batch)
        update_model(model, batch)
    old = await store.snapshot(tenant)
    assert flatten(old.values) == model
    for batch in batches[split:]:
        await store.apply(tenant, batch)
        update_model(model, batch)

    replayed = copy.deepcopy(old.values)
    for applied in await store.changes_since(tenant, old.version):
        apply_changes(replayed, applied.changes)
    fresh = await store.snapshot(tenant)
    assert replayed == fresh.values
    assert flatten(fresh.values) == model
    for (object_type, object_id, statistic), value in model.items():
        assert (await store.get_object(tenant, object_type, object_id))[statistic] == value


@hypothesis_settings
@given(batches=st.lists(st.lists(changes, min_size=1, max_size=6), min_size=1, max_size=10))
async def test_snapshot_taken_while_batches_are_written_replays_to_fresh(
    store: ValueStore, batches: list[list[Change]]
) -> None:
    tenant = fresh_tenant()
    await store.apply(tenant, batches[0])

    async def write_rest() -> None:
        for batch in batches[1:]:
            await store.apply(tenant, batch)
            await asyncio.sleep(0)

    _, old = await asyncio.gather(write_rest(), store.snapshot(tenant))
    replayed = copy.deepcopy(old.values)
    for batch in await store.changes_since(tenant, old.version):
        apply_changes(replayed, batch.changes)
    assert replayed == (await store.snapshot(tenant)).values


# --- versions ------------------------------------------------------------------------------------


async def test_versions_are_gapless_and_increase(make_store: StoreMaker) -> None:
    store = await make_store()
    tenant = fresh_tenant()
    assert await store.current_version(tenant) == 0
    assert await store.changes_since(tenant, 0) == []
    versions = [await store.apply(tenant, [Change("queue", "q1", "calls", n)]) for n in range(1, 6)]
    origin = make_store.clock.now_ms() * VERSION_ORIGIN_FACTOR
    assert versions == [origin + n for n in range(1, 6)]
    assert await store.current_version(tenant) == versions[-1]
    assert (await store.snapshot(tenant)).version == versions[-1]
    batches = await store.changes_since(tenant, 0)
    assert [b.version for b in batches] == versions
    assert [b.changes[0].value for b in batches] == [1, 2, 3, 4, 5]
    assert all(b.written_ms == make_store.clock.now_ms() for b in batches)


async def test_a_batch_without_changes_is_no_batch(store: ValueStore) -> None:
    tenant = fresh_tenant()
    version = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    assert await store.apply(tenant, []) == version
    assert await store.current_version(tenant) == version
    assert [b.version for b in await store.changes_since(tenant, 0)] == [version]


async def test_changes_since_returns_at_most_limit_oldest_first(store: ValueStore) -> None:
    tenant = fresh_tenant()
    versions = [await store.apply(tenant, [Change("queue", "q1", "calls", n)]) for n in range(7)]
    first = await store.changes_since(tenant, versions[1], limit=3)
    assert [b.version for b in first] == versions[2:5]
    rest = await store.changes_since(tenant, first[-1].version, limit=3)
    assert [b.version for b in rest] == versions[5:7]
    assert await store.changes_since(tenant, versions[-1]) == []
    with pytest.raises(InvalidInput):
        await store.changes_since(tenant, 0, limit=0)
    with pytest.raises(InvalidInput):
        await store.changes_since(tenant, -1)


async def test_concurrent_appliers_never_share_a_version(store: ValueStore) -> None:
    tenant = fresh_tenant()
    versions = await asyncio.gather(
        *(store.apply(tenant, [Change("agent", f"a{n}", "calls", n)]) for n in range(40))
    )
    assert sorted(versions) == list(range(min(versions), min(versions) + 40))
    batches = await store.changes_since(tenant, 0, limit=100)
    assert [b.version for b in batches] == sorted(versions)
    values = (await store.snapshot(tenant)).values
    assert {object_id: stats["calls"] for object_id, stats in values["agent"].items()} == {
        f"a{n}": n for n in range(40)
    }


# --- resume gaps ---------------------------------------------------------------------------------


async def test_resume_from_a_trimmed_version_raises_resume_gap(make_store: StoreMaker) -> None:
    store = await make_store(max_batches=5)
    tenant = fresh_tenant()
    versions = [await store.apply(tenant, [Change("queue", "q1", "calls", n)]) for n in range(10)]
    # The last 5 batches are kept: resuming from the version before the oldest kept works.
    kept = await store.changes_since(tenant, versions[4])
    assert [b.version for b in kept] == versions[5:]
    for too_old in (0, versions[0], versions[3]):
        with pytest.raises(ResumeGap) as caught:
            await store.changes_since(tenant, too_old)
        assert caught.value.code == "resume_gap"
        assert caught.value.detail["tenant"] == tenant
    with pytest.raises(ResumeGap):
        await store.wait_for_changes(tenant, versions[2], max_wait=0.01)
    # The snapshot is the way back: it and the changes after it are consistent again.
    snapshot = await store.snapshot(tenant)
    assert snapshot.version == versions[-1]
    assert await store.changes_since(tenant, snapshot.version) == []


async def test_a_version_the_store_never_gave_out_raises_resume_gap(store: ValueStore) -> None:
    tenant = fresh_tenant()
    with pytest.raises(ResumeGap):
        await store.changes_since(tenant, 5)  # nothing written yet
    version = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    with pytest.raises(ResumeGap):
        await store.changes_since(tenant, version + 1)
    with pytest.raises(ResumeGap):
        await store.changes_since(tenant, 7)  # below the tenant's origin


async def test_a_wiped_store_does_not_reuse_versions_a_reader_holds(
    make_store: StoreMaker,
) -> None:
    store = await make_store()
    tenant = fresh_tenant()
    for n in range(3):
        held = await store.apply(tenant, [Change("agent", "a1", "calls", n)])
    await store.drop_tenant(tenant)  # what a Redis restart without persistence looks like
    assert await store.snapshot(tenant) == type(await store.snapshot(tenant))(0, {})
    make_store.clock.set_ms(make_store.clock.now_ms() + 1)
    for n in range(5):
        await store.apply(tenant, [Change("agent", "a1", "calls", n)])
    with pytest.raises(ResumeGap):
        await store.changes_since(tenant, held)


# --- waiting for changes -------------------------------------------------------------------------


async def test_wait_for_changes_wakes_when_a_batch_is_applied(store: ValueStore) -> None:
    tenant = fresh_tenant()
    version = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    waiter = asyncio.create_task(store.wait_for_changes(tenant, version, max_wait=5))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    newer = await store.apply(tenant, [Change("agent", "a1", "state", "busy")])
    batches = await asyncio.wait_for(waiter, 2)
    assert [b.version for b in batches] == [newer]
    assert batches[0].changes == (Change("agent", "a1", "state", "busy"),)


async def test_wait_for_changes_from_nothing_gets_the_first_batch(store: ValueStore) -> None:
    tenant = fresh_tenant()
    waiter = asyncio.create_task(store.wait_for_changes(tenant, 0, max_wait=5))
    await asyncio.sleep(0.05)
    first = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    assert [b.version for b in await asyncio.wait_for(waiter, 2)] == [first]


async def test_wait_for_changes_returns_nothing_after_max_wait(store: ValueStore) -> None:
    tenant = fresh_tenant()
    version = await store.apply(tenant, [Change("agent", "a1", "state", "ready")])
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await store.wait_for_changes(tenant, version, max_wait=0.1) == []
    assert 0.05 <= loop.time() - started < 1.5
    # Already-there batches come back at once.
    assert len(await store.wait_for_changes(tenant, 0, max_wait=5)) == 1


async def test_follow_changes_yields_every_batch_in_order(store: ValueStore) -> None:
    tenant = fresh_tenant()
    start = await store.apply(tenant, [Change("queue", "q1", "calls", 0)])
    seen: list[int] = []

    async def follow() -> None:
        async for batch in follow_changes(store, tenant, start, poll_timeout=0.2):
            seen.append(batch.version)
            if len(seen) == 6:
                return

    follower = asyncio.create_task(follow())
    written = []
    for n in range(6):
        written.append(await store.apply(tenant, [Change("queue", "q1", "calls", n)]))
        await asyncio.sleep(0.01)
    await asyncio.wait_for(follower, 5)
    assert seen == written


# --- tenants and input checks --------------------------------------------------------------------


async def test_tenants_are_isolated(store: ValueStore) -> None:
    one, two = fresh_tenant(), fresh_tenant()
    await store.apply(
        one, [Change("agent", "a1", "state", "ready")], checkpoint=Checkpoint("engine", b"1")
    )
    await store.write_intervals(one, [IntervalValue("offered", "queue", "q1", 0, 4)])
    assert (await store.snapshot(two)).values == {}
    assert await store.current_version(two) == 0
    assert await store.changes_since(two, 0) == []
    assert await store.get_object(two, "agent", "a1") == {}
    assert await store.get_checkpoint(two, "engine") is None
    assert await store.read_intervals(two, "offered", "queue", "q1", 0, 10) == []
    await store.drop_tenant(two)
    assert (await store.snapshot(one)).values == {"agent": {"a1": {"state": "ready"}}}


@pytest.mark.parametrize(
    "tenant",
    ["", "a b", "a{b", "a}b", "a:b", "tab\there", "new\nline", "nul\x00", "a*", "x" * 65],
)
async def test_invalid_tenant_ids_are_rejected(store: ValueStore, tenant: str) -> None:
    bad = TenantId(tenant)
    calls: list[Any] = [
        store.apply(bad, [Change("agent", "a1", "state", "ready")]),
        store.snapshot(bad),
        store.get_object(bad, "agent", "a1"),
        store.changes_since(bad, 0),
        store.wait_for_changes(bad, 0, max_wait=0.01),
        store.write_intervals(bad, []),
        store.read_intervals(bad, "offered", "queue", "q1", 0, 1),
        store.put_checkpoint(bad, Checkpoint("engine", b"")),
        store.get_checkpoint(bad, "engine"),
        store.drop_tenant(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidInput) as caught:
            await call
        assert caught.value.detail["field"] == "tenant"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (Change("agent:x", "a1", "state", 1), "object_type"),
        (Change("", "a1", "state", 1), "object_type"),
        (Change("agent", "", "state", 1), "object_id"),
        (Change("agent", "a" * 257, "state", 1), "object_id"),
        (Change("agent", "\ud800", "state", 1), "object_id"),
        (Change("agent", "a1", "the state", 1), "statistic"),
        (Change("agent", "a1", "state", "\udfff"), "agent/a1/state"),
        (Change("agent", "a1", "state", math.nan), "agent/a1/state"),
        (Change("agent", "a1", "state", math.inf), "agent/a1/state"),
        (Change("agent", "a1", "state", object()), "agent/a1/state"),  # type: ignore[arg-type]
    ],
)
async def test_a_bad_change_rejects_the_whole_batch(
    store: ValueStore, change: Change, field: str
) -> None:
    tenant = fresh_tenant()
    good = Change("agent", "a0", "state", "ready")
    with pytest.raises(InvalidInput) as caught:
        await store.apply(tenant, [good, change], checkpoint=Checkpoint("engine", b"new"))
    assert caught.value.detail["field"] == field
    assert await store.current_version(tenant) == 0
    assert (await store.snapshot(tenant)).values == {}
    assert await store.get_checkpoint(tenant, "engine") is None


async def test_values_come_back_as_json_would_give_them(store: ValueStore) -> None:
    tenant = fresh_tenant()
    await store.apply(
        tenant,
        [
            Change("agent", "a1", "reasons", ("lunch", 3)),  # type: ignore[arg-type]
            Change("agent", "a1", "since", Since(1_700_000_000_000)),
            Change("agent", "a1", "nested", {"when": Since(5), "list": [1.5, None, True]}),
        ],
    )
    assert await store.get_object(tenant, "agent", "a1") == {
        "reasons": ["lunch", 3],
        "since": Since(1_700_000_000_000),
        "nested": {"when": Since(5), "list": [1.5, None, True]},
    }
    (batch,) = await store.changes_since(tenant, 0)
    assert batch.changes[0].value == ["lunch", 3]


# --- checkpoints ---------------------------------------------------------------------------------


async def test_checkpoint_is_written_with_its_batch(store: ValueStore) -> None:
    tenant = fresh_tenant()
    assert await store.get_checkpoint(tenant, "engine") is None
    version = await store.apply(
        tenant,
        [Change("agent", "a1", "calls", 1)],
        checkpoint=Checkpoint("engine", b"\x00state-1\xff"),
    )
    stored = await store.get_checkpoint(tenant, "engine")
    assert stored is not None
    assert (stored.blob, stored.version) == (b"\x00state-1\xff", version)

    await store.put_checkpoint(tenant, Checkpoint("sources", b"voice=12"))
    sources = await store.get_checkpoint(tenant, "sources")
    assert sources is not None
    assert (sources.blob, sources.version) == (b"voice=12", version)
    assert await store.current_version(tenant) == version  # a checkpoint alone is no batch

    newer = await store.apply(tenant, [], checkpoint=Checkpoint("engine", b""))
    assert newer == version
    assert await store.get_checkpoint(tenant, "engine") == type(stored)(b"", version)


async def test_readers_never_see_a_checkpoint_apart_from_its_changes(store: ValueStore) -> None:
    """Each batch sets counter=n together with checkpoint n; concurrent reads must agree.

    Read the values first, then the checkpoint: the checkpoint is at least as new. Read the
    checkpoint first, then the values: the values are at least as new. A store that wrote the
    two in separate steps, in either order, breaks one of these.
    """
    tenant = fresh_tenant()
    rounds = 60
    done = asyncio.Event()

    async def write() -> None:
        for n in range(1, rounds + 1):
            await store.apply(
                tenant,
                [Change("agent", "a1", "counter", n)],
                checkpoint=Checkpoint("engine", str(n).encode()),
            )
            await asyncio.sleep(0)
        done.set()

    async def counter() -> int:
        value = (await store.get_object(tenant, "agent", "a1")).get("counter", 0)
        assert isinstance(value, int)
        return value

    async def checkpointed() -> int:
        stored = await store.get_checkpoint(tenant, "engine")
        return int(stored.blob) if stored is not None else 0

    async def read() -> int:
        checks = 0
        while not done.is_set():
            values_first = await counter()
            assert await checkpointed() >= values_first
            checkpoint_first = await checkpointed()
            assert await counter() >= checkpoint_first
            checks += 1
            await asyncio.sleep(0)  # the memory store never suspends: let the writer run
        return checks

    # A TaskGroup: if a reader fails, the others are cancelled rather than left spinning.
    async with asyncio.TaskGroup() as group:
        group.create_task(write())
        readers = [group.create_task(read()) for _ in range(2)]
    assert all(reader.result() > 0 for reader in readers)
    stored = await store.get_checkpoint(tenant, "engine")
    assert stored is not None
    assert stored.blob == str(rounds).encode()
    assert stored.version == await store.current_version(tenant)


async def test_checkpoint_names_are_checked(store: ValueStore) -> None:
    tenant = fresh_tenant()
    with pytest.raises(InvalidInput) as caught:
        await store.put_checkpoint(tenant, Checkpoint("engine:1", b""))
    assert caught.value.detail["field"] == "checkpoint"
    with pytest.raises(InvalidInput):
        await store.get_checkpoint(tenant, "")
    with pytest.raises(InvalidInput) as caught:
        await store.apply(
            tenant,
            [Change("agent", "a1", "state", "ready")],
            checkpoint=Checkpoint("engine", "not bytes"),  # type: ignore[arg-type]
        )
    assert caught.value.detail["field"] == "checkpoint"
    assert await store.current_version(tenant) == 0


# --- interval history ----------------------------------------------------------------------------


def offered(start_ms: int, value: Value, queue: str = "q1") -> IntervalValue:
    return IntervalValue("offered", "queue", queue, start_ms, value)


async def read_offered(store: ValueStore, tenant: TenantId, queue: str = "q1") -> dict[int, Value]:
    points = await store.read_intervals(tenant, "offered", "queue", queue, 0, 10**13)
    return {point.start_ms: point.value for point in points}


async def test_intervals_are_written_overwritten_removed_and_read_by_range(
    store: ValueStore,
) -> None:
    tenant = fresh_tenant()
    await store.write_intervals(
        tenant, [offered(900_000, 3), offered(0, 1), offered(1_800_000, Since(7))]
    )
    await store.write_intervals(tenant, [offered(0, {"calls": 2})])  # a late event rewrites it
    assert await read_offered(store, tenant) == {
        0: {"calls": 2},
        900_000: 3,
        1_800_000: Since(7),
    }
    # [start, end): the interval starting at end_ms is not in.
    points = await store.read_intervals(tenant, "offered", "queue", "q1", 1, 1_800_000)
    assert points == [offered(900_000, 3)]
    assert await store.read_intervals(tenant, "offered", "queue", "q1", 5, 5) == []
    await store.write_intervals(tenant, [offered(900_000, None)])
    assert sorted(await read_offered(store, tenant)) == [0, 1_800_000]
    # Other series are apart.
    assert await read_offered(store, tenant, queue="q2") == {}
    assert await store.read_intervals(tenant, "answered", "queue", "q1", 0, 10**13) == []


async def test_intervals_older_than_the_retention_are_dropped(make_store: StoreMaker) -> None:
    store = await make_store(interval_retention_ms=3_600_000)
    tenant = fresh_tenant()
    await store.write_intervals(
        tenant, [offered(start, 1) for start in range(0, 3_600_001, 900_000)]
    )
    assert sorted(await read_offered(store, tenant)) == [
        0,
        900_000,
        1_800_000,
        2_700_000,
        3_600_000,
    ]
    await store.write_intervals(tenant, [offered(4_500_000, 1)])
    assert sorted(await read_offered(store, tenant)) == [
        900_000,
        1_800_000,
        2_700_000,
        3_600_000,
        4_500_000,
    ]
    # Rewriting an old interval late does not drop newer ones.
    await store.write_intervals(tenant, [offered(900_000, 2)])
    assert (await read_offered(store, tenant))[900_000] == 2
    assert len(await read_offered(store, tenant)) == 5


async def test_a_series_keeps_at_most_max_intervals(make_store: StoreMaker) -> None:
    store = await make_store(max_intervals=4)
    tenant = fresh_tenant()
    await store.write_intervals(tenant, [offered(start * 1000, start) for start in range(10)])
    assert await read_offered(store, tenant) == {6000: 6, 7000: 7, 8000: 8, 9000: 9}


async def test_bad_interval_values_are_rejected_before_any_write(store: ValueStore) -> None:
    tenant = fresh_tenant()
    with pytest.raises(InvalidInput) as caught:
        await store.write_intervals(tenant, [offered(0, 1), offered(-5, 1)])
    assert caught.value.detail["field"] == "start_ms"
    with pytest.raises(InvalidInput):
        await store.write_intervals(tenant, [offered(0, 1), offered(1, math.nan)])
    with pytest.raises(InvalidInput):
        await store.write_intervals(tenant, [IntervalValue("off ered", "queue", "q1", 0, 1)])
    assert await read_offered(store, tenant) == {}
