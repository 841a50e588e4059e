"""Arrival profiles: the CSV loader on the real bank excerpt, and arrivals that follow them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from wallboard.core.errors import InvalidInput
from wallboard.sim.engine import Engine
from wallboard.sim.profile import ArrivalProfile, profile_from_counts, read_counts_csv
from wallboard.sim.scenario import parse_scenario

EXCERPT = Path(__file__).parents[1] / "fixtures" / "bank_calls_excerpt.csv"


def test_reads_the_bank_excerpt() -> None:
    rows = read_counts_csv(EXCERPT)
    assert len(rows) == 338  # two days x 169 five-minute intervals
    assert rows[0] == (dt.datetime(2003, 3, 3, 7, 0, tzinfo=dt.UTC), 111)
    assert rows[-1] == (dt.datetime(2003, 3, 4, 21, 0, tzinfo=dt.UTC), 61)


def test_profile_of_one_day_and_of_the_mean() -> None:
    rows = read_counts_csv(EXCERPT)
    day = profile_from_counts(rows, date=dt.date(2003, 3, 3))
    assert day.start_ms == 7 * 3_600_000
    assert day.interval_ms == 300_000
    assert len(day.weights) == 169
    counts = [c for t, c in rows if t.date() == dt.date(2003, 3, 3)]
    mean = sum(counts) / len(counts)
    assert day.weights[0] == pytest.approx(111 / mean)
    assert sum(day.weights) / len(day.weights) == pytest.approx(1.0)
    both = profile_from_counts(rows)
    second = rows[169][1]
    assert both.weights[0] == pytest.approx((111 + second) / 2 / (sum(c for _, c in rows) / 338))
    # Outside 07:00-21:05 the bank is closed.
    assert both.weight_at(6 * 3_600_000) == 0.0
    assert both.weight_at(22 * 3_600_000) == 0.0
    assert both.weight_at(12 * 3_600_000) > 1.0  # midday is busier than the mean


def test_bad_csv_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("DateTime,Calls\n2003-03-03T07:00:00Z,12\n2003-03-03T07:05:00Z,many\n")
    with pytest.raises(InvalidInput, match=r"line 3: Calls 'many'"):
        read_counts_csv(path)
    path.write_text("DateTime,Calls\nyesterday,12\n")
    with pytest.raises(InvalidInput, match=r"line 2: DateTime 'yesterday'"):
        read_counts_csv(path)
    path.write_text("When,N\n")
    with pytest.raises(InvalidInput, match="header"):
        read_counts_csv(path)
    with pytest.raises(InvalidInput, match="no rows on"):
        profile_from_counts(read_counts_csv(EXCERPT), date=dt.date(2003, 3, 5))


def test_profile_weights_are_checked() -> None:
    with pytest.raises(InvalidInput):
        ArrivalProfile(0, 60_000, [0.0, 0.0])
    with pytest.raises(InvalidInput):
        ArrivalProfile(23 * 3_600_000, 3_600_000, [1.0, 1.0])


def test_arrivals_follow_the_profile() -> None:
    """Three days of a queue with weights 1 and 3 in two hours: none outside, 1:3 inside."""
    scenario = parse_scenario(
        {
            "name": "p",
            "start": "2026-01-05T00:00:00Z",
            "profiles": {"two": {"weights": [1, 3], "start": "09:00", "interval_minutes": 60}},
            "tenants": [
                {
                    "id": "t",
                    "queues": [
                        {
                            "id": "q",
                            "arrivals": {"per_hour": 400, "profile": "two"},
                            "handle_time": {"mean": 1},
                            "patience": {"mean": 1},
                        }
                    ],
                }
            ],
        }
    )
    engine = Engine(scenario, 7)
    engine.run_until(engine.start_ms + 3 * 86_400_000)
    engine.finish(engine.now_ms)
    hours = Counter(
        dt.datetime.fromtimestamp(r.entered_at / 1000, dt.UTC).hour for r in engine.records
    )
    assert set(hours) == {9, 10}
    # Mean weight 1 → 400/h on average: 200 in the first hour, 600 in the second, each day.
    assert hours[9] == pytest.approx(600, rel=0.15)
    assert hours[10] == pytest.approx(1800, rel=0.1)
