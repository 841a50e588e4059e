"""Simulator and engine together against Erlang C (M/M/N): the engine's service level and
average speed of answer over a long ``erlang`` run land on the formulas.

The engine must first equal the ground truth the simulator wrote (same calls, same waits);
then the ground truth's batch-means confidence interval must hold the Erlang C value.
"""

from __future__ import annotations

import math
import statistics

import pytest

from wallboard.sim.builtin import erlang
from wallboard.sim.engine import Engine
from wallboard.sim.erlang import erlang_c
from wallboard.sim.groundtruth import ContactRecord
from wallboard.stats import StatisticsEngine, load_definitions_text

HOURS = 240
BATCHES = 20
T_999_19 = 3.883  # Student's t, two-sided 99.9 %, 19 degrees of freedom

DEFINITIONS = """
statistics:
  - {id: erl.answered, object: queue, category: TotalNumber, mask: [answered], profile: {kind: ever}}
  - {id: erl.within_20s, object: queue, category: TotalNumberInTimeRange, mask: [answered],
     time_range: {from_s: 0, to_s: 20}, profile: {kind: ever}}
  - {id: erl.asa, object: queue, category: AverageTime, mask: [answered], profile: {kind: ever}}
"""


def _interval(samples: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(samples)
    half = T_999_19 * statistics.stdev(samples) / math.sqrt(len(samples))
    return mean - half, mean + half


@pytest.mark.parametrize("agents", [13, 14])
def test_engine_on_an_erlang_run_lands_on_erlang_c(agents: int) -> None:
    sim = Engine(erlang(agents=agents, calls_per_hour=200, aht=180), seed=agents)
    stats = StatisticsEngine(load_definitions_text(DEFINITIONS))
    for stat_id in ("erl.answered", "erl.within_20s", "erl.asa"):
        stats.open("erlang", "queue", "queue", stat_id)
    end = sim.start_ms + HOURS * 3_600_000
    records: list[ContactRecord] = []
    done = False
    while not done:
        done = sim.run_until(end, 100_000)
        for event in sim.events:
            stats.apply(event)
        sim.events.clear()
        sim.intervals.clear()
        records.extend(sim.records)
        sim.records.clear()
    sim.finish(end)  # contacts still in progress: answered ones count too
    records.extend(sim.records)
    stats.flush()

    waits = [(r.entered_at, r.answered_at - r.entered_at) for r in records if r.answered_at]
    answered = stats.value("erlang", "queue", "queue", "erl.answered", end)
    within = stats.value("erlang", "queue", "queue", "erl.within_20s", end)
    asa_ms = stats.value("erlang", "queue", "queue", "erl.asa", end)
    assert isinstance(answered, int)
    assert isinstance(within, int)
    assert isinstance(asa_ms, float)
    # The engine equals the ground truth.
    assert answered == len(waits)
    assert within == sum(1 for _, wait in waits if wait <= 20_000)
    assert asa_ms == pytest.approx(statistics.fmean(wait for _, wait in waits), rel=1e-9)

    # The ground truth lands on Erlang C: batch means by arrival hour.
    batch_ms = HOURS * 3_600_000 // BATCHES
    batches: list[list[int]] = [[] for _ in range(BATCHES)]
    for entered, wait in waits:
        batches[min((entered - sim.start_ms) // batch_ms, BATCHES - 1)].append(wait)
    sl_low, sl_high = _interval([sum(w <= 20_000 for w in b) / len(b) for b in batches])
    asa_low, asa_high = _interval([statistics.fmean(b) / 1000 for b in batches])
    reference = erlang_c(agents=agents, calls_per_hour=200, aht_seconds=180, threshold_seconds=20)
    assert sl_low <= reference.service_level <= sl_high
    assert asa_low <= reference.asa_seconds <= asa_high
    # And the engine's own figures sit inside the same intervals.
    assert sl_low <= within / answered <= sl_high
    assert asa_low <= asa_ms / 1000 <= asa_high
    # The intervals are tight enough to tell N from N - 1 agents.
    fewer = erlang_c(agents=agents - 1, calls_per_hour=200, aht_seconds=180, threshold_seconds=20)
    assert not sl_low <= fewer.service_level <= sl_high
