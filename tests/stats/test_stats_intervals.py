"""Intervals attributed by entry: late outcomes count in the interval the contact entered in,
within the statistic's grace, and a read can address a closed interval's final value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wallboard.core import events as ev
from wallboard.core.errors import InvalidInput
from wallboard.stats import StatisticsEngine, decode_definitions

T = "t"


def _ms(hhmmss: str) -> int:
    """An instant of 2024-03-04 (UTC) in ms; ``hh:mm:ss[.fff]``."""
    return int(datetime.fromisoformat(f"2024-03-04T{hhmmss}+00:00").timestamp() * 1000)


class Events:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, cls: type[ev.Event], ts: int, **fields: Any) -> ev.Event:
        self.n += 1
        return cls(tenant=T, source="s", seq=self.n, id=f"e{self.n}", ts=ts, **fields)


def _definitions(**extra: Any) -> list[dict[str, Any]]:
    hourly = {"kind": "selection", "interval_min": 60}
    by_entry = {"profile": hourly, "attribution": "entered", **extra}
    return [
        {"id": "q.entered", "object": "queue", "category": "TotalNumber", "mask": ["entered"],
         **by_entry},
        {"id": "q.abandoned", "object": "queue", "category": "TotalNumber",
         "mask": ["abandoned"], **by_entry},
        {"id": "q.answered", "object": "queue", "category": "TotalNumber", "mask": ["answered"],
         **by_entry},
        {"id": "q.asa", "object": "queue", "category": "AverageTime", "mask": ["answered"],
         **by_entry},
        {"id": "q.sl", "object": "queue", "category": "ServiceFactor", "mask": ["answered"],
         "service_level": {"threshold_s": 20}, **by_entry},
        {"id": "q.abandoned_now", "object": "queue", "category": "TotalNumber",
         "mask": ["abandoned"], "profile": hourly},
        {"id": "a.not_ready", "object": "agent", "category": "TotalTime",
         "mask": ["not_ready"], "profile": hourly},
    ]  # fmt: skip


def _engine(**extra: Any) -> StatisticsEngine:
    engine = StatisticsEngine(decode_definitions(_definitions(**extra)))
    for definition in engine.definitions:
        object_id = "q" if definition.object.value == "queue" else "a"
        engine.open(T, definition.object.value, object_id, definition.id)
    return engine


def _calls(e: Events) -> list[ev.Event]:
    """c1 enters at 08:59:59 and is abandoned at 09:00:30; c2 enters at 08:40 and is answered
    at 09:05 (25 min wait); c3 enters and is answered between 09:00 and 10:00."""
    return [
        e(ev.CallQueued, _ms("08:40:00"), call="c2", queue="q"),
        e(ev.CallQueued, _ms("08:59:59"), call="c1", queue="q"),
        e(ev.CallAbandoned, _ms("09:00:30"), call="c1", queue="q"),
        e(ev.CallEstablished, _ms("09:05:00"), call="c2", agent="b", queue="q"),
        e(ev.CallQueued, _ms("09:10:00"), call="c3", queue="q"),
        e(ev.CallEstablished, _ms("09:10:10"), call="c3", agent="b", queue="q"),
    ]


def _values(engine: StatisticsEngine, stat: str, now: int) -> tuple[Any, Any]:
    return tuple(  # type: ignore[return-value]
        engine.value(T, "queue", "q", stat, now, interval_start=_ms(start))
        for start in ("08:00:00", "09:00:00")
    )


def test_a_late_outcome_counts_in_the_interval_the_call_entered_in() -> None:
    engine = _engine()
    e = Events()
    engine.apply_many(_calls(e))
    now = _ms("09:30:00")
    assert _values(engine, "q.entered", now) == (2, 1)
    assert _values(engine, "q.abandoned", now) == (1, 0)
    assert _values(engine, "q.answered", now) == (1, 1)
    assert _values(engine, "q.asa", now) == (25 * 60_000, 10_000)
    # c1 abandoned within 20 s of its entry... no: 31 s, c2 answered after 25 min: both
    # exceeded the threshold and count against the 08:00 interval; c3 within.
    assert _values(engine, "q.sl", now) == (0.0, 100.0)
    # Attributed to completion, the abandon is the 09:00 interval's.
    assert _values(engine, "q.abandoned_now", now) == (0, 1)
    # The read of the current interval is unchanged by the option.
    assert engine.value(T, "queue", "q", "q.abandoned", now) == 0
    assert engine.value(T, "queue", "q", "q.entered", now) == 1


def test_outcomes_after_the_grace_leave_the_closed_interval_final() -> None:
    engine = _engine(grace_s=600)
    e = Events()
    engine.apply_many(
        [
            e(ev.CallQueued, _ms("08:59:00"), call="c1", queue="q"),
            e(ev.CallQueued, _ms("08:59:30"), call="c2", queue="q"),
            e(ev.CallAbandoned, _ms("09:09:59.999"), call="c1", queue="q"),
            e(ev.CallAbandoned, _ms("09:10:00"), call="c2", queue="q"),
        ]
    )
    now = _ms("09:30:00")
    assert _values(engine, "q.entered", now) == (2, 0)
    assert _values(engine, "q.abandoned", now) == (1, 0), "c2 came at 09:00 + 600 s: too late"


def test_closed_intervals_kept_are_bounded_by_the_grace() -> None:
    engine = _engine(grace_s=3600)
    e = Events()
    # An entry in every hour of the day: the 08:00 interval is still held at 09:59, gone later.
    events = [
        e(ev.CallQueued, _ms(f"{hour:02d}:30:00"), call=f"c{hour}", queue="q") for hour in range(24)
    ]
    engine.apply_many(events[:10])
    assert (
        engine.value(T, "queue", "q", "q.entered", _ms("09:59:00"), interval_start=_ms("08:00:00"))
        == 1
    )
    engine.apply_many(events[10:])
    late = _ms("23:59:00")
    assert engine.value(T, "queue", "q", "q.entered", late, interval_start=_ms("08:00:00")) == 0
    sub = engine._nodes[(T, "queue", "q")].tallies
    assert max(s.tally.slots for s in sub.values() if hasattr(s.tally, "slots")) == 3


def test_status_time_of_a_closed_interval_is_read_up_to_its_end() -> None:
    engine = _engine()
    e = Events()
    engine.apply_many(
        [
            e(ev.AgentLogin, _ms("08:00:00"), agent="a"),
            e(ev.AgentReady, _ms("08:00:00"), agent="a"),
            e(ev.AgentNotReady, _ms("08:50:00"), agent="a", reason="lunch"),
        ]
    )
    hour8 = _ms("08:00:00")
    assert engine.value(T, "agent", "a", "a.not_ready", _ms("09:00:00"), interval_start=hour8) == (
        600_000
    )
    # Later reads of the closed interval still stop at its end, until the accumulator moves on.
    assert engine.value(T, "agent", "a", "a.not_ready", _ms("09:05:00"), interval_start=hour8) == (
        600_000
    )
    engine.apply(e(ev.AgentReady, _ms("09:10:00"), agent="a"))
    now = _ms("09:20:00")
    assert engine.value(T, "agent", "a", "a.not_ready", now, interval_start=hour8) is None
    assert engine.value(T, "agent", "a", "a.not_ready", now, interval_start=_ms("09:00:00")) == (
        600_000
    )


def test_snapshot_and_restore_keep_the_closed_intervals() -> None:
    e = Events()
    events = _calls(e)
    whole = _engine()
    whole.apply_many(events)
    for cut in range(len(events)):
        first = _engine()
        first.apply_many(events[:cut])
        restored = StatisticsEngine.restore(first.snapshot(), first.definitions)
        restored.apply_many(events[cut:])
        assert restored.snapshot() == whole.snapshot(), f"cut after {cut} events"
        for stat in ("q.entered", "q.abandoned", "q.sl", "q.asa"):
            now = _ms("09:30:00")
            assert _values(restored, stat, now) == _values(whole, stat, now)


def test_interval_reads_are_checked() -> None:
    engine = _engine()
    with pytest.raises(InvalidInput, match="no interval begins"):
        engine.value(T, "queue", "q", "q.entered", _ms("10:00:00"), interval_start=_ms("08:30:00"))
    with pytest.raises(InvalidInput, match="begins after"):
        engine.value(T, "queue", "q", "q.entered", _ms("08:00:00"), interval_start=_ms("09:00:00"))
    assert engine.interval_bounds(T, "q.entered", _ms("08:30:00"), _ms("10:00:00")) == [
        (_ms("08:00:00"), _ms("09:00:00")),
        (_ms("09:00:00"), _ms("10:00:00")),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"profile": {"kind": "sliding", "window_s": 900, "step_s": 60}, "grace_s": 60},
         "growing and selection"),
        ({"profile": {"kind": "selection", "interval_min": 1}, "grace_s": 7200},
         "at most 96 closed intervals"),
        ({"grace_s": 90_000}, "grace_s"),
    ],
)  # fmt: skip
def test_a_grace_out_of_bounds_is_refused(extra: dict[str, Any], message: str) -> None:
    item = {"id": "q.x", "object": "queue", "category": "TotalNumber", "mask": ["entered"]}
    with pytest.raises(InvalidInput, match=message):
        decode_definitions([{**item, **extra}])


def test_a_late_outcome_is_independent_of_the_utc_date_at_midnight() -> None:
    # 23:59:50 → 00:00:20 the next day, in a zone east of UTC: the 23:00 local interval.
    engine = StatisticsEngine(decode_definitions(_definitions()), time_zones={T: "Europe/Paris"})
    engine.open(T, "queue", "q", "q.abandoned")
    e = Events()
    entered = int(datetime(2024, 3, 4, 22, 59, 50, tzinfo=UTC).timestamp() * 1000)
    engine.apply(e(ev.CallQueued, entered, call="c", queue="q"))
    engine.apply(e(ev.CallAbandoned, entered + 30_000, call="c", queue="q"))
    hour23 = int(datetime(2024, 3, 4, 22, tzinfo=UTC).timestamp() * 1000)
    assert (
        engine.value(T, "queue", "q", "q.abandoned", entered + 60_000, interval_start=hour23) == 1
    )
