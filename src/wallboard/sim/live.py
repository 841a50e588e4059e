"""Live mode: advance the simulation against a clock, in real time or K times faster.

Simulated time starts at the clock's current time, so event timestamps are wall-clock times at
speed 1 (at speed K they run K times faster than the wall clock). Arrival profiles and shifts
still follow the scenario: a run started at any hour looks like the scenario's first hours.
"""

from __future__ import annotations

from collections.abc import Callable

from wallboard.core.clock import Clock
from wallboard.core.events import Event
from wallboard.sim.engine import Engine
from wallboard.sim.scenario import Scenario, check_hours, check_speed

MAX_SLEEP_SECONDS = 1.0
"""Longest nap between two looks at the clock, so a stop or a speed-up is noticed quickly."""


def advance(engine: Engine, now_ms: int, emit: Callable[[Event], object]) -> None:
    """Do everything due at or before ``now_ms``, handing each event to ``emit``."""
    engine.run_until(now_ms + 1)
    for event in engine.events:
        emit(event)
    engine.events.clear()
    # Ground truth is for batch mode; live mode does not keep it.
    engine.records.clear()
    engine.intervals.clear()


async def run_live(
    scenario: Scenario,
    *,
    seed: int,
    speed: float,
    clock: Clock,
    emit: Callable[[Event], object],
    hours: float | None = None,
) -> Engine:
    """Run until ``hours`` of simulated time have passed (forever when None), handing every
    event to ``emit`` once the clock reaches its timestamp. Returns the engine at the end."""
    check_speed(speed)
    if hours is not None:
        check_hours(hours)
    engine = Engine(scenario, seed, start_ms=clock.now_ms())
    end_ms = engine.start_ms + round(hours * 3_600_000) if hours is not None else None
    origin = clock.monotonic()
    while True:
        sim_now = engine.start_ms + int((clock.monotonic() - origin) * 1000 * speed)
        if end_ms is not None:
            sim_now = min(sim_now, end_ms)
        # Batch mode too stops just before its end.
        advance(engine, sim_now if end_ms is None else min(sim_now, end_ms - 1), emit)
        if end_ms is not None and sim_now >= end_ms:
            return engine
        due = engine.next_time()
        wait = MAX_SLEEP_SECONDS if due is None else (due - sim_now) / 1000 / speed
        await clock.sleep(min(max(wait, 0.001), MAX_SLEEP_SECONDS))
