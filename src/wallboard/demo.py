"""``wallboard demo``: a simulated contact center, computed live, on a board that refreshes.

The simulator's ``demo`` scenario runs against the clock (real time, or faster) and hands each
event straight to the statistics engine; every second the terminal board reads the values the
engine computes. No server is needed: everything runs in this one process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live

from wallboard.core.clock import Clock
from wallboard.core.events import Event, Media
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.live import run_live
from wallboard.sim.scenario import Scenario
from wallboard.stats import GroupConfig, ObjectConfig, StatisticsEngine, standard_library
from wallboard.terminal_board import BoardObjects, open_board_statistics, render_board

REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class DemoRun:
    """What a demo run leaves: the engine, the simulated time it reached, events applied."""

    engine: StatisticsEngine
    now_ms: int
    events: int


def board_objects(scenario: Scenario) -> list[BoardObjects]:
    """What the board shows of a scenario: each tenant's voice queues and agent groups."""
    return [
        BoardObjects(
            tenant=tenant.id,
            queues=[q.id for q in tenant.queues if q.media is Media.VOICE],
            agent_groups=[g.id for g in tenant.groups],
        )
        for tenant in scenario.tenants
    ]


def engine_for(
    scenario: Scenario, objects: Sequence[BoardObjects], now_ms: int
) -> StatisticsEngine:
    """A statistics engine that knows the scenario's groups and computes what the board shows."""
    engine = StatisticsEngine(standard_library())
    for tenant in scenario.tenants:
        groups = {g.id: GroupConfig(agents=tuple(g.agent_ids())) for g in tenant.groups}
        engine.set_objects(tenant.id, ObjectConfig(agent_groups=groups), ts_ms=now_ms)
    open_board_statistics(engine, objects)
    return engine


async def run_demo(
    *,
    clock: Clock,
    console: Console,
    seed: int = 1,
    speed: float = 1.0,
    duration: float | None = None,
    live: bool = True,
) -> DemoRun:
    """Run until ``duration`` seconds of the clock pass (forever when None).

    With ``live`` the board redraws in place every second; without, it is printed once at the
    end (for logs and tests). Returns the engine and the simulated time, for inspection.
    """
    scenario = builtin_scenario("demo")
    objects = board_objects(scenario)
    engine = engine_for(scenario, objects, clock.now_ms())
    events = 0

    def take(event: Event) -> None:
        nonlocal events
        events += 1
        engine.apply(event)

    def header() -> str:
        return (
            f"Wallboard demo — simulated contact center at {speed:g}x, seed {seed}, "
            f"{events:,} events. Ctrl-C to stop."
        )

    simulation = asyncio.create_task(
        run_live(scenario, seed=seed, speed=speed, clock=clock, emit=take)
    )
    started = clock.monotonic()
    start_ms = clock.now_ms()

    def simulated_now() -> int:
        # At K times real speed, the simulated clock runs ahead of the wall clock: values that
        # grow with time are read at the simulated time, as the events carry it.
        return start_ms + int((clock.monotonic() - started) * 1000 * speed)

    try:
        with contextlib.ExitStack() as stack:
            board = None
            if live:
                board = stack.enter_context(Live(console=console, auto_refresh=False, screen=False))
            while duration is None or clock.monotonic() - started < duration:
                if simulation.done():
                    simulation.result()  # a failed simulation ends the demo with its error
                    break
                if board is not None:
                    board.update(
                        render_board(engine, objects, clock.now_ms(), header()), refresh=True
                    )
                await clock.sleep(REFRESH_SECONDS)
    finally:
        simulation.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await simulation
    if not live:
        console.print(render_board(engine, objects, simulated_now(), header()))
    return DemoRun(engine=engine, now_ms=simulated_now(), events=events)
