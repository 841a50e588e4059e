"""The ``erlang`` scenario against Erlang C: the simulator's statistics land on the formulas."""

from __future__ import annotations

import math
import statistics

import pytest

from wallboard.core.errors import InvalidInput
from wallboard.sim.builtin import erlang
from wallboard.sim.engine import Engine
from wallboard.sim.erlang import erlang_c
from wallboard.sim.groundtruth import ContactRecord

# Reference values of ../shared/design/statistics.md: 100 calls per 30 min, AHT 180 s, T = 20 s.
TABLE = {
    11: (0.682118, 0.389614, 122.7813),
    12: (0.449388, 0.640158, 40.4449),
    13: (0.285270, 0.795595, 17.1162),
    14: (0.174132, 0.888350, 7.8359),
    15: (0.102042, 0.941453, 3.6735),
    16: (0.057340, 0.970560, 1.7202),
}

BATCHES = 20
T_999_19 = 3.883  # Student's t, two-sided 99.9 %, 19 degrees of freedom
WARM_UP_HOURS = 2


@pytest.mark.parametrize("agents", sorted(TABLE))
def test_formulas_match_the_published_table(agents: int) -> None:
    result = erlang_c(agents=agents, calls_per_hour=200, aht_seconds=180, threshold_seconds=20)
    p_wait, service_level, asa = TABLE[agents]
    assert result.p_wait == pytest.approx(p_wait, abs=1e-6)
    assert result.service_level == pytest.approx(service_level, abs=1e-6)
    assert result.asa_seconds == pytest.approx(asa, abs=1e-4)
    assert result.occupancy == pytest.approx(10 / agents)


def test_formulas_refuse_an_unstable_queue() -> None:
    with pytest.raises(InvalidInput):
        erlang_c(agents=10, calls_per_hour=200, aht_seconds=180)


def simulate(
    agents: int, hours: float, seed: int, patience: float | None = None
) -> list[ContactRecord]:
    engine = Engine(erlang(agents=agents, calls_per_hour=200, aht=180, patience=patience), seed)
    # One hour more than measured, so every measured contact has been answered by the end.
    end = engine.start_ms + round((hours + 1) * 3_600_000)
    records: list[ContactRecord] = []
    done = False
    while not done:
        done = engine.run_until(end, 200_000)
        engine.events.clear()
        engine.intervals.clear()
        records.extend(engine.records)
        engine.records.clear()
    return records


def batch_means(
    records: list[ContactRecord], start_ms: int, hours: float
) -> list[list[ContactRecord]]:
    """Contacts grouped by arrival into equal consecutive batches after a warm-up. Batches of
    many hours are nearly independent, so their means give an honest confidence interval."""
    first = start_ms + WARM_UP_HOURS * 3_600_000
    width = (hours - WARM_UP_HOURS) * 3_600_000 / BATCHES
    batches: list[list[ContactRecord]] = [[] for _ in range(BATCHES)]
    for record in records:
        index = int((record.entered_at - first) // width)
        if 0 <= index < BATCHES:
            batches[index].append(record)
    return batches


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 99.9 % confidence interval."""
    return statistics.mean(values), T_999_19 * statistics.stdev(values) / math.sqrt(len(values))


@pytest.mark.parametrize(
    ("agents", "hours", "precision"),
    [(14, 1200, (0.02, 0.02, 2.0)), (12, 800, (0.04, 0.04, 10.0))],
)
def test_simulated_mmn_matches_erlang_c(
    agents: int, hours: int, precision: tuple[float, float, float]
) -> None:
    records = simulate(agents, hours, seed=2026)
    start_ms = int(erlang().start.timestamp() * 1000)
    batches = batch_means(records, start_ms, hours)
    waits = [
        [r.answered_at - r.entered_at for r in b if r.answered_at is not None] for b in batches
    ]
    assert all(len(w) == len(b) > 1000 for w, b in zip(waits, batches, strict=True))
    measured = {
        "p_wait": interval([sum(w > 0 for w in ws) / len(ws) for ws in waits]),
        "service_level": interval([sum(w <= 20_000 for w in ws) / len(ws) for ws in waits]),
        "asa": interval([sum(ws) / len(ws) / 1000 for ws in waits]),
    }
    expected = dict(zip(("p_wait", "service_level", "asa"), TABLE[agents], strict=True))
    for (name, (mean, half)), limit in zip(measured.items(), precision, strict=True):
        assert half < limit, f"{name}: interval ±{half:.4f} too wide to test anything"
        assert abs(mean - expected[name]) <= half, (
            f"{name}: simulated {mean:.4f} ± {half:.4f}, Erlang C {expected[name]:.4f}"
        )
    # The test can tell N from N - 1: the neighbour's values lie outside the interval.
    mean, half = measured["p_wait"]
    assert abs(mean - TABLE[agents - 1][0]) > half


def test_patience_makes_callers_abandon_and_only_then() -> None:
    patient = simulate(11, 30, seed=4)
    assert all(r.abandoned_at is None for r in patient)
    impatient = simulate(11, 30, seed=4, patience=60)
    abandoned = [r for r in impatient if r.abandoned_at is not None]
    assert 0.05 < len(abandoned) / len(impatient) < 0.5
    for record in abandoned:
        assert record.answered_at is None
        assert record.agent is None
        assert record.abandoned_at is not None
        assert record.abandoned_at >= record.entered_at
