"""``--serve``: the live simulation published as the four sources, each on its own wire server.

Events of the ``voice``, ``voice-vq``, ``interactions`` and ``interactions-vq`` sources go to
the wire server listening on ``voice_port``, ``voice_vq_port``, ``interactions_port`` and
``interactions_vq_port`` respectively; clients subscribe and resume there (see the protocol).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.events import Event
from wallboard.settings import Settings
from wallboard.sim.engine import (
    SOURCE_INTERACTIONS,
    SOURCE_INTERACTIONS_VQ,
    SOURCE_VOICE,
    SOURCE_VOICE_VQ,
    Engine,
)
from wallboard.sim.live import run_live
from wallboard.sim.scenario import Scenario
from wallboard.wire.server import WireServer

logger = logging.getLogger(__name__)


def source_ports(settings: Settings) -> dict[str, int]:
    """The port each source is served on."""
    return {
        SOURCE_VOICE: settings.voice_port,
        SOURCE_VOICE_VQ: settings.voice_vq_port,
        SOURCE_INTERACTIONS: settings.interactions_port,
        SOURCE_INTERACTIONS_VQ: settings.interactions_vq_port,
    }


async def serve_simulation(
    scenario: Scenario,
    *,
    seed: int,
    speed: float,
    settings: Settings,
    host: str = "127.0.0.1",
    hours: float | None = None,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    on_listening: Callable[[dict[str, int]], object] | None = None,
) -> Engine:
    """Serve the four sources until ``hours`` of simulated time pass (forever when None).

    ``on_listening`` gets the actual port of each source once all listen (port 0 in the
    settings picks a free one, for tests)."""
    clock = clock or SystemClock()
    servers: dict[str, WireServer] = {}
    async with contextlib.AsyncExitStack() as stack:
        for source, port in source_ports(settings).items():
            server = WireServer(
                source=source,
                name="wallboard-simulator",
                settings=settings,
                clock=clock,
                registry=registry,  # None: the process-wide registry that /metrics shows
            )
            stack.push_async_callback(server.close)
            await server.start(host, port)
            servers[source] = server
        ports = {source: server.port for source, server in servers.items()}
        logger.info("simulator serving %s", ", ".join(f"{s} on {p}" for s, p in ports.items()))
        if on_listening is not None:
            on_listening(ports)

        def publish(event: Event) -> None:
            servers[event.source].publish(event)

        return await run_live(
            scenario, seed=seed, speed=speed, clock=clock, emit=publish, hours=hours
        )
    raise AssertionError("unreachable")  # pragma: no cover  (mypy: async with may swallow)
