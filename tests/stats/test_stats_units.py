"""Unit checks: definitions errors, formulas, DST windows, the Cisco service-level example,
anomalies, group totals counting an agent once, change notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.core import events as ev
from wallboard.core.errors import InvalidInput, NotFound
from wallboard.stats import (
    AgentStatusValue,
    GroupConfig,
    ObjectConfig,
    QueueConfig,
    QueueGroupConfig,
    StatisticsEngine,
    decode_definitions,
    load_definitions_text,
    standard_library,
)
from wallboard.stats.formula import parse_formula
from wallboard.stats.windows import DayPartition

T = "t"
BASE = 1_700_000_000_000


class Events:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, cls: type[ev.Event], ts: int, **fields: Any) -> ev.Event:
        self.n += 1
        return cls(tenant=T, source="s", seq=self.n, id=f"e{self.n}", ts=ts, **fields)


# --- definitions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"id": "q.x", "object": "queue", "category": "Nope", "mask": ["entered"]}, "category"),
        (
            {"id": "q.x", "object": "queue", "category": "TotalNumber", "mask": ["sneezed"]},
            "mask[0]",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["entered"],
                "profile": {"kind": "sliding", "window_s": 100, "step_s": 30},
            },
            "profile.window_s",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["entered"],
                "profile": {"kind": "growing", "reset": "25:00"},
            },
            "profile.reset",
        ),
        (
            {"id": "q.x", "object": "queue", "category": "ServiceFactor", "mask": ["answered"]},
            "service_level",
        ),
        ({"id": "q.x", "object": "queue", "category": "Formula", "formula": "q.y +"}, "formula"),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["entered"],
                "in_progress": True,
            },
            "in_progress",
        ),
        (
            {
                "id": "a.x",
                "object": "agent",
                "category": "TotalNumber",
                "mask": ["released", "answered"],
                "in_progress": True,
            },
            "in_progress",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "ServiceFactor",
                "mask": ["released"],
                "service_level": {"threshold_s": 20},
                "in_progress": True,
            },
            "in_progress",
        ),
        (
            {
                "id": "a.x",
                "object": "agent",
                "category": "TotalTime",
                "mask": ["ready"],
                "breakdown": "reason",
            },
            "breakdown",
        ),
        (
            {
                "id": "g.x",
                "object": "agent_group",
                "category": "CurrentNumber",
                "mask": ["talking", "acw"],
                "filter": {"direction": ["outbound"]},
            },
            "filter",
        ),
        (
            {
                "id": "g.x",
                "object": "agent_group",
                "category": "TotalTime",
                "mask": ["talking"],
                "filter": {"skill": "sales"},
            },
            "filter",
        ),
        (
            {"id": "q.x", "object": "queue", "category": "TotalTime", "mask": ["ready"]},
            "mask[0]",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumberInTimeRange",
                "mask": ["answered"],
                "time_range": {"from_s": 0, "to_s": 1e12},
            },
            "time_range.to_s",
        ),
        (
            {
                "id": "a.x",
                "object": "agent",
                "category": "TotalNumber",
                "mask": ["answered"],
                "profile": {"kind": "sliding", "window_s": 10**12, "step_s": 10**12},
            },
            "profile.window_s",
        ),
        # Refusal reasons and diversion causes filter their own action, which the mask counts.
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["entered"],
                "filter": {"refusal_reasons": ["closed"]},
            },
            "filter.refusal_reasons",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["refused"],
                "filter": {"diversion_causes": ["timeout"]},
            },
            "filter.diversion_causes",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["refused"],
                "filter": {"refusal_reasons": ["sunny"]},
            },
            "filter.refusal_reasons",
        ),
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "ServiceFactor",
                "mask": ["answered"],
                "service_level": {"threshold_s": 20},
                "filter": {"diversion_causes": ["timeout"]},
            },
            "filter.diversion_causes",
        ),
        # Platforms report durations of actions only.
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "CurrentNumber",
                "mask": ["waiting"],
                "durations": "reported",
            },
            "durations",
        ),
        # A fraction is never labelled a percentage (every percentage is 0-100).
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "Ratio",
                "mask": ["abandoned"],
                "denominator_mask": ["entered"],
                "format": "percent",
            },
            "format",
        ),
        # Contacts are counted on the tenant, for entries and outcomes before an answer.
        (
            {
                "id": "q.x",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["entered"],
                "count": "contacts",
            },
            "count",
        ),
        (
            {
                "id": "t.x",
                "object": "tenant",
                "category": "TotalNumber",
                "mask": ["released"],
                "count": "contacts",
            },
            "mask[0]",
        ),
    ],
)
def test_definition_errors_name_the_field(item: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_definitions([item])
    assert field in str(caught.value.detail.get("field", "")), caught.value.message


def test_formula_cycle_and_unknown_reference_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="cycle"):
        decode_definitions(
            [
                {"id": "q.a", "object": "queue", "category": "Formula", "formula": "q.b + 1"},
                {"id": "q.b", "object": "queue", "category": "Formula", "formula": "q.a * 2"},
            ]
        )
    with pytest.raises(InvalidInput, match="unknown statistic"):
        decode_definitions(
            [{"id": "q.a", "object": "queue", "category": "Formula", "formula": "q.zz"}]
        )


def test_yaml_errors_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        load_definitions_text("statistics: [")


def test_standard_library_loads_and_every_id_is_documented() -> None:
    from pathlib import Path

    library = standard_library()
    doc = (Path(__file__).parents[2] / "docs" / "statistics.md").read_text()
    missing = [d.id for d in library if f"`{d.id}`" not in doc]
    assert not missing
    assert len(library) > 80
    # The tables are what library_table writes: what counts, window, denominator, in progress.
    from wallboard.stats.library import library_table

    assert library_table(library) in doc


def test_actions_in_progress_breakdown_and_queue_agents_in_the_standard_library() -> None:
    events = Events()
    engine = StatisticsEngine(standard_library())
    engine.set_objects(
        T,
        ObjectConfig(
            agent_groups={"g": GroupConfig(agents=("a", "b"))},
            queue_groups={"qg": QueueGroupConfig(queues=("q1", "q2"))},
            queues={"q2": QueueConfig(agents=("a",))},
        ),
        ts_ms=0,
    )
    for stat in ("agent.aht", "agent.not_ready_time_by_reason", "agent.calls_handled_incl_current"):
        engine.open(T, "agent", "a", stat)
    engine.open(T, "agent_group", "g", "group.not_ready_time_last_15_min")
    engine.open(T, "queue", "q1", "queue.agents_ready")
    engine.open(T, "queue_group", "qg", "queue_group.agents_logged_in")
    t = BASE
    engine.apply(events(ev.AgentLogin, t, agent="a", queues=("q1",)))
    engine.apply(events(ev.AgentLogin, t, agent="b", queues=("q1", "q2")))
    engine.apply(events(ev.AgentNotReady, t + 1_000, agent="a", reason="break"))
    engine.apply(events(ev.AgentReady, t + 61_000, agent="a"))
    engine.apply(events(ev.AgentReady, t + 61_000, agent="b"))
    engine.drain_changes()
    # An agent counts once in a total across queues (a is in q1 by login and q2 by config).
    assert engine.value(T, "queue_group", "qg", "queue_group.agents_logged_in", t + 62_000) == 2
    assert engine.value(T, "queue", "q1", "queue.agents_ready", t + 62_000) == 2
    engine.apply(events(ev.CallQueued, t + 70_000, call="c", queue="q1"))
    engine.apply(events(ev.CallEstablished, t + 80_000, call="c", agent="a"))
    # Status changes of a queue's agents touch the queue.
    assert (T, "queue", "q1") in engine.drain_changes()
    assert engine.value(T, "queue", "q1", "queue.agents_ready", t + 81_000) == 1
    # The call in progress counts in calls handled and so in AHT (talk so far / 1 call).
    assert engine.value(T, "agent", "a", "agent.calls_handled_incl_current", t + 90_000) == 1
    assert engine.value(T, "agent", "a", "agent.aht", t + 90_000) == 10_000
    # Not-ready by reason: a JSON-able mapping; the login's not-ready has no reason.
    value = engine.value(T, "agent", "a", "agent.not_ready_time_by_reason", t + 90_000)
    assert value == {"break": 60_000, "unspecified": 1_000}
    assert msgspec.json.decode(msgspec.json.encode(value)) == value
    last_15 = engine.value(T, "agent_group", "g", "group.not_ready_time_last_15_min", t + 90_000)
    assert last_15 == 61_000 + 61_000
    assert (
        engine.value(T, "agent_group", "g", "group.not_ready_time_last_15_min", t + 3_600_000) == 0
    )


# --- formulas ----------------------------------------------------------------------------------


def test_formula_arithmetic_missing_and_division_by_zero() -> None:
    values = {"q.a": 6.0, "q.b": 0.0, "q.n": None}
    lookup = values.get
    assert parse_formula("1 + 2 * 3 - -1").evaluate(lookup) == 8.0
    assert parse_formula("(q.a + 2) / 4").evaluate(lookup) == 2.0
    assert parse_formula("q.a / q.b").evaluate(lookup) is None
    assert parse_formula("q.n + 1").evaluate(lookup) is None
    assert parse_formula("if(q.a > 5, max(q.a, 10), min(1, 2))").evaluate(lookup) == 10.0
    assert parse_formula("if(q.b, 1, 2)").evaluate(lookup) == 2.0
    assert parse_formula("q.a >= 6").evaluate(lookup) == 1.0


@pytest.mark.parametrize("text", ["__import__('os')", "1 +", "q.a q.b", "((((1)", "a", "1 ; 2"])
def test_formula_rejects_anything_else(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_formula(text)


def test_formula_nesting_is_bounded() -> None:
    with pytest.raises(InvalidInput, match="nested"):
        parse_formula("(" * 100 + "1" + ")" * 100)


# --- windows at DST changes -------------------------------------------------------------------


def _scan_start(zone: ZoneInfo, anchor: int, step: int, ts: int) -> int:
    """Oracle: walk back minute by minute to the latest instant that is a boundary.

    Boundary wall times are ``anchor + k·step`` within a day. A minute is a boundary when its
    wall time is one (its repeat in a fall-back hour too, except the anchor), or when a
    spring-forward gap just before it swallowed one.
    """
    day = 24 * 60
    walls = {(anchor + k * step) % day for k in range(-(-day // step))}

    def wall(ms: int) -> int:
        local = datetime.fromtimestamp(ms / 1000, zone)
        return local.hour * 60 + local.minute

    minute = ts - ts % 60_000
    while True:
        here, before = wall(minute), wall(minute - 60_000)
        jump = (here - before) % day
        if here in walls:
            repeat = wall(minute - 3_600_000) == here
            if not repeat or here != anchor % day:
                return minute
        if 1 < jump < day // 2 and any((before + s) % day in walls for s in range(1, jump)):
            return minute
        minute -= 60_000


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([(0, 1440), (120, 1440), (60, 360), (0, 30), (0, 45)]),
    st.integers(0, 4 * 24 * 60),
    st.sampled_from([datetime(2024, 3, 8, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC)]),
)
def test_day_partition_matches_minute_scan(
    anchor_step: tuple[int, int], minutes: int, origin: datetime
) -> None:
    zone = ZoneInfo("America/New_York")
    anchor, step = anchor_step
    ts = int((origin + timedelta(minutes=minutes, seconds=7)).timestamp() * 1000)
    start, end = DayPartition(zone, anchor, step).bounds(ts)
    assert start <= ts < end
    assert start == _scan_start(zone, anchor, step, ts)


def test_daily_reset_is_local_midnight_across_dst() -> None:
    zone = ZoneInfo("America/New_York")
    windows = DayPartition(zone, 0, 1440)
    ts = int(datetime(2024, 11, 3, 12, tzinfo=zone).timestamp() * 1000)
    start, end = windows.bounds(ts)
    assert (end - start) == 25 * 3_600_000  # fall-back day
    ts = int(datetime(2024, 3, 10, 12, tzinfo=zone).timestamp() * 1000)
    start, end = windows.bounds(ts)
    assert (end - start) == 23 * 3_600_000
    assert datetime.fromtimestamp(start / 1000, zone).hour == 0


# --- service level: Cisco's worked example ------------------------------------------------------


def test_cisco_service_level_example() -> None:
    definitions = decode_definitions(
        [
            {
                "id": f"queue.sl_{kind}",
                "object": "queue",
                "category": "ServiceFactor",
                "mask": ["answered"],
                "service_level": {"type": kind, "threshold_s": 20},
            }
            for kind in ("ignore_abandoned", "abandoned_negative", "abandoned_positive")
        ]
    )
    engine = StatisticsEngine(definitions)
    for stat in definitions:
        engine.open(T, "queue", "q", stat.id)
    e = Events()
    ts = BASE
    plan = (
        ["answer_fast"] * 70 + ["abandon_fast"] * 10 + ["answer_slow"] * 10 + ["abandon_slow"] * 5
    )
    for index, kind in enumerate(plan):
        call = f"c{index}"
        engine.apply(e(ev.CallQueued, ts, call=call, queue="q"))
        wait = 5_000 if kind.endswith("fast") else 30_000
        if kind.startswith("answer"):
            engine.apply(e(ev.CallEstablished, ts + wait, call=call, agent="a", queue="q"))
            engine.apply(e(ev.CallReleased, ts + wait + 1, call=call, agent="a"))
        else:
            engine.apply(e(ev.CallAbandoned, ts + wait, call=call, queue="q"))
        ts += 60_000
    # 5 more still waiting past the threshold: they reached it, so they are SL events too.
    for index in range(5):
        engine.apply(e(ev.CallQueued, ts + index, call=f"w{index}", queue="q"))
    now = ts + 25_000
    readings = {s.id: engine.reading(T, "queue", "q", s.id, now) for s in definitions}
    assert readings["queue.sl_ignore_abandoned"].value == pytest.approx(77.777, abs=0.01)
    assert readings["queue.sl_abandoned_negative"].value == pytest.approx(70.0)
    assert readings["queue.sl_abandoned_positive"].value == pytest.approx(80.0)
    assert readings["queue.sl_abandoned_negative"].denominator == 100
    assert readings["queue.sl_ignore_abandoned"].denominator == 90
    # Before the waiting calls reach 20 s they are not yet SL events.
    assert (
        engine.reading(T, "queue", "q", "queue.sl_abandoned_negative", ts + 10_000).denominator
        == 95
    )


# --- engine behaviour --------------------------------------------------------------------------


def _library_engine(**kwargs: Any) -> StatisticsEngine:
    return StatisticsEngine(standard_library(), **kwargs)


def test_contradictions_are_counted_and_harm_nothing() -> None:
    engine = _library_engine()
    engine.open(T, "queue", "q", "queue.answered")
    engine.open(T, "agent", "a", "agent.status")
    e = Events()
    engine.apply(e(ev.CallReleased, BASE, call="ghost", agent="a"))
    engine.apply(e(ev.CallAbandoned, BASE + 1, call="ghost", queue="q"))
    engine.apply(e(ev.AgentReady, BASE + 2, agent="a"))
    engine.apply(e(ev.CallHeld, BASE + 3, call="ghost", agent="a"))
    engine.apply(e(ev.CallQueued, BASE + 4, call="c", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 5, call="c", agent="a", queue="q"))
    assert engine.anomalies == {
        "released_unknown_call": 1,
        "abandoned_not_queued": 1,
        "state_while_logged_out": 1,
        "held_without_talking_call": 1,
    }
    assert engine.value(T, "queue", "q", "queue.answered", BASE + 10) == 1
    status = engine.value(T, "agent", "a", "agent.status", BASE + 10)
    assert isinstance(status, AgentStatusValue)
    assert status.state == "talking"


class _NewerEvent(ev.Event, tag="test.newer"):
    """An event class the engine has no handler for (as a newer peer's could be)."""

    agent: str


@pytest.mark.parametrize("lateness_ms", [0, 1_000])
def test_events_the_engine_cannot_handle_are_counted_and_change_nothing(lateness_ms: int) -> None:
    engine = _library_engine(lateness_ms=lateness_ms)
    engine.open(T, "agent", "a", "agent.status")
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a", dn="d"))
    engine.apply(
        ev.UnknownEvent(
            type="test.unknown", v=1, tenant=T, source="s", seq=0, id="u", ts=BASE + 1, raw=b"{}"
        )
    )
    engine.apply(e(_NewerEvent, BASE + 1, agent="a"))
    engine.apply(e(ev.AgentReady, BASE + 2, agent="a"))
    engine.flush()
    assert engine.anomalies == {"unknown_event_type": 1, "unhandled_event_type": 1}
    assert engine.events_applied == 2
    status = engine.value(T, "agent", "a", "agent.status", BASE + 10)
    assert isinstance(status, AgentStatusValue)
    assert (status.state, status.since) == ("ready", BASE + 2)


def test_duplicates_of_a_busy_instant_are_found_until_time_moves_on() -> None:
    # Live, the ids of the current instant are kept: every re-delivery of the instant's events
    # is a duplicate, also across a snapshot; once time moves on (by an event or by
    # ``advance``), they are forgotten.
    engine = _library_engine()
    engine.open(T, "queue", "q", "queue.entered")
    e = Events()
    burst = [e(ev.CallQueued, BASE, call=f"c{i}", queue="q") for i in range(12)]
    for event in burst:
        engine.apply(event)
    restored = StatisticsEngine.restore(engine.snapshot(), standard_library())
    assert restored.snapshot() == engine.snapshot()
    for each in (engine, restored):
        for event in reversed(burst):
            each.apply(event)
        assert each.anomalies == {"duplicate": 12}
        assert each.value(T, "queue", "q", "queue.entered", BASE + 10) == 12
    assert engine.events_applied == 12
    later = e(ev.CallQueued, BASE + 5, call="d", queue="q")
    engine.apply(later)
    engine.apply(msgspec.structs.replace(burst[0], ts=BASE + 5))  # (an id of a past instant)
    engine.advance(BASE + 9)
    engine.apply(msgspec.structs.replace(later, ts=BASE + 9))
    assert engine.anomalies == {"duplicate": 12}
    assert engine.value(T, "queue", "q", "queue.entered", BASE + 10) == 15


def test_late_events_beyond_lateness_are_dropped_and_counted() -> None:
    engine = _library_engine(lateness_ms=1_000)
    engine.open(T, "queue", "q", "queue.entered")
    e = Events()
    engine.apply(e(ev.CallQueued, BASE + 5_000, call="a", queue="q"))
    engine.apply(e(ev.CallQueued, BASE + 4_500, call="b", queue="q"))  # within lateness
    assert engine.value(T, "queue", "q", "queue.entered", BASE + 6_000) == 0  # still buffered
    engine.advance(BASE + 7_000)
    assert engine.value(T, "queue", "q", "queue.entered", BASE + 7_000) == 2
    engine.apply(e(ev.CallQueued, BASE + 1_000, call="c", queue="q"))
    assert engine.anomalies["too_late"] == 1
    assert engine.value(T, "queue", "q", "queue.entered", BASE + 7_000) == 2


def test_group_total_counts_an_agent_once_and_membership_changes() -> None:
    engine = _library_engine()
    config = ObjectConfig(
        agent_groups={
            "sales": GroupConfig(agents=("a1", "a2")),
            "service": GroupConfig(agents=("a2", "a3")),
            "all": GroupConfig(groups=("sales", "service")),
        }
    )
    engine.set_objects(T, config)
    for group in ("sales", "service", "all"):
        engine.open(T, "agent_group", group, "group.agents_ready")
        engine.open(T, "agent_group", group, "group.calls_handled")
    engine.open(T, "tenant", T, "tenant.agents_ready")
    e = Events()
    for index, agent in enumerate(("a1", "a2", "a3")):
        engine.apply(e(ev.AgentLogin, BASE + 10 * index, agent=agent))
        engine.apply(e(ev.AgentReady, BASE + 10 * index + 5, agent=agent))
    engine.apply(e(ev.CallEstablished, BASE + 100, call="c", agent="a2"))
    engine.apply(e(ev.CallReleased, BASE + 200, call="c", agent="a2"))
    now = BASE + 300
    ready = {
        g: engine.value(T, "agent_group", g, "group.agents_ready", now)
        for g in ("sales", "service", "all")
    }
    assert ready == {"sales": 2, "service": 2, "all": 3}
    assert engine.value(T, "tenant", T, "tenant.agents_ready", now) == 3
    assert engine.value(T, "agent_group", "all", "group.calls_handled", now) == 1
    engine.set_objects(T, ObjectConfig(agent_groups={"sales": GroupConfig(agents=("a1",))}))
    assert engine.value(T, "agent_group", "sales", "group.agents_ready", now) == 1
    engine.apply(e(ev.CallEstablished, BASE + 400, call="d", agent="a2"))
    engine.apply(e(ev.CallReleased, BASE + 500, call="d", agent="a2"))
    # The first call counted while a2 was a member; the second, after it left, does not.
    assert engine.value(T, "agent_group", "sales", "group.calls_handled", BASE + 600) == 1


def test_group_status_times_follow_membership_and_late_opens_count_from_the_status_start() -> None:
    # Status times count an agent's intervals from its status start, a group's only while the
    # agent is a member: a2 joins mid-break (counted from the join), a1 leaves mid-lunch
    # (counted until it leaves). A statistic opened mid-run counts the status in progress
    # from its start, as if it had been open all along.
    engine = _library_engine()
    s = 1_000
    group_stats = (
        "group.not_ready_time",
        "group.not_ready_time_by_reason",
        "group.not_ready_time_last_15_min",
    )
    engine.set_objects(T, ObjectConfig(agent_groups={"g": GroupConfig(agents=("a1",))}), ts_ms=0)
    for stat_id in group_stats:
        engine.open(T, "agent_group", "g", stat_id)
    e = Events()
    for agent in ("a1", "a2"):
        engine.apply(e(ev.AgentLogin, BASE - 10 * s, agent=agent))
        engine.apply(e(ev.AgentReady, BASE - 10 * s, agent=agent))
    engine.apply(e(ev.AgentNotReady, BASE, agent="a2", reason="break"))
    engine.apply(e(ev.AgentNotReady, BASE + 10 * s, agent="a1", reason="lunch"))
    both = ObjectConfig(agent_groups={"g": GroupConfig(agents=("a1", "a2"))})
    engine.set_objects(T, both, ts_ms=BASE + 60 * s)
    engine.apply(e(ev.AgentReady, BASE + 100 * s, agent="a2"))
    engine.open(T, "agent", "a1", "agent.not_ready_time")
    engine.set_objects(
        T, ObjectConfig(agent_groups={"g": GroupConfig(agents=("a2",))}), ts_ms=BASE + 200 * s
    )
    engine.apply(e(ev.AgentNotReady, BASE + 250 * s, agent="a2", reason="break"))
    now = BASE + 300 * s
    # a2: 60 → 100 s and 250 → 300 s (in progress); a1: 10 → 200 s.
    assert engine.value(T, "agent_group", "g", "group.not_ready_time", now) == 280 * s
    assert engine.value(T, "agent_group", "g", "group.not_ready_time_last_15_min", now) == 280 * s
    assert engine.value(T, "agent_group", "g", "group.not_ready_time_by_reason", now) == {
        "break": 90 * s,
        "lunch": 190 * s,
    }
    assert engine.value(T, "agent", "a1", "agent.not_ready_time", now) == 290 * s
    # A snapshot keeps who counts from when.
    restored = StatisticsEngine.restore(engine.snapshot(), standard_library())
    assert restored.value(T, "agent_group", "g", "group.not_ready_time", now) == 280 * s
    engine.apply(e(ev.AgentReady, BASE + 320 * s, agent="a2"))
    restored.apply(e(ev.AgentReady, BASE + 320 * s, agent="a2"))
    later = BASE + 400 * s
    for stat_id in group_stats:
        assert restored.value(T, "agent_group", "g", stat_id, later) == engine.value(
            T, "agent_group", "g", stat_id, later
        )
    assert engine.value(T, "agent_group", "g", "group.not_ready_time", later) == 300 * s


def test_sliding_window_over_status_intervals() -> None:
    # Not-ready episodes in the last 15 minutes (1-minute steps): an episode counts in the
    # minute it began and leaves the window 15 minutes later; its time is clipped to the window.
    definitions = load_definitions_text(
        """
statistics:
  - {id: a.breaks, object: agent, category: TotalNumber, mask: [not_ready],
     profile: {kind: sliding, window_s: 900, step_s: 60}}
  - {id: a.break_avg, object: agent, category: AverageTime, mask: [not_ready], in_progress: false,
     profile: {kind: sliding, window_s: 900, step_s: 60}}
  - {id: a.lunch_time, object: agent, category: TotalTime, mask: [not_ready],
     filter: {reasons: [lunch]}, profile: {kind: sliding, window_s: 900, step_s: 60}}
"""
    )
    engine = StatisticsEngine(definitions)
    for stat_id in ("a.breaks", "a.break_avg", "a.lunch_time"):
        engine.open(T, "agent", "a", stat_id)
    minute = 60_000
    start = BASE - BASE % minute
    e = Events()
    engine.apply(e(ev.AgentLogin, start - 60 * minute, agent="a"))
    engine.apply(e(ev.AgentReady, start - 60 * minute, agent="a"))
    engine.apply(e(ev.AgentNotReady, start + 1 * minute, agent="a", reason="lunch"))
    engine.apply(e(ev.AgentReady, start + 4 * minute, agent="a"))
    engine.apply(e(ev.AgentNotReady, start + 10 * minute, agent="a", reason="break"))
    engine.apply(e(ev.AgentReady, start + 11 * minute, agent="a"))

    def values(at: int) -> tuple[object, ...]:
        return tuple(
            engine.value(T, "agent", "a", stat_id, at)
            for stat_id in ("a.breaks", "a.break_avg", "a.lunch_time")
        )

    assert values(start + 12 * minute) == (2, 2 * minute, 3 * minute)
    # At 16:30 the window starts at 2:00: the lunch began before it (not counted), one minute of
    # it is clipped away.
    assert values(start + 16 * minute + 30_000) == (1, 1 * minute, 2 * minute)
    assert values(start + 30 * minute) == (0, None, 0)


def test_an_interval_that_ends_as_it_begins_is_no_interval() -> None:
    # A login puts the agent in not-ready; a platform whose login means ready sends the ready at
    # the same instant. That is no not-ready episode: not counted, not the shortest.
    definitions = load_definitions_text(
        """
statistics:
  - {id: a.nr_count, object: agent, category: TotalNumber, mask: [not_ready]}
  - {id: a.nr_min, object: agent, category: MinTime, mask: [not_ready], in_progress: false}
  - {id: a.nr_count_15, object: agent, category: TotalNumber, mask: [not_ready],
     profile: {kind: sliding, window_s: 900, step_s: 60}}
"""
    )
    engine = StatisticsEngine(definitions)
    for stat_id in ("a.nr_count", "a.nr_min", "a.nr_count_15"):
        engine.open(T, "agent", "a", stat_id)
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a"))
    engine.apply(e(ev.AgentReady, BASE, agent="a"))
    engine.apply(e(ev.AgentNotReady, BASE + 1_000, agent="a"))
    engine.apply(e(ev.AgentReady, BASE + 4_000, agent="a"))
    now = BASE + 5_000
    assert engine.value(T, "agent", "a", "a.nr_count", now) == 1
    assert engine.value(T, "agent", "a", "a.nr_min", now) == 3_000
    assert engine.value(T, "agent", "a", "a.nr_count_15", now) == 1


def test_agents_on_matching_contacts_count_by_the_contacts_own_status() -> None:
    # "Agents holding a Spanish call": the agent holds an English call while a Spanish one
    # rings — its status is held, and it is on a Spanish call, but not holding one.
    definitions = load_definitions_text(
        """
statistics:
  - {id: g.holding, object: agent_group, category: CurrentNumber, mask: [held]}
  - {id: g.holding_es, object: agent_group, category: CurrentNumber, mask: [held],
     filter: {data: {lang: es}}}
  - {id: g.on_es, object: agent_group, category: CurrentNumber, mask: [talking, held],
     filter: {data: {lang: es}}}
"""
    )
    engine = StatisticsEngine(definitions)
    engine.set_objects(T, ObjectConfig(agent_groups={"g": GroupConfig(agents=("a",))}))
    stat_ids = ("g.holding", "g.holding_es", "g.on_es")
    for stat_id in stat_ids:
        engine.open(T, "agent_group", "g", stat_id)
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a"))
    engine.apply(e(ev.AgentReady, BASE, agent="a"))
    engine.apply(e(ev.CallEstablished, BASE + 1, call="en", agent="a"))
    engine.apply(e(ev.CallDataUpdated, BASE + 2, call="en", data={"lang": "en"}))
    engine.apply(e(ev.CallHeld, BASE + 3, call="en", agent="a"))
    engine.apply(e(ev.CallRinging, BASE + 4, call="es", agent="a"))
    engine.apply(e(ev.CallDataUpdated, BASE + 5, call="es", data={"lang": "es"}))

    def values() -> tuple[object, ...]:
        return tuple(engine.value(T, "agent_group", "g", i, BASE + 10) for i in stat_ids)

    assert values() == (1, 0, 0)
    engine.apply(e(ev.CallEstablished, BASE + 6, call="es", agent="a"))
    engine.apply(e(ev.CallHeld, BASE + 7, call="es", agent="a"))
    assert values() == (1, 1, 1)


def test_missing_is_none_and_unknown_statistics_are_refused() -> None:
    engine = _library_engine()
    engine.open(T, "queue", "q", "queue.asa")
    engine.open(T, "agent", "a", "agent.login_time_since_login")
    assert engine.value(T, "queue", "q", "queue.asa", BASE) is None
    assert engine.value(T, "agent", "a", "agent.login_time_since_login", BASE) is None
    with pytest.raises(NotFound):
        engine.open(T, "queue", "q", "queue.nonsense")
    with pytest.raises(InvalidInput):
        engine.open(T, "agent", "q", "queue.asa")
    with pytest.raises(NotFound):
        engine.value(T, "queue", "q", "queue.answered", BASE)


def test_change_notification_names_touched_objects_only() -> None:
    engine = _library_engine()
    engine.open(T, "queue", "q1", "queue.entered")
    engine.open(T, "queue", "q2", "queue.entered")
    engine.open(T, "agent", "a", "agent.status")
    engine.drain_changes()
    e = Events()
    engine.apply(e(ev.CallQueued, BASE, call="c", queue="q1"))
    assert engine.drain_changes() == {(T, "queue", "q1")}
    engine.apply(e(ev.AgentLogin, BASE + 1, agent="a"))
    assert engine.drain_changes() == {(T, "agent", "a")}
    assert engine.drain_changes() == set()
    # Reported again after a drain, and once however many facts touch it in between.
    engine.apply(e(ev.CallQueued, BASE + 2, call="d", queue="q1"))
    engine.apply(e(ev.CallQueued, BASE + 3, call="f", queue="q1"))
    engine.apply(e(ev.CallQueued, BASE + 4, call="g", queue="q2"))
    assert engine.drain_changes() == {(T, "queue", "q1"), (T, "queue", "q2")}
    engine.apply(e(ev.CallAbandoned, BASE + 5, call="d", queue="q1"))
    assert engine.drain_changes() == {(T, "queue", "q1")}


def test_every_object_a_fact_touches_is_named_again_after_each_drain() -> None:
    """Routes (and an agent's state, for its own node) remember in which drain period they
    named their objects, and skip naming them again until the next drain: after each drain
    the same kind of fact must name the same objects again, by every path."""
    engine = _library_engine()
    engine.set_objects(
        T,
        ObjectConfig(
            agent_groups={"g": GroupConfig(agents=("a",))},
            queue_groups={"qg": QueueGroupConfig(queues=("q1",))},
        ),
    )
    for object_type, object_id, stat_id in (
        ("agent", "a", "agent.talk_time"),
        ("agent", "a", "agent.calls_handled"),
        ("agent_group", "g", "group.calls_handled"),
        ("queue", "q1", "queue.answered"),
        ("queue", "q1", "queue.agents_ready"),
        ("queue", "q1", "queue.refused"),
        ("queue_group", "qg", "queue_group.entered"),
        ("tenant", T, "tenant.agents_ready"),
    ):
        engine.open(T, object_type, object_id, stat_id)
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a", queues=("q1",)))
    engine.drain_changes()
    agent_side = {(T, "agent", "a"), (T, "agent_group", "g"), (T, "tenant", T)}
    queue_side = {(T, "queue", "q1"), (T, "queue_group", "qg"), (T, "tenant", T)}
    ts = BASE
    for call in ("c1", "c2", "c3"):
        for cls, fields, named in (
            (ev.AgentReady, {"agent": "a"}, agent_side | {(T, "queue", "q1")}),
            (ev.CallQueued, {"call": call, "queue": "q1"}, queue_side),  # a contact's move
            (ev.CallRinging, {"call": call, "agent": "a"}, agent_side | {(T, "queue", "q1")}),
            (ev.CallEstablished, {"call": call, "agent": "a"}, agent_side | queue_side),
            # An agent's action (and its status change), and the end of an answered contact.
            (ev.CallReleased, {"call": call, "agent": "a"}, agent_side | queue_side),
            (ev.AgentNotReady, {"agent": "a"}, agent_side | {(T, "queue", "q1")}),
            (
                ev.CallRefused,
                {"call": f"{call}r", "queue": "q1", "reason": "full"},
                {(T, "queue", "q1")},
            ),
        ):
            ts += 1_000
            engine.apply(e(cls, ts, **fields))
            assert engine.drain_changes() >= named, (call, cls.__name__)


def test_a_change_of_an_agents_queues_names_those_queues_and_their_groups() -> None:
    engine = _library_engine()
    engine.set_objects(T, ObjectConfig(queue_groups={"g": QueueGroupConfig(queues=("q1",))}))
    engine.open(T, "queue", "q1", "queue.agents_logged_in")
    engine.open(T, "queue", "q2", "queue.entered")
    engine.open(T, "queue", "q3", "queue.entered")
    engine.open(T, "queue_group", "g", "queue_group.agents_logged_in")
    engine.open(T, "tenant", T, "tenant.agents_logged_in")
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a", queues=("q1", "q3")))
    engine.drain_changes()
    engine.apply(e(ev.AgentQueuesChanged, BASE + 1, agent="a", queues=("q2", "q3")))
    # q1 (and its group) lost the agent, q2 gained it; q3 and the tenant are as they were.
    assert engine.drain_changes() == {
        (T, "queue", "q1"),
        (T, "queue", "q2"),
        (T, "queue_group", "g"),
    }
    assert engine.value(T, "queue", "q1", "queue.agents_logged_in", BASE + 2) == 0
    assert engine.value(T, "queue_group", "g", "queue_group.agents_logged_in", BASE + 2) == 0
    assert engine.value(T, "tenant", T, "tenant.agents_logged_in", BASE + 2) == 1


def test_a_queue_gaining_an_agent_is_named_in_every_drain_period() -> None:
    """A queue's objects are named for a change of its agents once per drain period, however
    they were named before (by a contact entering the queue, or by another agent joining)."""
    engine = _library_engine()
    engine.open(T, "queue", "q1", "queue.agents_logged_in")
    engine.open(T, "queue", "q1", "queue.entered")
    e = Events()
    engine.apply(e(ev.CallQueued, BASE, call="c", queue="q1"))
    engine.apply(e(ev.AgentLogin, BASE, agent="a", queues=("q1",)))
    assert engine.drain_changes() == {(T, "queue", "q1")}
    engine.apply(e(ev.AgentLogin, BASE + 1, agent="b", queues=("q1",)))
    assert engine.drain_changes() == {(T, "queue", "q1")}
    engine.apply(e(ev.AgentQueuesChanged, BASE + 2, agent="a", queues=()))
    assert engine.drain_changes() == {(T, "queue", "q1")}
    assert engine.value(T, "queue", "q1", "queue.agents_logged_in", BASE + 3) == 1


def test_agents_status_changes_name_their_queues_also_after_a_change_of_queues() -> None:
    engine = _library_engine()
    engine.open(T, "queue", "q1", "queue.agents_ready")
    engine.open(T, "queue", "q2", "queue.agents_ready")
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a", queues=("q1",)))
    engine.drain_changes()
    engine.apply(e(ev.AgentReady, BASE + 1, agent="a"))
    assert engine.drain_changes() == {(T, "queue", "q1")}
    engine.apply(e(ev.AgentQueuesChanged, BASE + 2, agent="a", queues=("q2",)))
    engine.drain_changes()
    engine.apply(e(ev.AgentNotReady, BASE + 3, agent="a", reason="break"))
    assert engine.drain_changes() == {(T, "queue", "q2")}
    assert engine.value(T, "queue", "q2", "queue.agents_ready", BASE + 4) == 0


def test_do_not_disturb_shows_on_the_agent_status_and_names_the_agent_as_changed() -> None:
    engine = _library_engine()
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a"))
    engine.open(T, "agent", "a", "agent.status")  # (after the login: the agent is routed anew)
    engine.drain_changes()
    for ts, cls, on in ((BASE + 1, ev.AgentDndOn, True), (BASE + 2, ev.AgentDndOff, False)):
        engine.apply(e(cls, ts, agent="a"))
        assert engine.drain_changes() == {(T, "agent", "a")}
        status = engine.value(T, "agent", "a", "agent.status", ts)
        assert isinstance(status, AgentStatusValue)
        assert status.dnd is on
    engine.apply(e(ev.AgentDndOff, BASE + 3, agent="a"))  # (no change: nothing to report)
    assert engine.drain_changes() == set()


def test_accumulators_opened_on_an_agent_between_its_changes_receive_the_next() -> None:
    """The agent's own accumulators are kept on its media state with its status route
    (``MediaState.own``, ``own_actions``): one opened after the agent's statuses began
    changing must get the next change or action all the same."""
    engine = _library_engine()
    e = Events()
    engine.open(T, "agent", "a", "agent.talk_time")
    engine.apply(e(ev.AgentLogin, BASE, agent="a"))
    engine.apply(e(ev.AgentReady, BASE + 1_000, agent="a"))
    engine.open(T, "agent", "a", "agent.not_ready_time_last_15_min")  # (a new accumulator)
    engine.apply(e(ev.AgentNotReady, BASE + 5_000, agent="a", reason="break"))
    engine.apply(e(ev.AgentReady, BASE + 9_000, agent="a"))
    now = BASE + 10_000
    assert engine.value(T, "agent", "a", "agent.not_ready_time_last_15_min", now) == 4_000
    engine.apply(e(ev.CallRinging, BASE + 11_000, call="c", agent="a"))
    engine.apply(e(ev.CallEstablished, BASE + 12_000, call="c", agent="a"))
    # Opened while the agent talks: the release reaches it before any status change does.
    engine.open(T, "agent", "a", "agent.calls_handled")
    engine.apply(e(ev.CallReleased, BASE + 15_000, call="c", agent="a"))
    assert engine.value(T, "agent", "a", "agent.talk_time", BASE + 16_000) == 3_000
    assert engine.value(T, "agent", "a", "agent.calls_handled", BASE + 16_000) == 1


def test_a_queue_no_longer_counting_agents_is_not_named_by_their_status_changes() -> None:
    engine = _library_engine()
    engine.open(T, "queue", "q1", "queue.agents_ready")
    engine.open(T, "queue", "q1", "queue.entered")
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a", queues=("q1",)))
    engine.drain_changes()
    engine.close(T, "queue", "q1", "queue.agents_ready")
    engine.apply(e(ev.AgentReady, BASE + 1, agent="a"))
    assert engine.drain_changes() == set()
    engine.open(T, "queue", "q1", "queue.agents_ready")
    engine.apply(e(ev.AgentNotReady, BASE + 2, agent="a", reason="break"))
    assert engine.drain_changes() == {(T, "queue", "q1")}


def test_close_releases_and_reopen_starts_fresh() -> None:
    engine = _library_engine()
    engine.open(T, "queue", "q", "queue.asa")
    engine.open(T, "queue", "q", "queue.answered")
    e = Events()
    engine.apply(e(ev.CallQueued, BASE, call="c", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 4_000, call="c", agent="a"))
    engine.close(T, "queue", "q", "queue.asa")
    assert engine.value(T, "queue", "q", "queue.answered", BASE + 5_000) == 1  # shared tally kept
    engine.close(T, "queue", "q", "queue.answered")
    assert engine.opened() == []
    with pytest.raises(NotFound):
        engine.close(T, "queue", "q", "queue.answered")


def test_closing_a_statistic_unsubscribes_its_accumulator_from_every_fact() -> None:
    """A closed statistic's accumulator is fed no more: none of its object's subscriptions (by
    media, then kind of fact or status) still holds it — an engine that runs for months sees
    statistics opened and closed as wallboards come and go."""
    engine = _library_engine()
    kept = ("agent.calls_handled", "agent.talk_time", "agent.not_ready_time_last_15_min")
    closed = (
        "agent.transfers",
        "agent.holds",
        "agent.average_talk_time",
        "agent.chats_handled",
    )
    closed += ("agent.not_ready_time_by_reason",)
    for stat_id in kept + closed:
        engine.open(T, "agent", "a", stat_id)
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a"))
    engine.apply(e(ev.AgentReady, BASE + 1_000, agent="a"))
    for stat_id in closed:
        engine.close(T, "agent", "a", stat_id)
    node = engine._nodes[(T, "agent", "a")]
    live = {id(sub.tally) for sub in node.tallies.values()}
    subscribed = [sub for by_kind in node.actions.values() for subs in by_kind for sub in subs]
    subscribed += [s for by_status in node.statuses.values() for v in by_status.values() for s in v]
    subscribed += [sub for subs in node.times.values() for sub in subs]
    assert subscribed
    assert {id(sub.tally) for sub in subscribed} == live
    engine.apply(e(ev.CallEstablished, BASE + 2_000, call="c", agent="a"))
    engine.apply(e(ev.CallReleased, BASE + 5_000, call="c", agent="a"))
    assert engine.value(T, "agent", "a", "agent.calls_handled", BASE + 6_000) == 1
    assert engine.value(T, "agent", "a", "agent.talk_time", BASE + 6_000) == 3_000


def test_statistics_opened_while_calls_wait_or_talk_receive_their_outcomes() -> None:
    """A contact keeps the routes of the queue it waits in and of the one that answered it; a
    statistic opened on the queue in the meantime must still receive the answer and release."""
    engine = _library_engine()
    e = Events()
    engine.apply(e(ev.CallQueued, BASE, call="c1", queue="q"))
    engine.apply(e(ev.CallQueued, BASE + 1, call="c2", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 1_000, call="c2", agent="b", queue="q"))
    engine.open(T, "queue", "q", "queue.answered")
    engine.open(T, "queue", "q", "queue.handled")
    engine.apply(e(ev.CallEstablished, BASE + 2_000, call="c1", agent="a", queue="q"))
    engine.apply(e(ev.CallReleased, BASE + 3_000, call="c2", agent="b"))
    engine.apply(e(ev.CallReleased, BASE + 4_000, call="c1", agent="a"))
    now = BASE + 5_000
    assert engine.value(T, "queue", "q", "queue.answered", now) == 1  # c1: answered after the open
    assert engine.value(T, "queue", "q", "queue.handled", now) == 2


def _fresh(text: str) -> str:
    """A copy of ``text`` that is a string object of its own (as each decoded event's are)."""
    return "".join(list(text))


def test_an_agent_or_contact_is_keyed_everywhere_by_its_own_id_object() -> None:
    # Every event names an agent or contact by a string of its own. The engine keys what it
    # enters them in (a call's legs, the contacts of the agent's media, the queue's contents)
    # with the object that keys them in the tenant's state (``.id``): a lookup with that is
    # found by identity, one with an event's copy compares with a string already read.
    engine = _library_engine()
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent=_fresh("a1"), queues=[_fresh("q1")]))
    engine.apply(e(ev.CallQueued, BASE + 1_000, call=_fresh("c1"), queue=_fresh("q1")))
    engine.apply(e(ev.CallRinging, BASE + 2_000, call=_fresh("c1"), agent=_fresh("a1")))
    engine.apply(e(ev.CallEstablished, BASE + 3_000, call=_fresh("c1"), agent=_fresh("a1")))
    state = engine._tenants[T]
    ((agent_key, agent),) = state.agents.items()
    ((call_key, call),) = state.calls.items()
    assert agent.id is agent_key
    assert call.id is call_key
    assert [key is agent_key for key in call.legs] == [True]
    voice = agent.voice
    assert voice is not None
    assert [key is call_key for key in voice.contacts] == [True]
    contents = state.queues["queue"]["q1"]["voice"]
    assert [key is call_key for key in contents.in_progress] == [True]
    engine.apply(e(ev.CallReleased, BASE + 9_000, call=_fresh("c1"), agent=_fresh("a1")))
    assert not state.calls
    assert not voice.contacts
    assert not contents.in_progress
    restored = StatisticsEngine.restore(engine.snapshot(), standard_library())._tenants[T]
    assert all(agent.id is key for key, agent in restored.agents.items())


def test_a_damaged_snapshot_is_refused_with_what_is_wrong() -> None:
    engine = _library_engine()
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a1"))
    engine.open(T, "agent", "a1", "agent.login_time")
    engine.open(T, "agent", "a1", "agent.calls_handled")
    snapshot = msgspec.msgpack.decode(engine.snapshot())
    assert {record[4] for record in snapshot["tallies"]} == {"action", "times"}
    restored = StatisticsEngine.restore(msgspec.msgpack.encode(snapshot), standard_library())
    assert restored.value(T, "agent", "a1", "agent.login_time", BASE + 5_000) == 5_000

    with pytest.raises(InvalidInput, match="not an engine snapshot"):
        StatisticsEngine.restore(b"\x93garbage", standard_library())
    unknown = msgspec.msgpack.decode(engine.snapshot())
    unknown["tallies"][0][4] = "abacus"
    with pytest.raises(InvalidInput, match="unknown accumulator kind 'abacus'"):
        StatisticsEngine.restore(msgspec.msgpack.encode(unknown), standard_library())
    short = msgspec.msgpack.decode(engine.snapshot())
    short["tallies"][0][5] = short["tallies"][0][5][:1]
    with pytest.raises(
        InvalidInput, match=r"accumulator state .* does not fit: 1 fields where \d+ are kept"
    ):
        StatisticsEngine.restore(msgspec.msgpack.encode(short), standard_library())
    cells = msgspec.msgpack.decode(engine.snapshot())
    action = next(record for record in cells["tallies"] if record[4] == "action")
    action[5][4] = action[5][4][:-1]  # the cells of an action tally, one value short
    with pytest.raises(InvalidInput, match=r"a tally of \d+ x 5 has \d+ values"):
        StatisticsEngine.restore(msgspec.msgpack.encode(cells), standard_library())
    times = next(record for record in cells["tallies"] if record[4] == "times")
    times[5][2] = times[5][2] + [0]  # time per status, one status too many
    action[5][4] = action[5][4] + [0]
    with pytest.raises(InvalidInput, match=r"status times hold 8 values, not 9"):
        StatisticsEngine.restore(msgspec.msgpack.encode(cells), standard_library())
    agent = msgspec.msgpack.decode(engine.snapshot())
    agent["tenants"][T]["agents"]["a1"] = agent["tenants"][T]["agents"]["a1"][:3]
    with pytest.raises(InvalidInput, match=r"not an engine snapshot: .*agents"):
        StatisticsEngine.restore(msgspec.msgpack.encode(agent), standard_library())
    engine.apply(e(ev.CallQueued, BASE + 1_000, call="c1", queue="q1"))
    queued = msgspec.msgpack.decode(engine.snapshot())
    voice = queued["tenants"][T]["queues"]["queue"]["q1"]["voice"]
    assert voice == {"waiting": {"c1": BASE + 1_000}, "in_progress": {}}
    voice["lost"] = {}
    with pytest.raises(InvalidInput, match=r"not an engine snapshot: a queue's contents hold"):
        StatisticsEngine.restore(msgspec.msgpack.encode(queued), standard_library())
    del voice["lost"]
    voice["waiting"]["c1"] = "soon"
    with pytest.raises(InvalidInput, match=r"a queue's waiting must map contact ids to instants"):
        StatisticsEngine.restore(msgspec.msgpack.encode(queued), standard_library())
    older = msgspec.msgpack.decode(engine.snapshot())
    older["version"] -= 1
    with pytest.raises(InvalidInput, match=r"snapshot version \d+ is not \d+"):
        StatisticsEngine.restore(msgspec.msgpack.encode(older), standard_library())


# --- one meaning under one name ------------------------------------------------------------------


def test_every_percentage_of_the_standard_library_is_0_to_100_and_no_duplicates() -> None:
    from wallboard.stats.definitions import Category

    library = standard_library()
    # Not a fraction shown as a percentage…
    assert not [
        d.id for d in library if d.category is Category.RATIO and d.format.value == "percent"
    ]
    # … and no two queue statistics computing the same value under two names.
    seen: dict[str, str] = {}
    for d in library:
        if d.object.value in ("agent", "agent_group") or d.id.startswith("tenant.agents_"):
            continue  # (the queues' and the tenant's contact statistics)
        key = msgspec.json.encode(msgspec.structs.replace(d, id="x", description="")).decode()
        assert key not in seen, (seen.get(key), d.id)
        seen[key] = d.id
    assert "queue.answered_within_threshold_pct" not in library
    engine = _library_engine()
    e = Events()
    for stat in ("queue.abandon_rate", "queue.qos"):
        engine.open(T, "queue", "q", stat)
    for index in range(4):
        engine.apply(e(ev.CallQueued, BASE + index, call=f"c{index}", queue="q"))
    engine.apply(e(ev.CallAbandoned, BASE + 10_000, call="c0", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 10_000, call="c1", agent="a", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 30_000, call="c2", agent="b", queue="q"))
    now = BASE + 40_000
    assert engine.value(T, "queue", "q", "queue.abandon_rate", now) == 25.0  # 1 of 4, in %
    assert engine.value(T, "queue", "q", "queue.qos", now) == 50.0  # 1 of 2 within 20 s


def test_average_handle_time_is_talk_hold_and_after_call_work_on_every_object() -> None:
    engine = _library_engine()
    stats = {
        "queue": ("queue.aht", "queue.average_talk_time", "queue.acw_time", "queue.handle_time"),
        "agent": ("agent.aht", "agent.average_talk_time"),
        "agent_group": ("group.aht", "group.average_talk_time"),
        "tenant": ("tenant.aht", "tenant.average_talk_time"),
    }
    engine.set_objects(T, ObjectConfig(agent_groups={"g": GroupConfig(agents=("a",))}))
    ids = {"queue": ("q", "q2"), "agent": ("a",), "agent_group": ("g",), "tenant": (T,)}
    for object_type, stat_ids in stats.items():
        for object_id in ids[object_type]:
            for stat in stat_ids:
                engine.open(T, object_type, object_id, stat)
    e = Events()
    engine.apply(e(ev.AgentLogin, BASE, agent="a"))
    engine.apply(e(ev.AgentReady, BASE, agent="a"))
    # Call 1 from q: 60 s talk (10 s of it on hold), then 30 s after-call work begun at the
    # release.
    engine.apply(e(ev.CallQueued, BASE + 1_000, call="c1", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 5_000, call="c1", agent="a", queue="q"))
    engine.apply(e(ev.CallHeld, BASE + 20_000, call="c1", agent="a"))
    engine.apply(e(ev.CallRetrieved, BASE + 30_000, call="c1", agent="a"))
    engine.apply(e(ev.CallReleased, BASE + 65_000, call="c1", agent="a"))
    engine.apply(e(ev.AgentAfterCallWork, BASE + 65_000, agent="a"))
    during = BASE + 80_000  # the after-call work counts for the queue when it ends
    assert engine.value(T, "queue", "q", "queue.acw_time", during) == 0
    engine.apply(e(ev.AgentReady, BASE + 95_000, agent="a"))
    # Call 2 from q: 20 s talk; the agent goes ready, then into after-call work 5 s later
    # without naming the call: that is no queue's.
    engine.apply(e(ev.CallQueued, BASE + 100_000, call="c2", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 100_000, call="c2", agent="a", queue="q"))
    engine.apply(e(ev.CallReleased, BASE + 120_000, call="c2", agent="a"))
    engine.apply(e(ev.AgentAfterCallWork, BASE + 125_000, agent="a"))
    engine.apply(e(ev.AgentReady, BASE + 135_000, agent="a"))
    # Call 3 from q2: 10 s talk, after-call work reported 2 s after the release naming the
    # call: q2's (12 s, up to the next call).
    engine.apply(e(ev.CallQueued, BASE + 140_000, call="c3", queue="q2"))
    engine.apply(e(ev.CallEstablished, BASE + 140_000, call="c3", agent="a", queue="q2"))
    engine.apply(e(ev.CallReleased, BASE + 150_000, call="c3", agent="a"))
    engine.apply(e(ev.AgentAfterCallWork, BASE + 152_000, agent="a", call="c3"))
    engine.apply(e(ev.CallRinging, BASE + 164_000, call="c4", agent="a", direction="outbound"))
    engine.apply(e(ev.CallReleased, BASE + 165_000, call="c4", agent="a"))
    now = BASE + 170_000

    def value(object_type: str, object_id: str, stat: str) -> object:
        return engine.value(T, object_type, object_id, stat, now)

    assert value("queue", "q", "queue.average_talk_time") == (60_000 + 20_000) / 2
    assert value("queue", "q", "queue.acw_time") == 30_000
    assert value("queue", "q", "queue.handle_time") == 110_000
    assert value("queue", "q", "queue.aht") == 55_000
    assert value("queue", "q2", "queue.acw_time") == 12_000
    assert value("queue", "q2", "queue.aht") == 22_000
    assert value("tenant", T, "tenant.aht") == (110_000 + 22_000) / 3
    assert value("tenant", T, "tenant.average_talk_time") == 30_000
    # The agent's after-call work is all of its acw time: 30 + 10 + 12 s, and 5 s since the
    # outbound call (the agent is back in after-call work).
    assert value("agent", "a", "agent.aht") == (90_000 + 57_000) / 3
    assert value("agent_group", "g", "group.aht") == (90_000 + 57_000) / 3
    assert value("agent", "a", "agent.average_talk_time") == 30_000
    assert value("agent_group", "g", "group.average_talk_time") == 30_000


def test_the_tenant_counts_a_transferred_call_once_and_each_leg_under_legs() -> None:
    engine = _library_engine()
    contact_stats = ("entered", "answered", "abandoned", "asa", "service_level")
    for stat in contact_stats:
        engine.open(T, "tenant", T, f"tenant.{stat}")
        engine.open(T, "tenant", T, f"tenant.legs_{stat}")
    e = Events()
    # c1 waits 10 s in q, is answered, then transferred into q2 where it waits 30 s more.
    engine.apply(e(ev.CallQueued, BASE, call="c1", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 10_000, call="c1", agent="a", queue="q"))
    engine.apply(e(ev.CallTransferred, BASE + 20_000, call="c1", agent="a", target="q2"))
    engine.apply(e(ev.CallReleased, BASE + 20_000, call="c1", agent="a"))
    engine.apply(e(ev.CallQueued, BASE + 20_000, call="c1", queue="q2"))
    engine.apply(e(ev.CallEstablished, BASE + 50_000, call="c1", agent="b", queue="q2"))
    # c2 overflows from q to q2 after 15 s and is answered there 15 s later: 30 s in all.
    engine.apply(e(ev.CallQueued, BASE + 60_000, call="c2", queue="q"))
    engine.apply(e(ev.CallQueued, BASE + 75_000, call="c2", queue="q2"))
    engine.apply(e(ev.CallEstablished, BASE + 90_000, call="c2", agent="c", queue="q2"))
    # c3 is answered, transferred back into q and hung up there: answered, not abandoned.
    engine.apply(e(ev.CallQueued, BASE + 100_000, call="c3", queue="q"))
    engine.apply(e(ev.CallEstablished, BASE + 105_000, call="c3", agent="d", queue="q"))
    engine.apply(e(ev.CallTransferred, BASE + 110_000, call="c3", agent="d", target="q"))
    engine.apply(e(ev.CallReleased, BASE + 110_000, call="c3", agent="d"))
    engine.apply(e(ev.CallQueued, BASE + 110_000, call="c3", queue="q"))
    engine.apply(e(ev.CallAbandoned, BASE + 112_000, call="c3", queue="q"))
    now = BASE + 120_000

    def value(stat: str) -> object:
        return engine.value(T, "tenant", T, stat, now)

    assert value("tenant.entered") == 3
    assert value("tenant.legs_entered") == 6
    assert value("tenant.answered") == 3
    assert value("tenant.legs_answered") == 4
    assert value("tenant.abandoned") == 0
    assert value("tenant.legs_abandoned") == 1
    assert value("tenant.asa") == (10_000 + 30_000 + 5_000) / 3
    assert value("tenant.legs_asa") == (10_000 + 30_000 + 15_000 + 5_000) / 4
    # Within 20 s: c1 and c3 of 3 calls. Of the legs: answered within, c1's first, c2's in q2
    # and c3's first; abandoned within, c3's second; past 20 s, c1's second (c2's diversion
    # from q within 20 s is no service-level event): 3 of 5.
    assert value("tenant.service_level") == pytest.approx(200 / 3)
    assert value("tenant.legs_service_level") == pytest.approx(60.0)
    # A snapshot keeps what the contacts count needs.
    restored = StatisticsEngine.restore(engine.snapshot(), standard_library())
    engine.apply(e(ev.CallQueued, BASE + 121_000, call="c3", queue="q2"))
    restored.apply(e(ev.CallQueued, BASE + 121_000, call="c3", queue="q2"))
    for stat in contact_stats:
        assert restored.value(T, "tenant", T, f"tenant.{stat}", now + 2_000) == engine.value(
            T, "tenant", T, f"tenant.{stat}", now + 2_000
        )
