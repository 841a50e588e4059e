"""``wallboard demo``: a simulated contact center, computed live, on a board that refreshes.

The simulator's ``demo`` scenario runs on its own day's clock (real time, or faster) and hands
each event straight to the statistics engine; every second the terminal board reads the values
the engine computes at that simulated time. No server is needed: everything runs in this one
process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live

from wallboard.core.clock import Clock
from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event, Media
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.engine import Engine
from wallboard.sim.live import advance
from wallboard.sim.scenario import Scenario
from wallboard.stats import GroupConfig, ObjectConfig, StatisticsEngine, standard_library
from wallboard.terminal_board import BoardObjects, open_board_statistics, render_board

REFRESH_SECONDS = 1.0

MORNING_HOURS = 3.0
"""The board opens at 10:00 of the scenario's day (opening at 07:00): agents at work, calls
waiting."""

CLOSING_MINUTES = 30
"""The day ends this long after the last shift, once the last contacts are done. The simulator
has no next day's shifts, so the board stops there rather than show calls nobody answers."""


@dataclass(frozen=True)
class DemoRun:
    """What a demo run leaves: the engine, the simulated time it reached, events applied."""

    engine: StatisticsEngine
    now_ms: int
    events: int


def board_objects(scenario: Scenario) -> list[BoardObjects]:
    """What the board shows of a scenario: each tenant's queues, agent groups and agents."""
    return [
        BoardObjects(
            tenant=tenant.id,
            queues=[q.id for q in tenant.queues if q.media is Media.VOICE],
            digital_queues=[(q.id, q.media) for q in tenant.queues if q.media is not Media.VOICE],
            agent_groups=[g.id for g in tenant.groups],
            agents=[a for g in tenant.groups for a in g.agent_ids()],
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


def _last_shift_end_ms(scenario: Scenario) -> int:
    """When the last shift of the scenario ends, in ms after its start."""
    ends = [
        shift.end
        for tenant in scenario.tenants
        for group in tenant.groups
        for shift, _, _ in group.agent_shifts()
        if shift.end is not None
    ]
    return round(max(ends) * 3_600_000)


async def run_demo(
    *,
    clock: Clock,
    console: Console,
    seed: int = 1,
    speed: float = 1.0,
    duration: float | None = None,
    live: bool = True,
    morning_hours: float = MORNING_HOURS,
) -> DemoRun:
    """Run until ``duration`` seconds of the clock pass (forever when None).

    The scenario's day runs on its own simulated clock: its first ``morning_hours`` at once, so
    the board opens on a busy center, then ``speed`` simulated seconds per second. Every value
    is read at the simulated time the events carry. With ``live`` the board redraws in place
    every second; without, it is printed once at the end (for logs and tests). Returns the
    engine and the simulated time, for inspection.
    """
    if not speed > 0:
        raise InvalidInput("--speed must be above 0", field="speed")
    scenario = builtin_scenario("demo")
    objects = board_objects(scenario)
    simulation = Engine(scenario, seed)
    engine = engine_for(scenario, objects, simulation.start_ms)
    events = 0

    def take(event: Event) -> None:
        nonlocal events
        events += 1
        engine.apply(event)

    def header(now_ms: int) -> str:
        when = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
        state = "the day is over" if now_ms >= closed_ms else f"{speed:g}x"
        return (
            f"Wallboard demo · simulated {when:%a %H:%M:%S} UTC, {state} · {events:,} events"
            " · Ctrl-C stops"
        )

    opened_ms = simulation.start_ms + round(morning_hours * 3_600_000)
    closed_ms = simulation.start_ms + _last_shift_end_ms(scenario) + CLOSING_MINUTES * 60_000
    advance(simulation, opened_ms, take)
    started = clock.monotonic()

    def simulated_now() -> int:
        return min(opened_ms + int((clock.monotonic() - started) * 1000 * speed), closed_ms)

    now_ms = opened_ms
    with contextlib.ExitStack() as stack:
        board = None
        if live:
            board = stack.enter_context(Live(console=console, auto_refresh=False, screen=False))
        while True:
            # Events up to the simulated now are applied before the board reads at that now,
            # so nothing on the board is later than its reading time.
            now_ms = simulated_now()
            advance(simulation, now_ms, take)
            if board is not None:
                # The terminal's size now: the board follows a resize.
                width, height = console.size
                board.update(
                    render_board(
                        engine, objects, now_ms, header(now_ms), width=width, height=height
                    ),
                    refresh=True,
                )
            if duration is not None and clock.monotonic() - started >= duration:
                break
            await clock.sleep(REFRESH_SECONDS)
    if not live:
        console.print(render_board(engine, objects, now_ms, header(now_ms), width=console.width))
    return DemoRun(engine=engine, now_ms=now_ms, events=events)
