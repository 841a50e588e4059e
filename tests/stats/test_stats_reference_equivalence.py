"""The incremental engine equals a brute-force recomputation on generated event sequences.

Sequences cross local midnights and a DST change in America/New_York, carry contradictions
(releases of unknown calls, states while logged out), duplicates and reordering within the
allowed lateness; every statistic is compared on agents, overlapping groups and queues.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_reference import derive_facts, reference_value

from wallboard.core import events as ev
from wallboard.stats import GroupConfig, ObjectConfig, StatisticsEngine, decode_definitions
from wallboard.stats.definitions import DefinitionSet

ZONE_NAME = "America/New_York"
ZONE = ZoneInfo(ZONE_NAME)
TENANT = "t"
AGENTS = ("a0", "a1", "a2")
QUEUES = ("q0", "q1")
CALLS = tuple(f"c{i}" for i in range(6))
GROUPS = {"g": ("a0", "a1"), "h": ("a1", "a2")}
CONFIG = ObjectConfig(
    agent_groups={
        "g": GroupConfig(agents=GROUPS["g"]),
        "h": GroupConfig(agents=GROUPS["h"]),
        "all": GroupConfig(groups=("g", "h")),
    }
)
MEMBERS = {"g": frozenset(GROUPS["g"]), "h": frozenset(GROUPS["h"]), "all": frozenset(AGENTS)}
LATENESS_MS = 5_000

PROFILES: dict[str, dict[str, Any]] = {
    "day": {"kind": "growing"},
    "two": {"kind": "growing", "reset": "02:00"},  # inside the spring-forward gap
    "six": {"kind": "growing", "reset": "01:00", "every_hours": 6},
    "half": {"kind": "selection", "interval_min": 30},
    "slide": {"kind": "sliding", "window_s": 3600, "step_s": 300},
    "ever": {"kind": "ever"},
}


def _definitions() -> DefinitionSet:
    items: list[dict[str, Any]] = []
    for name, profile in PROFILES.items():
        for owner in ("agent", "agent_group"):
            prefix = f"{owner}.{name}"
            items += [
                {"id": f"{prefix}.handled", "category": "TotalNumber", "mask": ["released"]},
                {
                    "id": f"{prefix}.answered_in_10",
                    "category": "TotalNumberInTimeRange",
                    "mask": ["answered"],
                    "time_range": {"from_s": 0, "to_s": 10},
                },
                {"id": f"{prefix}.avg_call", "category": "AverageTime", "mask": ["released"]},
                {"id": f"{prefix}.max_hold", "category": "MaxTime", "mask": ["hold"]},
                {
                    "id": f"{prefix}.missed_by_entry",
                    "category": "TotalNumber",
                    "mask": ["missed"],
                    "attribution": "entered",
                },
            ]
            if name != "slide":
                items += [
                    {"id": f"{prefix}.talk", "category": "TotalTime", "mask": ["talking", "held"]},
                    {
                        "id": f"{prefix}.nr_done",
                        "category": "TotalTime",
                        "mask": ["not_ready"],
                        "in_progress": False,
                    },
                    {"id": f"{prefix}.nr_count", "category": "TotalNumber", "mask": ["not_ready"]},
                    {
                        "id": f"{prefix}.login_avg",
                        "category": "AverageTime",
                        "mask": ["ready", "not_ready", "acw", "ringing", "talking", "held"],
                    },
                    {"id": f"{prefix}.ready_max", "category": "MaxTime", "mask": ["ready"]},
                    {
                        "id": f"{prefix}.acw_min",
                        "category": "MinTime",
                        "mask": ["acw"],
                        "in_progress": False,
                    },
                ]
            for item in items:
                item.setdefault("object", owner)
                item.setdefault("profile", profile)
        prefix = f"queue.{name}"
        queue_items: list[dict[str, Any]] = [
            {"id": f"{prefix}.entered", "category": "TotalNumber", "mask": ["entered"]},
            {"id": f"{prefix}.answered", "category": "TotalNumber", "mask": ["answered"]},
            {
                "id": f"{prefix}.answered_by_entry",
                "category": "TotalNumber",
                "mask": ["answered"],
                "attribution": "entered",
            },
            {"id": f"{prefix}.asa", "category": "AverageTime", "mask": ["answered"]},
            {"id": f"{prefix}.abandoned_min", "category": "MinTime", "mask": ["abandoned"]},
            {"id": f"{prefix}.handled_time", "category": "TotalTime", "mask": ["released"]},
            {
                "id": f"{prefix}.pct_in_20",
                "category": "TotalNumberInTimeRangePercentage",
                "mask": ["answered"],
                "time_range": {"from_s": 0, "to_s": 20},
            },
        ]
        queue_items += [
            {
                "id": f"{prefix}.sl_{sl_type}_{attribution}",
                "category": "ServiceFactor",
                "mask": ["answered"],
                "attribution": attribution,
                "service_level": {"type": sl_type, "threshold_s": 20},
            }
            for sl_type in (
                "removed_from_queue",
                "ignore_abandoned",
                "abandoned_negative",
                "abandoned_positive",
                "answered_only",
            )
            for attribution in ("completed", "entered")
        ]
        for item in queue_items:
            item["object"] = "queue"
            item["profile"] = profile
        items += queue_items
    items += [
        {
            "id": "agent.now.login_since",
            "object": "agent",
            "category": "TotalTime",
            "mask": ["ready", "not_ready", "acw", "ringing", "talking", "held"],
            "profile": {"kind": "since_login"},
        },
        {
            "id": "agent.now.handled_since",
            "object": "agent",
            "category": "TotalNumber",
            "mask": ["released"],
            "profile": {"kind": "since_login"},
        },
        {
            "id": "agent_group.now.ready",
            "object": "agent_group",
            "category": "CurrentNumber",
            "mask": ["ready"],
        },
        {
            "id": "agent_group.now.longest_nr",
            "object": "agent_group",
            "category": "CurrentMaxTime",
            "mask": ["not_ready"],
        },
        {
            "id": "agent.now.talking",
            "object": "agent",
            "category": "CurrentNumber",
            "mask": ["talking"],
        },
        {
            "id": "queue.now.waiting",
            "object": "queue",
            "category": "CurrentNumber",
            "mask": ["waiting"],
        },
        {
            "id": "queue.now.longest",
            "object": "queue",
            "category": "CurrentMaxTime",
            "mask": ["waiting"],
        },
    ]
    return decode_definitions({"statistics": items})


DEFINITIONS = _definitions()
# Around the fall-back (2024-11-03 06:00 UTC) and spring-forward (2024-03-10 07:00 UTC) changes.
STARTS = [
    int(datetime(2024, 11, 2, 20, 0, tzinfo=UTC).timestamp() * 1000),
    int(datetime(2024, 3, 9, 22, 30, tzinfo=UTC).timestamp() * 1000),
]

_op = st.one_of(
    st.tuples(st.just("login"), st.sampled_from(AGENTS)),
    st.tuples(st.just("logout"), st.sampled_from(AGENTS)),
    st.tuples(st.just("ready"), st.sampled_from(AGENTS)),
    st.tuples(st.just("not_ready"), st.sampled_from(AGENTS), st.sampled_from(["break", "lunch"])),
    st.tuples(st.just("acw"), st.sampled_from(AGENTS)),
    st.tuples(st.just("queue"), st.sampled_from(CALLS), st.sampled_from(QUEUES)),
    st.tuples(st.just("ring"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("answer"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("hold"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("retrieve"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("release"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("abandon"), st.sampled_from(CALLS), st.sampled_from(QUEUES)),
)
_gap = st.one_of(st.integers(1_000, 40_000), st.integers(40_000, 3_600_000))


def _event(op: tuple[Any, ...], ts: int, index: int) -> ev.Event:
    common: dict[str, Any] = {
        "tenant": TENANT,
        "source": "s",
        "seq": index,
        "id": f"e{index}",
        "ts": ts,
    }
    kind = op[0]
    if kind == "login":
        return ev.AgentLogin(agent=op[1], **common)
    if kind == "logout":
        return ev.AgentLogout(agent=op[1], **common)
    if kind == "ready":
        return ev.AgentReady(agent=op[1], **common)
    if kind == "not_ready":
        return ev.AgentNotReady(agent=op[1], reason=op[2], **common)
    if kind == "acw":
        return ev.AgentAfterCallWork(agent=op[1], **common)
    if kind == "queue":
        return ev.CallQueued(call=op[1], queue=op[2], **common)
    if kind == "ring":
        return ev.CallRinging(call=op[1], agent=op[2], **common)
    if kind == "answer":
        return ev.CallEstablished(call=op[1], agent=op[2], **common)
    if kind == "hold":
        return ev.CallHeld(call=op[1], agent=op[2], **common)
    if kind == "retrieve":
        return ev.CallRetrieved(call=op[1], agent=op[2], **common)
    if kind == "release":
        return ev.CallReleased(call=op[1], agent=op[2], **common)
    return ev.CallAbandoned(call=op[1], queue=op[2], **common)


@st.composite
def _call_story(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """A call's life, possibly cut short: queued, rung, answered, held, released, wrap-up."""
    call = draw(st.sampled_from(CALLS))
    queue = draw(st.sampled_from(QUEUES))
    agent = draw(st.sampled_from(AGENTS))
    if draw(st.booleans()) and draw(st.booleans()):
        return [("queue", call, queue), ("abandon", call, queue)]
    story = [("queue", call, queue)]
    if draw(st.booleans()):
        story.append(("ring", call, agent))
    story.append(("answer", call, agent))
    if draw(st.booleans()):
        story += [("hold", call, agent), ("retrieve", call, agent)]
    story += [("release", call, agent), ("acw", agent), ("ready", agent)]
    return story[: draw(st.integers(1, len(story)))] if draw(st.booleans()) else story


@st.composite
def delivered_events(draw: st.DrawFn) -> tuple[list[ev.Event], list[ev.Event]]:
    """(events in time order, the same as delivered: duplicated and reordered within lateness)."""
    ts = draw(st.sampled_from(STARTS))
    stories: list[list[tuple[Any, ...]]] = [[("login", a), ("ready", a)] for a in AGENTS]
    stories += draw(st.lists(_call_story(), min_size=1, max_size=8))
    stories += [[op] for op in draw(st.lists(_op, max_size=12))]
    keyed: list[tuple[float, int, tuple[Any, ...]]] = []
    for number, story in enumerate(stories):
        key = draw(st.floats(0, 10)) if number >= len(AGENTS) else 0.0
        for op in story:
            keyed.append((key, len(keyed), op))
            key += draw(st.floats(0.01, 3))
    keyed.sort()
    events = []
    for index, (_, _, op) in enumerate(keyed):
        ts += draw(_gap)
        events.append(_event(op, ts, index))
    delivered: list[tuple[int, int, ev.Event]] = []
    for position, e in enumerate(events):
        copies = 1 + draw(st.integers(0, 1)) * draw(st.booleans())
        for copy in range(copies):
            delay = draw(st.integers(0, LATENESS_MS // 2))
            delivered.append((e.ts + delay, position * 2 + copy, e))
    delivered.sort(key=lambda item: (item[0], item[1]))
    return events, [e for _, _, e in delivered]


def _objects() -> list[tuple[str, str, frozenset[str]]]:
    return (
        [("agent", a, frozenset({a})) for a in AGENTS]
        + [("agent_group", g, MEMBERS[g]) for g in MEMBERS]
        + [("queue", q, frozenset()) for q in QUEUES]
    )


def _run(events: list[ev.Event], lateness: int) -> StatisticsEngine:
    engine = StatisticsEngine(DEFINITIONS, lateness_ms=lateness, time_zones={TENANT: ZONE_NAME})
    engine.set_objects(TENANT, CONFIG, ts_ms=0)
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            engine.open(TENANT, object_type, object_id, d.id)
    engine.apply_many(events)
    engine.flush()
    return engine


def d_type(object_type: str) -> Any:
    from wallboard.stats.definitions import ObjectType

    return ObjectType(object_type)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6  # type: ignore[arg-type]
    return a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delivered_events(), st.sampled_from([0, 1, 3_600_000, 26 * 3_600_000]))
def test_engine_equals_brute_force(
    case: tuple[list[ev.Event], list[ev.Event]], read_after: int
) -> None:
    ordered, delivered = case
    engine = _run(delivered, LATENESS_MS)
    facts = derive_facts(delivered, LATENESS_MS)
    now = ordered[-1].ts + read_after
    mismatches = []
    for object_type, object_id, members in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            got = engine.value(TENANT, object_type, object_id, d.id, now)
            want = reference_value(d, facts, object_type, object_id, members, now, ZONE)
            if not _close(got, want):
                mismatches.append((object_type, object_id, d.id, got, want))
    assert not mismatches, mismatches[:10]
    assert engine.anomalies.get("too_late", 0) == 0


@settings(max_examples=40, deadline=None)
@given(delivered_events())
def test_duplicates_and_reordering_change_nothing(
    case: tuple[list[ev.Event], list[ev.Event]],
) -> None:
    ordered, delivered = case
    clean = _run(ordered, 0)
    messy = _run(delivered, LATENESS_MS)
    now = ordered[-1].ts + 60_000
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            assert _close(
                clean.value(TENANT, object_type, object_id, d.id, now),
                messy.value(TENANT, object_type, object_id, d.id, now),
            ), (object_type, object_id, d.id)
    assert messy.anomalies.get("duplicate", 0) == len(delivered) - len(ordered)


@settings(max_examples=30, deadline=None)
@given(delivered_events(), st.integers(0, 200))
def test_snapshot_restore_equals_uninterrupted_run(
    case: tuple[list[ev.Event], list[ev.Event]], cut: int
) -> None:
    _, delivered = case
    cut = min(cut, len(delivered))
    full = _run(delivered, LATENESS_MS)
    first = StatisticsEngine(DEFINITIONS, lateness_ms=LATENESS_MS, time_zones={TENANT: ZONE_NAME})
    first.set_objects(TENANT, CONFIG, ts_ms=0)
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            first.open(TENANT, object_type, object_id, d.id)
    first.apply_many(delivered[:cut])
    resumed = StatisticsEngine.restore(
        first.snapshot(), DEFINITIONS, lateness_ms=LATENESS_MS, time_zones={TENANT: ZONE_NAME}
    )
    resumed.apply_many(delivered[cut:])
    resumed.flush()
    now = max(e.ts for e in delivered) + 120_000
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            assert resumed.value(TENANT, object_type, object_id, d.id, now) == full.value(
                TENANT, object_type, object_id, d.id, now
            ), (object_type, object_id, d.id)
    assert resumed.anomalies == full.anomalies


@pytest.mark.parametrize("start", STARTS)
def test_generated_sequences_reach_the_dst_change(start: int) -> None:
    # The generator's starts sit hours before a DST change; a 70-step sequence with multi-hour
    # gaps spans it, and the "two" profile's reset at 02:00 falls into the spring gap.
    assert ZONE.utcoffset(datetime.fromtimestamp(start / 1000)) is not None


@settings(max_examples=30, deadline=None)
@given(delivered_events(), st.integers(0, 200), st.integers(0, 3))
def test_closing_statistics_leaves_those_sharing_their_accumulators_intact(
    case: tuple[list[ev.Event], list[ev.Event]], cut: int, phase: int
) -> None:
    # Statistics of one object share accumulators (all TotalTime masks of a media and profile
    # share one StatusTimes; service levels of every type share one tally): closing some,
    # before or in the middle of the run, must not change the ones that stay open.
    _, delivered = case
    cut = min(cut, len(delivered))
    full = _run(delivered, LATENESS_MS)
    partial = StatisticsEngine(DEFINITIONS, lateness_ms=LATENESS_MS, time_zones={TENANT: ZONE_NAME})
    partial.set_objects(TENANT, CONFIG, ts_ms=0)
    opened = [
        (object_type, object_id, d.id)
        for object_type, object_id, _ in _objects()
        for d in DEFINITIONS.for_object(d_type(object_type))
    ]
    for key in opened:
        partial.open(TENANT, *key)
    partial.apply_many(delivered[:cut])
    closed = set(opened[phase::4])
    for key in sorted(closed):
        partial.close(TENANT, *key)
    partial.apply_many(delivered[cut:])
    partial.flush()
    now = max(e.ts for e in delivered) + 90_000
    for key in opened:
        if key in closed:
            assert not partial.is_open(TENANT, *key)
            continue
        assert _close(partial.value(TENANT, *key, now), full.value(TENANT, *key, now)), key
