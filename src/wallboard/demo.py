"""``wallboard demo``: a simulated contact center, computed live, served by the web app.

The simulator's ``demo`` scenario runs on its own day's clock (real time, or faster) and
publishes its events to the in-process event log; the collector, the same code as in a
deployment, computes the statistics into the in-memory value store; the web app — the one
``wallboard serve web`` serves, REST API and live channel — reads that store, on a metadata
database (SQLite) where every tenant of the scenario is seeded with the demo dashboard and
wallboard, whose widgets decide what the collector opens. The terminal board (``--board``)
reads the same store every second. No server is needed: everything runs in this one process
(:mod:`wallboard.embedded`, :mod:`wallboard.web.one_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry
from rich.console import Console, RenderableType

from wallboard.collector.inuse import Layout
from wallboard.collector.service import CollectorSettings
from wallboard.config.documents import parse_yaml, render_yaml
from wallboard.config.exports import scenario_objects
from wallboard.config.follower import ConfigFollower
from wallboard.config.objects import object_config
from wallboard.config.schemas import check_object
from wallboard.config.service import import_objects
from wallboard.core.clock import Clock
from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event, Media
from wallboard.db.database import Database
from wallboard.embedded import Embedded, show_board
from wallboard.ops.server import bind_socket
from wallboard.permissions.service import permissions_in_process
from wallboard.settings import Settings
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.engine import Engine
from wallboard.sim.live import advance
from wallboard.sim.scenario import Scenario
from wallboard.stats import ObjectConfig, standard_library
from wallboard.store.values import TenantValues
from wallboard.terminal_board import BoardObjects, board_statistics, render_board, stored_values
from wallboard.web.app import create_app
from wallboard.web.one_process import (
    WebOptions,
    demo_users,
    follow_layouts,
    initial_in_use,
    metadata_database,
    serve_app,
    site_url,
)

REFRESH_SECONDS = 1.0

MORNING_HOURS = 3.0
"""The board opens at 10:00 of the scenario's day (opening at 07:00): agents at work, calls
waiting."""

CLOSING_MINUTES = 30
"""The day ends this long after the last shift, once the last contacts are done. The simulator
has no next day's shifts, so the board stops there rather than show calls nobody answers."""


COLLECTOR = CollectorSettings(
    name="demo",
    clock="wall",
    flush_s=3600,
    refresh_s=3600,
    checkpoint_s=3600,
    checkpoint_events=1_000_000_000,
)
"""The demo writes the values itself once per frame, when every event of the frame is applied
(see :func:`run_demo`): the collector's own timers stay out of the way, and checkpoints, which
an in-memory store loses at exit anyway, are written only when it stops."""


@dataclass(frozen=True)
class DemoRun:
    """What a demo run leaves: the values in the store, the simulated time they were read at,
    events published."""

    values: dict[str, TenantValues]
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


def object_documents(scenario: Scenario) -> dict[str, str]:
    """Each tenant of the scenario exported as a configuration document (YAML): folders per
    team, agents, groups, queues, access groups (:mod:`wallboard.config.exports`)."""
    return {tenant: render_yaml(objects) for tenant, objects in scenario_objects(scenario).items()}


def object_configs(scenario: Scenario) -> dict[str, ObjectConfig]:
    """Each tenant's objects as the collector is configured with them: the scenario's
    configuration documents, read back as an import reads them (the demo without the web app
    has no database to import them into)."""
    return {
        tenant: object_config(check_object(raw, loc) for loc, raw in parse_yaml(document))
        for tenant, document in object_documents(scenario).items()
    }


async def load_configuration(database: Database, scenario: Scenario) -> ConfigFollower:
    """Import the scenario's configuration documents through the config service into the
    metadata database (what exists is kept, what changed replaced), and return a follower of
    it, loaded: the collector and the web app follow the configuration from there."""
    for tenant, document in object_documents(scenario).items():
        await import_objects(database, tenant, parse_yaml(document))
    follower = ConfigFollower(database)
    await follower.poll()
    return follower


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


def board_layout() -> Layout:
    """What the terminal board shows, as a layout: open on every tenant whatever the widgets."""
    return Layout(tenant="*", statistics=board_statistics(), name="terminal board")


async def run_demo(
    *,
    clock: Clock,
    console: Console,
    seed: int = 1,
    speed: float = 1.0,
    duration: float | None = None,
    live: bool = True,
    draw: bool = True,
    morning_hours: float = MORNING_HOURS,
    web: WebOptions | None = None,
    settings: Settings | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> DemoRun:
    """Run until ``duration`` seconds of the clock pass (forever when None).

    The scenario's day runs on its own simulated clock: its first ``morning_hours`` at once, so
    the board opens on a busy center, then ``speed`` simulated seconds per second. Every frame
    publishes the events up to the simulated now, waits until the collector has applied them
    all, and has it write the values read at that now: nothing on the board is later than its
    reading time, and no reading time runs ahead of an event not yet applied.

    With ``web`` the web app is served too (:mod:`wallboard.web.one_process`): the metadata
    database is set up with the scenario's tenants seeded, the widgets decide what the
    collector opens (plus what the terminal board shows, when it is drawn), and the URL is
    printed. With ``draw`` the terminal board is shown: with ``live`` redrawn in place every
    second; without, printed once at the end (for logs and tests). Returns the values and the
    simulated time, for inspection.
    """
    if not speed > 0:
        raise InvalidInput("--speed must be above 0", field="speed")
    scenario = builtin_scenario("demo")
    objects = board_objects(scenario)
    tenants = [t.tenant for t in objects]
    # Served to browsers, the simulated day is today: screens tick durations on the wall clock,
    # so at --speed 1 the simulated now is the real now (the morning replayed up to it).
    start_ms = None if web is None else clock.now_ms() - round(morning_hours * 3_600_000)
    simulation = Engine(scenario, seed, start_ms=start_ms)
    definitions = standard_library()
    opened_ms = simulation.start_ms + round(morning_hours * 3_600_000)
    closed_ms = simulation.start_ms + _last_shift_end_ms(scenario) + CLOSING_MINUTES * 60_000
    events = 0
    now_ms = simulation.start_ms
    values: dict[str, TenantValues] = {}

    async with contextlib.AsyncExitStack() as stack:
        in_use = None
        database = None
        sock = None
        follower = None
        if web is not None:
            # The port first: a taken one is said at once, before anything is set up.
            sock = bind_socket(web.host, web.port, "the web app")
            stack.callback(sock.close)
            database = await stack.enter_async_context(metadata_database(web.database, tenants))
            in_use = await initial_in_use(database, definitions, [board_layout()] if draw else [])
            follower = await load_configuration(database, scenario)
        # With the web app the configuration is the database's, followed live (an object
        # changed through /api/v1/config counts within a second); without, the same documents.
        configured = follower.objects if follower is not None else object_configs(scenario)
        embedded = Embedded(
            clock=clock,
            settings=COLLECTOR,
            objects=configured,
            definitions=definitions,
            in_use=in_use,
            registry=registry,
        )
        embedded.clock.hold(simulation.start_ms)
        await stack.enter_async_context(embedded)
        if web is not None:
            assert database is not None
            assert sock is not None
            # The permissions service's work, in this process on the memory store.
            permissions = await stack.enter_async_context(
                permissions_in_process(database, registry=registry)
            )
            app = create_app(
                settings or Settings(),
                database=database,
                store=embedded.store,
                objects=configured,  # followed: group widgets, the object search
                registry=registry,
                visibility=permissions.visibility,
            )
            users = await demo_users(database, tenants[0])
            await stack.enter_async_context(serve_app(app, sock))
            following = asyncio.create_task(
                follow_layouts(
                    database,
                    definitions,
                    embedded.collector,
                    clock=clock,
                    extra=[board_layout()] if draw else [],
                ),
                name="demo-layouts",
            )
            stack.push_async_callback(_cancelled, following)
            assert follower is not None
            config_following = asyncio.create_task(
                follower.run(embedded.collector.set_objects), name="demo-configuration"
            )
            stack.push_async_callback(_cancelled, config_following)
            url = site_url(web.host, sock.getsockname()[1])
            first = tenants[0]
            logins = " or ".join(f"{u.username} / {u.password} ({u.role})" for u in users)
            for line in (
                f"Wallboard is running: {url}#/dashboards/demo-dashboard?tenant={first}",
                f"  the wallboard: {url}#/wallboards/demo-wallboard?tenant={first}",
                f"  log in as {logins} · tenant {first}",
                f"  the API: {url}api/v1/docs · tenants {', '.join(tenants)} · Ctrl-C stops",
            ):
                console.print(line, highlight=False, soft_wrap=True)

        def take(event: Event) -> None:
            nonlocal events
            events += 1
            embedded.feed.put(event)

        async def reach(target_ms: int) -> None:
            """Publish the events up to ``target_ms``; once applied, write the values at it."""
            nonlocal now_ms, values
            advance(simulation, target_ms, take)
            await embedded.settle()
            now_ms = target_ms
            embedded.clock.hold(now_ms)
            await embedded.collector.flush(everything=True)
            values = await embedded.values(tenants)

        def header() -> str:
            when = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
            state = "the day is over" if now_ms >= closed_ms else f"{speed:g}x"
            return (
                f"Wallboard demo · simulated {when:%a %H:%M:%S} UTC, {state} · {events:,} events"
                " · Ctrl-C stops"
            )

        async def update() -> None:
            elapsed_ms = int((clock.monotonic() - started) * 1000 * speed)
            await reach(min(opened_ms + elapsed_ms, closed_ms))

        async def render(width: int, height: int | None) -> RenderableType:
            reader = stored_values(values, now_ms)
            return render_board(reader, objects, now_ms, header(), width=width, height=height)

        await reach(opened_ms)
        started = clock.monotonic()
        await show_board(
            clock=clock,
            console=console,
            update=update,
            render=render,
            refresh_s=REFRESH_SECONDS,
            duration=duration,
            live=live,
            draw=draw,
        )
    return DemoRun(values=values, now_ms=now_ms, events=events)


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
