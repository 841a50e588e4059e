"""The collector when things go wrong around it: a source lost or silent (its values marked
stale), the value store or the event log going away and coming back (nothing lost)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_collector import expected_values, publish, settings

from server_process import NatsServer, RedisServer, free_port
from wallboard.collector.service import Collector, read_all_values
from wallboard.eventlog.interface import EventLog, StreamName, heartbeat_record
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.stats import standard_library
from wallboard.store.memory import MemoryValueStore
from wallboard.store.redis import RedisValueStore

DEFINITIONS = standard_library()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    # Without persistence: a restart comes back empty.
    server = RedisServer(tmp_path / "redis", free_port(), "--appendonly", "no")
    server.start()
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats", free_port())
    server.start()
    yield server
    server.stop(signal.SIGKILL)


async def wait_for(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_lost_or_silent_source_marks_its_values_stale_until_it_is_back(
    lines: list[bytes],
) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines[:2000])
    voice = StreamName.VOICE

    async def heartbeat(connected: bool) -> None:
        await log.publish_many(
            voice, [heartbeat_record("fanout-voice", connected, time.time_ns() // 10**6)]
        )

    await heartbeat(True)
    collector = Collector(log, store, DEFINITIONS, settings(stale_after_s=1.0))
    task = asyncio.create_task(collector.run())

    async def stale_of(tenant: str) -> object:
        values = await read_all_values(store, [tenant])
        return values[tenant].get("source", {}).get("voice", {}).get("source.stale")

    await wait_for(lambda: collector.read_position(voice) >= 1, "the first records")
    await asyncio.sleep(0.3)
    assert await stale_of("acme") is None
    assert collector.stale() == {}

    await heartbeat(False)  # the fanout lost its upstream
    for _ in range(100):
        if await stale_of("acme") is not None:
            break
        await asyncio.sleep(0.05)
    marked = await stale_of("acme")
    assert isinstance(marked, dict)
    assert "fanout-voice has lost its source" in marked["reason"]
    assert await stale_of("globex") is not None
    status = await collector.status()
    assert status["streams"]["voice"]["stale"]["reason"] == marked["reason"]  # type: ignore[index]
    assert status["streams"]["interactions"]["stale"] is None  # type: ignore[index]

    await heartbeat(True)
    for _ in range(100):
        if await stale_of("acme") is None:
            break
        await asyncio.sleep(0.05)
    assert await stale_of("acme") is None

    # Then silence: no heartbeat for longer than stale_after_s.
    await asyncio.sleep(1.5)
    marked = await stale_of("acme")
    assert isinstance(marked, dict)
    assert "no heartbeat from fanout-voice" in marked["reason"]
    collector.stop()
    await asyncio.wait_for(task, 30)
    assert collector.bad_records == 0


async def test_a_value_store_that_restarts_empty_gets_every_value_again(
    lines: list[bytes], own_redis: RedisServer
) -> None:
    log = MemoryEventLog()
    store = await RedisValueStore.connect(own_redis.url, prefix="faults")
    half = len(lines) // 2
    await publish(log, lines[:half])
    collector = Collector(log, store, DEFINITIONS, settings())
    task = asyncio.create_task(collector.run())
    await wait_for(lambda: all(collector.caught_up.values()), "the first half")
    own_redis.stop(signal.SIGKILL)
    await publish(log, lines[half:])
    await wait_for(lambda: "value_store" in collector.down, "the store to be missed")
    await asyncio.sleep(1.0)
    assert not task.done()
    own_redis.start()  # without persistence: everything it held is gone
    await wait_for(lambda: "value_store" not in collector.down, "the store to be back", within=30)
    collector.stop()
    await asyncio.wait_for(task, 30)
    assert await read_all_values(store, ["acme", "globex"]) == expected_values(lines)
    await store.close()


async def test_an_event_log_that_goes_away_and_comes_back_loses_nothing(
    lines: list[bytes], own_nats: NatsServer
) -> None:
    url = own_nats.url
    log_settings = JetStreamSettings(url=url, prefix="FAULTS", max_bytes=64 * 1024**2)
    log = await JetStreamEventLog.connect(log_settings)
    store = MemoryValueStore()
    half = len(lines) // 2
    await publish(log, lines[:half])
    collector = Collector(log, store, DEFINITIONS, settings())
    task = asyncio.create_task(collector.run())
    await wait_for(lambda: all(collector.caught_up.values()), "the first half")
    own_nats.stop(signal.SIGKILL)
    await wait_for(lambda: "event_log" in collector.down, "the log to be missed")
    assert set(collector.stale()) == {s.value for s in StreamName}
    own_nats.start()  # the same store directory: the log keeps what it had
    await wait_for(lambda: "event_log" not in collector.down, "the log to be back", within=30)
    await publish(log, lines[half:])
    await run_until_caught_up_running(collector, log)
    collector.stop()
    await asyncio.wait_for(task, 30)
    assert await read_all_values(store, ["acme", "globex"]) == expected_values(lines)
    await log.close()


async def run_until_caught_up_running(collector: Collector, log: EventLog) -> None:
    last = {s: await log.last_seq(s) for s in StreamName}
    await wait_for(
        lambda: all(collector.read_position(s) >= last[s] for s in StreamName),
        "catching up",
        within=60,
    )
    await asyncio.sleep(0.2)
