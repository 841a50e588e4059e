"""Refusals by reason, diversions by cause and platform-reported durations, worked by hand."""

from __future__ import annotations

from typing import Any

from test_stats_units import BASE, Events, T

from wallboard.core import events as ev
from wallboard.core.codec import decode
from wallboard.stats import (
    ObjectConfig,
    QueueConfig,
    StatisticsEngine,
    decode_definitions,
    standard_library,
)


def _queue_stat(stat_id: str, mask: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": stat_id,
        "object": "queue",
        "category": "TotalNumber",
        "mask": mask,
        "profile": {"kind": "ever"},
        **extra,
    }


DEFINITIONS = decode_definitions(
    [
        _queue_stat("q.refused", ["refused"]),
        _queue_stat("q.closed", ["refused"], filter={"refusal_reasons": ["closed"]}),
        _queue_stat("q.saturated", ["refused"], filter={"refusal_reasons": ["full", "join_empty"]}),
        _queue_stat(
            "q.received_open",
            ["entered", "refused"],
            filter={"refusal_reasons": ["full", "join_empty", "join_unavailable"]},
        ),
        _queue_stat(
            "q.on_load",
            ["diverted"],
            filter={"diversion_causes": ["calls_per_agent", "expected_wait"]},
        ),
        _queue_stat("q.routed", ["diverted"], filter={"diversion_causes": ["routed"]}),
        _queue_stat("q.timeout", ["diverted"], filter={"diversion_causes": ["timeout"]}),
        _queue_stat(
            "q.refused_sales",
            ["refused"],
            filter={"skill": "sales", "direction": ["inbound"]},
        ),
        {**_queue_stat("q.asa", ["answered"]), "category": "AverageTime"},
        {
            **_queue_stat("q.asa_reported", ["answered"]),
            "category": "AverageTime",
            "durations": "reported",
        },
        {
            **_queue_stat("q.abandon_wait_reported", ["abandoned"]),
            "category": "TotalTime",
            "durations": "reported",
        },
        {**_queue_stat("q.talk", ["released"]), "category": "TotalTime"},
        {
            **_queue_stat("q.talk_reported", ["released"]),
            "category": "TotalTime",
            "durations": "reported",
        },
        {
            **_queue_stat("q.sl_reported", ["answered"]),
            "category": "ServiceFactor",
            "durations": "reported",
            "service_level": {"type": "answered_only", "threshold_s": 20},
        },
        {
            "id": "a.ring_reported",
            "object": "agent",
            "category": "MaxTime",
            "mask": ["answered"],
            "profile": {"kind": "ever"},
            "durations": "reported",
        },
        {
            "id": "a.hold_reported",
            "object": "agent",
            "category": "TotalTime",
            "mask": ["hold"],
            "profile": {"kind": "ever"},
            "durations": "reported",
        },
    ]
)


def _engine() -> StatisticsEngine:
    engine = StatisticsEngine(DEFINITIONS)
    engine.set_objects(T, ObjectConfig(queues={"q": QueueConfig(skill="sales")}), ts_ms=0)
    for d in DEFINITIONS:
        engine.open(T, d.object.value, "a1" if d.object.value == "agent" else "q", d.id)
    return engine


def _values(engine: StatisticsEngine, now: int) -> dict[str, Any]:
    return {
        d.id: engine.value(T, d.object.value, "a1" if d.object.value == "agent" else "q", d.id, now)
        for d in DEFINITIONS
    }


def test_refusals_and_diversions_count_by_reason_and_cause() -> None:
    e = Events()
    s = 1000
    engine = _engine()
    engine.apply_many(
        [
            e(ev.CallRefused, BASE, call="c1", queue="q", reason=ev.RefusalReason.CLOSED),
            e(ev.CallRefused, BASE + s, call="c2", queue="q", reason=ev.RefusalReason.FULL),
            e(
                ev.CallRefused,
                BASE + 2 * s,
                call="c3",
                queue="q",
                reason=ev.RefusalReason.JOIN_EMPTY,
            ),
            e(ev.CallRefused, BASE + 3 * s, call="c4", queue="q", reason=ev.RefusalReason.CLOSED),
            # Diverted on entry because of the load: it entered, then was sent on at once.
            e(ev.CallQueued, BASE + 4 * s, call="c5", queue="q"),
            e(
                ev.CallDiverted,
                BASE + 4 * s,
                call="c5",
                queue="q",
                target="elsewhere",
                cause=ev.DiversionCause.CALLS_PER_AGENT,
            ),
            e(ev.CallQueued, BASE + 5 * s, call="c6", queue="q"),
            e(
                ev.CallDiverted,
                BASE + 35 * s,
                call="c6",
                queue="q",
                target="timeout",
                cause=ev.DiversionCause.TIMEOUT,
                wait_ms=30_000,
            ),
            # Moved on to another queue: a diversion of cause "routed" from q.
            e(ev.CallQueued, BASE + 40 * s, call="c7", queue="q"),
            e(ev.CallQueued, BASE + 41 * s, call="c7", queue="other"),
            # A diversion whose cause is not said matches no cause.
            e(ev.CallQueued, BASE + 50 * s, call="c8", queue="q"),
            e(ev.CallDiverted, BASE + 51 * s, call="c8", queue="q", target="x"),
        ]
    )
    got = _values(engine, BASE + 60 * s)
    assert got["q.refused"] == 4
    assert got["q.closed"] == 2
    assert got["q.saturated"] == 2
    # Received without the closed hours: 4 entries + full + join_empty.
    assert got["q.received_open"] == 6
    assert got["q.on_load"] == 1
    assert got["q.timeout"] == 1
    assert got["q.routed"] == 1
    # Refused calls the engine never saw are inbound, with the queue's configured skill.
    assert got["q.refused_sales"] == 4


def test_reported_durations_replace_measured_ones_where_the_event_has_them() -> None:
    e = Events()
    s = 1000
    engine = _engine()
    engine.apply_many(
        [
            e(ev.AgentLogin, BASE, agent="a1"),
            e(ev.CallQueued, BASE + 10 * s, call="c1", queue="q"),
            e(ev.CallRinging, BASE + 18 * s, call="c1", agent="a1", queue="q"),
            # Measured: 10 s of wait and 2 s of ring; the platform says 12 s and 3 s.
            e(
                ev.CallEstablished,
                BASE + 20 * s,
                call="c1",
                agent="a1",
                queue="q",
                wait_ms=12_000,
                ring_ms=3_000,
            ),
            e(ev.CallHeld, BASE + 30 * s, call="c1", agent="a1"),
            e(ev.CallRetrieved, BASE + 35 * s, call="c1", agent="a1"),
            e(ev.CallReleased, BASE + 80 * s, call="c1", agent="a1", queue="q", talk_ms=61_000),
            # No durations reported: measured ones count (a wait of 30 s, over the threshold).
            e(ev.CallQueued, BASE + 100 * s, call="c2", queue="q"),
            e(ev.CallEstablished, BASE + 130 * s, call="c2", agent="a1", queue="q"),
            e(ev.CallReleased, BASE + 140 * s, call="c2", agent="a1", queue="q"),
            e(ev.CallQueued, BASE + 200 * s, call="c3", queue="q"),
            e(ev.CallAbandoned, BASE + 205 * s, call="c3", queue="q", wait_ms=7_000),
            e(ev.CallQueued, BASE + 300 * s, call="c4", queue="q"),
            e(ev.CallAbandoned, BASE + 304 * s, call="c4", queue="q"),
        ]
    )
    got = _values(engine, BASE + 400 * s)
    assert got["q.asa"] == (10_000 + 30_000) / 2
    assert got["q.asa_reported"] == (12_000 + 30_000) / 2
    assert got["q.abandon_wait_reported"] == 7_000 + 4_000
    assert got["q.talk"] == 60_000 + 10_000
    assert got["q.talk_reported"] == 61_000 + 10_000
    assert got["q.sl_reported"] == 50.0  # 12 s within 20 s, 30 s not
    assert got["a.ring_reported"] == 3_000
    # A hold has no reported duration: the talk time reported on the release is not it.
    assert got["a.hold_reported"] == 5_000


def test_a_snapshot_keeps_the_cause_of_a_waiting_call() -> None:
    e = Events()
    engine = _engine()
    engine.apply_many(
        [
            e(ev.CallRefused, BASE, call="c1", queue="other", reason=ev.RefusalReason.FULL),
            e(ev.CallQueued, BASE + 1, call="c1", queue="q"),
        ]
    )
    restored = StatisticsEngine.restore(engine.snapshot(), DEFINITIONS)
    assert restored._tenants[T].calls["c1"].cause is None
    engine.apply(e(ev.CallQueued, BASE + 2, call="c9", queue="q"))
    engine.apply(e(ev.CallRefused, BASE + 3, call="c9", queue="x", reason=ev.RefusalReason.CLOSED))
    restored = StatisticsEngine.restore(engine.snapshot(), DEFINITIONS)
    assert restored._tenants[T].calls["c9"].cause == "closed"


def test_events_without_the_new_fields_decode_as_before() -> None:
    old = (
        b'{"type":"call.diverted","tenant":"t","source":"s","seq":1,"id":"e1","ts":1,'
        b'"call":"c","queue":"q","target":"x"}'
    )
    event = decode(old)
    assert isinstance(event, ev.CallDiverted)
    assert event.cause is None
    assert event.wait_ms is None
    released = decode(
        b'{"type":"call.released","tenant":"t","source":"s","seq":2,"id":"e2","ts":2,"call":"c"}'
    )
    assert isinstance(released, ev.CallReleased)
    assert released.talk_ms is None


def test_the_standard_library_separates_closed_from_saturated() -> None:
    library = standard_library()
    engine = StatisticsEngine(library)
    for stat_id in (
        "queue.refused_closed",
        "queue.refused_full",
        "queue.refused_no_agents",
        "queue.diverted_on_load",
        "queue.offered",
    ):
        engine.open(T, "queue", "q", stat_id)
    e = Events()
    engine.apply_many(
        [
            e(ev.CallRefused, BASE, call="c1", queue="q", reason=ev.RefusalReason.CLOSED),
            e(ev.CallRefused, BASE + 1, call="c2", queue="q", reason=ev.RefusalReason.FULL),
            e(
                ev.CallRefused,
                BASE + 2,
                call="c3",
                queue="q",
                reason=ev.RefusalReason.JOIN_UNAVAILABLE,
            ),
            e(ev.CallQueued, BASE + 3, call="c4", queue="q"),
            e(
                ev.CallDiverted,
                BASE + 3,
                call="c4",
                queue="q",
                target="x",
                cause=ev.DiversionCause.EXPECTED_WAIT,
            ),
        ]
    )
    now = BASE + 10
    assert engine.value(T, "queue", "q", "queue.refused_closed", now) == 1
    assert engine.value(T, "queue", "q", "queue.refused_full", now) == 1
    assert engine.value(T, "queue", "q", "queue.refused_no_agents", now) == 1
    assert engine.value(T, "queue", "q", "queue.diverted_on_load", now) == 1
    assert engine.value(T, "queue", "q", "queue.offered", now) == 4
