"""The collector in one process: log → engine → store equals an offline replay, and restarts
from its checkpoints lose and double-count nothing."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence

import pytest
from expected import RANK, expected_values

from wallboard.collector.service import Collector, CollectorSettings, read_all_values, shard
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import EventLog, StreamName
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.stats import standard_library
from wallboard.stats.replay import replay
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Checkpoint

DEFINITIONS = standard_library()


async def publish(log: EventLog, lines: Sequence[bytes]) -> None:
    for line in lines:
        event = decode_event(line)
        assert isinstance(event, Event)
        await log.publish(StreamName(event.source), TenantId(event.tenant), event.id, line)


def expected_anomalies(lines: Sequence[bytes]) -> dict[str, dict[str, int]]:
    events = [e for e in map(decode_event, lines) if isinstance(e, Event)]
    events.sort(key=lambda e: (e.ts, RANK[e.source], e.seq))
    return {
        tenant: replay([e for e in events if e.tenant == tenant], DEFINITIONS)[1]
        for tenant in sorted({e.tenant for e in events})
    }


def anomalies(collector: Collector) -> dict[str, dict[str, int]]:
    return {t: dict(w.engine.anomalies) for t, w in sorted(collector.tenants.items())}


async def run_until_caught_up(collector: Collector, log: EventLog) -> None:
    """Run the collector until it has read every record of every stream, then stop it."""
    task = asyncio.create_task(collector.run())
    last = {s: await log.last_seq(s) for s in StreamName}
    for _ in range(600):
        await asyncio.sleep(0.05)
        if task.done():
            task.result()
        if all(collector.read_position(s) >= last[s] for s in StreamName):
            break
    else:
        raise AssertionError("the collector did not catch up")
    collector.stop()
    await asyncio.wait_for(task, 30)


def settings(**overrides: object) -> CollectorSettings:
    base: dict[str, object] = {"clock": "events", "flush_s": 0.02, "refresh_s": 0.05}
    base.update(overrides)
    return CollectorSettings(**base)  # type: ignore[arg-type]


async def test_collected_values_equal_an_offline_replay(lines: list[bytes]) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines)
    collector = Collector(log, store, DEFINITIONS, settings())
    await run_until_caught_up(collector, log)
    tenants = sorted(collector.tenants)
    assert tenants == ["acme", "globex"]
    assert await read_all_values(store, tenants) == expected_values(lines)
    assert collector.bad_records == 0


async def test_restarting_from_checkpoints_at_many_points_changes_nothing(
    lines: list[bytes],
) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    # Publish in slices; after each, a new collector restores and goes on. Each one checkpoints
    # only at its stop, and the records between are read again and skipped. Slices end where
    # the time moves on, so that the merged order is the uninterrupted run's.
    times = [decode_event(line).ts for line in lines]  # type: ignore[union-attr]
    cuts = [0] + [c for c in (40, 41, 200, 333, 500) if times[c - 1] != times[c]] + [len(lines)]
    for start, end in itertools.pairwise(cuts):
        await publish(log, lines[start:end])
        collector = Collector(log, store, DEFINITIONS, settings(checkpoint_s=3600))
        await run_until_caught_up(collector, log)
    assert await read_all_values(store, ["acme", "globex"]) == expected_values(lines)


async def test_a_collector_restored_with_nothing_new_to_read_writes_the_same_values(
    lines: list[bytes],
) -> None:
    log = MemoryEventLog()
    await publish(log, lines)
    first = MemoryValueStore()
    await run_until_caught_up(Collector(log, first, DEFINITIONS, settings()), log)
    # A second store holding only the checkpoints: every value must be computed again, at
    # the time of the newest event, without a single event to apply.
    second = MemoryValueStore()
    for tenant in ("acme", "globex", "~collector-0"):
        stored = await first.get_checkpoint(TenantId(tenant), "collector")
        assert stored is not None
        await second.put_checkpoint(TenantId(tenant), Checkpoint("collector", stored.blob))
    collector = Collector(log, second, DEFINITIONS, settings())
    await run_until_caught_up(collector, log)
    assert sum(w.events for w in collector.tenants.values()) == len(lines)
    assert await read_all_values(second, ["acme", "globex"]) == expected_values(lines)


async def test_crashes_at_random_points_lose_and_double_count_nothing(lines: list[bytes]) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines)
    rng = random.Random(7)
    total = len(lines)
    crashes = 0
    for _ in range(400):
        # Checkpoints every few dozen events, values in between: a crash leaves values newer
        # than the checkpoint, which the next collector rewrites from the restored state.
        collector = Collector(
            log,
            store,
            DEFINITIONS,
            settings(checkpoint_events=rng.randint(5, 60), apply_slice=rng.randint(1, 9)),
        )
        task = asyncio.create_task(collector.run())
        await asyncio.wait_for(collector.started.wait(), 10)
        # Long enough for a flush (a checkpoint) now and then, short enough to crash mid-way.
        await asyncio.sleep(rng.uniform(0.005, 0.08))
        done = sum(collector.read_position(s) for s in StreamName) >= total
        if done and crashes >= 10:
            collector.stop()
            await task
            # Nothing applied twice: the engine saw no duplicate and no late event either.
            assert anomalies(collector) == expected_anomalies(lines)
            break
        collector.abort()
        await task
        crashes += 1
    else:
        raise AssertionError(f"no end after {crashes} crashes")
    assert crashes >= 10
    assert await read_all_values(store, ["acme", "globex"]) == expected_values(lines)


async def test_a_resent_record_and_a_bad_record_change_nothing_else(lines: list[bytes]) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines[:100])
    await log.publish(StreamName.VOICE, TenantId("acme"), "garbage-1", b'{"type":"agent.ready"}')
    await publish(log, lines[50:])  # resent: de-duplicated by the log
    seen: list[str] = []
    collector = Collector(
        log, store, DEFINITIONS, settings(), on_bad_record=lambda s, q, why: seen.append(why)
    )
    await run_until_caught_up(collector, log)
    assert collector.bad_records == 1
    assert "agent.ready" in seen[0] or "tenant" in seen[0]
    assert await read_all_values(store, ["acme", "globex"]) == expected_values(lines)


async def test_two_collectors_split_the_tenants_and_together_write_everything(
    lines: list[bytes],
) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines)
    # Three collectors: with crc32 the two tenants land on ordinals 2 and 1, none on 0.
    assert (shard("acme", 3), shard("globex", 3)) == (2, 1)
    for ordinal in (0, 1, 2):
        collector = Collector(
            log, store, DEFINITIONS, settings(name=str(ordinal), replicas=3, ordinal=ordinal)
        )
        await run_until_caught_up(collector, log)
        assert sorted(collector.tenants) == [
            t for t in ("acme", "globex") if shard(t, 3) == ordinal
        ]
    assert await read_all_values(store, ["acme", "globex"]) == expected_values(lines)


def test_settings_are_checked() -> None:
    with pytest.raises(Exception, match="ordinal"):
        CollectorSettings(replicas=2, ordinal=2).check()
    with pytest.raises(Exception, match="clock"):
        CollectorSettings(clock="sundial").check()
