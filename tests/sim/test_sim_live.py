"""Live mode: events come out when the clock reaches them, the same as in batch mode, and
``--serve`` publishes them on the four sources' wire servers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from prometheus_client import CollectorRegistry

from wallboard.core.clock import FakeClock
from wallboard.core.events import Event
from wallboard.settings import Settings
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.live import run_live
from wallboard.sim.serve import serve_simulation
from wallboard.wire.client import WireClient


async def test_live_run_delivers_the_batch_stream_on_time(tmp_path: Path) -> None:
    scenario = builtin_scenario("demo")
    start_ms = int(scenario.start.timestamp() * 1000)
    clock = FakeClock(start_ms=start_ms)
    got: list[Event] = []
    early: list[int] = []

    def emit(event: Event) -> None:
        # At speed 60 simulated time runs 60 times faster than the clock.
        if event.ts > start_ms + (clock.now_ms() - start_ms) * 60:
            early.append(event.ts)  # delivered before its time
        got.append(event)

    task = asyncio.create_task(
        run_live(scenario, seed=4, speed=60.0, clock=clock, emit=emit, hours=0.5)
    )
    await asyncio.sleep(0)  # let the run start and go to sleep on the clock
    seen_before = 0
    for _ in range(40):  # 40 x 1 s of clock = 40 simulated minutes at speed 60
        await clock.advance(1.0)
        assert len(got) >= seen_before
        seen_before = len(got)
        if task.done():
            break
    await asyncio.wait_for(task, 5)
    assert not early
    run_batch(scenario, seed=4, hours=0.5, out=tmp_path)
    expected = (tmp_path / "events.jsonl").read_bytes()
    assert msgspec.json.Encoder().encode_lines(got) == expected
    # Events arrived progressively, not all at the end.
    assert seen_before > 0


async def test_serve_publishes_each_source_on_its_port() -> None:
    scenario = builtin_scenario("demo")
    settings = Settings(voice_port=0, voice_vq_port=0, interactions_port=0, interactions_vq_port=0)
    registry = CollectorRegistry()
    clock = FakeClock(start_ms=int(scenario.start.timestamp() * 1000))
    ports: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_simulation(
            scenario,
            seed=1,
            speed=60.0,
            settings=settings,
            hours=0.25,
            clock=clock,
            registry=registry,
            on_listening=ports.set_result,
        )
    )
    listening = await asyncio.wait_for(ports, 5)
    assert set(listening) == {"voice", "voice-vq", "interactions", "interactions-vq"}
    clients = {
        source: WireClient("127.0.0.1", port, client="test", resume_from=0, registry=registry)
        for source, port in listening.items()
    }
    received: dict[str, list[Event]] = {source: [] for source in clients}
    try:
        for client in clients.values():
            client.start()
            await asyncio.wait_for(client.wait_subscribed(), 5)
        for _ in range(20):
            await clock.advance(1.0)
            await asyncio.sleep(0)
        await asyncio.wait_for(task, 5)

        async def drain(source: str, client: WireClient) -> None:
            while True:
                try:
                    event = await asyncio.wait_for(client.__anext__(), 0.3)
                except TimeoutError:
                    return
                assert isinstance(event, Event)
                received[source].append(event)

        await asyncio.gather(*(drain(s, c) for s, c in clients.items()))
    finally:
        for client in clients.values():
            await client.close()
        if not task.done():
            task.cancel()
    for source, events in received.items():
        assert events, f"nothing on {source}"
        assert all(e.source == source for e in events)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
