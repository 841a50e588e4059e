"""Opening every statistic of an object in one call (``open_many``) and restoring by plan: the
engine must end exactly as after the same ``open`` calls one at a time — same values, same
snapshot — whether the objects are opened before the events or in the middle of them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from wallboard.core import events as ev
from wallboard.core.codec import decode_event
from wallboard.core.errors import InvalidInput, NotFound
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import large
from wallboard.stats import GroupConfig, ObjectConfig, StatisticsEngine, standard_library

T = "t01"
LIBRARY = standard_library()
BY_TYPE: dict[str, list[str]] = {}
for _definition in LIBRARY:
    BY_TYPE.setdefault(_definition.object.value, []).append(_definition.id)
GROUPS = ObjectConfig(
    agent_groups={f"g{i}": GroupConfig(agents=tuple(f"g{i}-{a:03d}" for a in range(1, 51)))
                  for i in range(10)}
)  # fmt: skip


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[ev.Event]:
    directory = tmp_path_factory.mktemp("open-many")
    run_batch(large(1), seed=3, hours=0.1, out=directory)
    lines = Path(directory / "events.jsonl").read_bytes().splitlines()
    decoded = [decode_event(line) for line in lines]
    return [event for event in decoded if isinstance(event, ev.Event)]


def _objects(events: list[ev.Event]) -> list[tuple[str, str]]:
    """Every object of the run, by type, as met in its events and its groups."""
    engine = StatisticsEngine(LIBRARY)
    engine.set_objects(T, GROUPS, ts_ms=0)
    engine.apply_many(events)
    engine.flush()
    return [(t, o) for t, ids in engine.known_objects(T).items() for o in ids]


def _run(events: list[ev.Event], *, bulk: bool, cut: int) -> StatisticsEngine:
    """Half the objects opened before the events, the others after ``cut`` of them."""
    engine = StatisticsEngine(LIBRARY)
    engine.set_objects(T, GROUPS, ts_ms=0)
    objects = _objects(events)

    def open_all(part: list[tuple[str, str]]) -> None:
        for object_type, object_id in part:
            ids = BY_TYPE.get(object_type, [])
            if bulk:
                engine.open_many(T, object_type, object_id, ids)
            else:
                for stat_id in ids:
                    engine.open(T, object_type, object_id, stat_id)

    open_all(objects[::2])
    engine.apply_many(events[:cut])
    open_all(objects[1::2])
    engine.apply_many(events[cut:])
    engine.flush()
    return engine


def test_open_many_ends_as_opening_one_at_a_time(events: list[ev.Event]) -> None:
    cut = len(events) // 2
    single = _run(events, bulk=False, cut=cut)
    bulk = _run(events, bulk=True, cut=cut)
    assert len(bulk.opened()) > 10_000
    assert bulk.snapshot() == single.snapshot()
    now = events[-1].ts
    for key in single.opened():
        assert bulk.value(*key, now) == single.value(*key, now), key


def test_a_restore_is_the_engine_it_was_and_goes_on_alike(events: list[ev.Event]) -> None:
    cut = len(events) // 2
    engine = _run(events[:cut], bulk=True, cut=cut // 2)
    blob = engine.snapshot()
    restored = StatisticsEngine.restore(blob, LIBRARY)
    assert restored.snapshot() == blob
    engine.apply_many(events[cut:])
    restored.apply_many(events[cut:])
    engine.flush()
    restored.flush()
    assert restored.snapshot() == engine.snapshot()


def test_open_many_on_an_object_with_statistics_open_adds_to_them() -> None:
    bulk = StatisticsEngine(LIBRARY)
    single = StatisticsEngine(LIBRARY)
    ids = ["queue.answered", "queue.asa", "queue.answered"]
    for engine in (bulk, single):
        engine.open(T, "queue", "q1", "queue.asa")
    bulk.open_many(T, "queue", "q1", ids)
    for stat_id in ids:
        single.open(T, "queue", "q1", stat_id)
    assert bulk.snapshot() == single.snapshot()
    for _ in range(2):
        bulk.close(T, "queue", "q1", "queue.answered")
    assert bulk.is_open(T, "queue", "q1", "queue.asa")
    assert not bulk.is_open(T, "queue", "q1", "queue.answered")


def test_open_many_refuses_a_bad_statistic_and_opens_none() -> None:
    engine = StatisticsEngine(LIBRARY)
    with pytest.raises(NotFound, match=r"unknown statistic 'queue\.nope'"):
        engine.open_many(T, "queue", "q1", ["queue.answered", "queue.nope"])
    with pytest.raises(InvalidInput, match=r"agent\.talk_time measures agent, not queue"):
        engine.open_many(T, "queue", "q1", ["queue.answered", "agent.talk_time"])
    assert engine.opened() == []
    engine.open_many(T, "queue", "q1", ["queue.answered"])
    with pytest.raises(NotFound, match=r"unknown statistic 'queue\.nope'"):
        engine.open_many(T, "queue", "q1", ["queue.asa", "queue.nope"])
    assert engine.opened() == [(T, "queue", "q1", "queue.answered")]
    engine.open_many(T, "tenant", T, BY_TYPE["tenant"])
    with pytest.raises(InvalidInput, match="the tenant object's id is the tenant id"):
        engine.open_many(T, "tenant", "other", BY_TYPE["tenant"])


def test_a_snapshot_of_the_previous_layout_is_refused_by_its_version() -> None:
    engine = StatisticsEngine(LIBRARY)
    engine.open_many(T, "queue", "q1", BY_TYPE["queue"])
    older = msgspec.msgpack.decode(engine.snapshot())
    assert older["version"] == 9
    older["version"] = 8
    with pytest.raises(InvalidInput, match="snapshot version 8 is not 9"):
        StatisticsEngine.restore(msgspec.msgpack.encode(older), LIBRARY)
    damaged = msgspec.msgpack.decode(engine.snapshot())
    damaged["tallies"][0][3] = len(damaged["specs"])
    with pytest.raises(InvalidInput, match="not an engine snapshot"):
        StatisticsEngine.restore(msgspec.msgpack.encode(damaged), LIBRARY)
    damaged = msgspec.msgpack.decode(engine.snapshot())
    damaged["opened"][0][3] = 7
    with pytest.raises(InvalidInput, match="no list of statistics 7"):
        StatisticsEngine.restore(msgspec.msgpack.encode(damaged), LIBRARY)


def test_after_call_work_naming_its_call_follows_it_across_a_restore() -> None:
    # The copy of the released call that the agent's after-call work follows keeps its id in
    # the snapshot: an ``agent.acw`` naming the call after a restore still counts the work as
    # the queue's after-call work.
    def run(restore: bool) -> int | float | None:
        engine = StatisticsEngine(LIBRARY)
        engine.open_many(T, "queue", "q1", ["queue.acw_time"])
        n = 0

        def e(cls: type[ev.Event], ts: int, **fields: object) -> ev.Event:
            nonlocal n
            n += 1
            return cls(tenant=T, source="s", seq=n, id=f"e{n}", ts=ts, **fields)

        base = 1_700_000_000_000
        engine.apply_many(
            [
                e(ev.AgentLogin, base, agent="a1"),
                e(ev.AgentReady, base + 1_000, agent="a1"),
                e(ev.CallQueued, base + 2_000, call="c1", queue="q1"),
                e(ev.CallEstablished, base + 3_000, call="c1", agent="a1"),
                e(ev.CallReleased, base + 9_000, call="c1", agent="a1"),
                e(ev.AgentReady, base + 9_000, agent="a1"),
            ]
        )
        if restore:
            engine = StatisticsEngine.restore(engine.snapshot(), LIBRARY)
        engine.apply(e(ev.AgentAfterCallWork, base + 10_000, agent="a1", call="c1"))
        engine.apply(e(ev.AgentReady, base + 14_000, agent="a1"))
        value = engine.value(T, "queue", "q1", "queue.acw_time", base + 20_000)
        assert isinstance(value, int | float | None)
        return value

    assert run(restore=False) == 4_000
    assert run(restore=True) == 4_000
