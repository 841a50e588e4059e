"""The collector as a process on real NATS JetStream and Redis: killed with SIGKILL at many
points of a long replay, it ends with exactly the values of an uninterrupted run."""

from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import redis.asyncio

from wallboard.collector.service import CollectorState
from wallboard.collector.tenant import CHECKPOINT_NAME
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import StreamName
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario
from wallboard.stats import standard_library
from wallboard.stats.replay import replay
from wallboard.store.redis import RedisValueStore

RANK = {stream.value: i for i, stream in enumerate(StreamName)}
KILLS_MIDWAY = 20


class Site:
    """A log prefix and a Redis prefix of this test's own, and the events published there."""

    def __init__(self, nats_url: str, redis_url: str, lines: list[bytes]) -> None:
        self.nats_url = nats_url
        self.redis_url = redis_url
        self.prefix = f"wbkill{uuid.uuid4().hex[:8]}"
        self.store_prefix = self.prefix
        self.lines = lines
        self.last: dict[str, int] = {}

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
        env.update(
            WALLBOARD_NATS_URL=self.nats_url,
            WALLBOARD_LOG_PREFIX=self.prefix,
            WALLBOARD_LOG_MAX_BYTES=str(64 * 1024**2),
            WALLBOARD_REDIS_URL=self.redis_url,
            WALLBOARD_REDIS_PREFIX=self.store_prefix,
            WALLBOARD_COLLECTOR_CLOCK="events",
            WALLBOARD_COLLECTOR_FLUSH_MS="20",
            WALLBOARD_METRICS_PORT="0",
            WALLBOARD_LOG_LEVEL="info",
        )
        env.update(extra)
        return env


@pytest.fixture
async def site(nats_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    run_batch(builtin_scenario("demo"), seed=2, hours=6, out=tmp_path)
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    site = Site(nats_url, redis_url, lines)
    log = await JetStreamEventLog.connect(
        JetStreamSettings(url=nats_url, prefix=site.prefix, max_bytes=64 * 1024**2)
    )
    try:
        by_stream: dict[str, list[tuple[TenantId, str, bytes]]] = collections.defaultdict(list)
        for line in lines:
            event = decode_event(line)
            assert isinstance(event, Event)
            by_stream[event.source].append((TenantId(event.tenant), event.id, line))
        for stream, records in by_stream.items():
            for i in range(0, len(records), 2000):
                await log.publish_many(StreamName(stream), records[i : i + 2000])
        site.last = {s.value: await log.last_seq(s) for s in StreamName}
        yield site
    finally:
        await log.delete_streams()
        await log.close()
        client = redis.asyncio.Redis.from_url(redis_url)
        keys = [k async for k in client.scan_iter(match=f"{site.prefix}*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


def start_collector(site: Site, log_file: Path, checkpoint_events: int) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:  # the child writes to its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "serve", "collector"],
            env=site.env(WALLBOARD_COLLECTOR_CHECKPOINT_EVENTS=str(checkpoint_events)),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def progress(store: RedisValueStore) -> dict[str, int]:
    """Where the collector's own record says a restart starts reading."""
    stored = await store.get_checkpoint(TenantId("~collector-0"), CHECKPOINT_NAME)
    if stored is None:
        return {}
    return msgspec.msgpack.decode(stored.blob, type=CollectorState).start


def started(log_file: Path) -> int:
    """How many collectors the log file says have started reading."""
    return log_file.read_text().count("reading nats://")


async def wait_until_reading(log_file: Path, already: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(3000):  # a minute: a loaded machine starts a process slowly
        if await asyncio.to_thread(started, log_file) > already:
            return
        assert proc.poll() is None, log_file.read_text()[-3000:]  # noqa: ASYNC240 (failing)
        await asyncio.sleep(0.02)
    raise AssertionError("the collector did not start")


def expected_values(lines: list[bytes]) -> dict[str, object]:
    events = [e for e in map(decode_event, lines) if isinstance(e, Event)]
    events.sort(key=lambda e: (e.ts, RANK[e.source], e.seq))
    out: dict[str, object] = {}
    for tenant in sorted({e.tenant for e in events}):
        mine = [e for e in events if e.tenant == tenant]
        result, _ = replay(mine, standard_library(), at_ms=max(e.ts for e in mine))
        out[tenant] = {
            object_type: {
                object_id: {k: v for k, v in values.items() if v is not None}
                for object_id, values in by_id.items()
            }
            for object_type, by_id in result[tenant].items()
        }
    return out


@pytest.mark.timeout(900)
async def test_sigkill_at_many_points_loses_and_double_counts_nothing(
    site: Site, tmp_path: Path
) -> None:
    rng = random.Random(20)
    store = await RedisValueStore.connect(site.redis_url, prefix=site.store_prefix)
    log_file = tmp_path / "collector.log"
    log_file.touch()
    total = sum(site.last.values())
    starts = 0
    midway: list[int] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        while len(midway) < KILLS_MIDWAY:
            assert starts < 6 * KILLS_MIDWAY, f"too few kills landed midway: {midway}"
            proc = start_collector(site, log_file, checkpoint_events=rng.randint(20, 200))
            procs.append(proc)
            await wait_until_reading(log_file, starts, proc)
            starts += 1
            # Let the run make some progress (a checkpoint), then kill it at a random moment:
            # mid-batch, between checkpoints, while writing values.
            before = await progress(store)
            for _ in range(1000):
                if await progress(store) != before or proc.poll() is not None:
                    break
                await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0, 0.03))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            done = sum((await progress(store)).values())
            if 0 < done < total and (not midway or done != midway[-1]):
                midway.append(done)
            if done >= total and len(midway) < KILLS_MIDWAY:
                # A fast machine got everything in before enough kills: once more, from an
                # empty store (the kills so far count).
                await store.close()
                site.store_prefix = f"{site.prefix}-{starts}"
                store = await RedisValueStore.connect(site.redis_url, prefix=site.store_prefix)
        assert len(midway) >= KILLS_MIDWAY, f"only {len(midway)} kills landed midway"
        # The last run goes to the end and stops cleanly (SIGTERM: last values, checkpoints).
        proc = start_collector(site, log_file, checkpoint_events=1000)
        procs.append(proc)
        await wait_until_reading(log_file, starts, proc)
        deadline = time.monotonic() + 120
        while (reached := await progress(store)) != site.last:
            assert time.monotonic() < deadline, f"the collector reached {reached} of {site.last}"
            assert proc.poll() is None, log_file.read_text()[-3000:]
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log_file.read_text()[-3000:]
        got = {}
        for tenant in ("acme", "globex"):
            got[tenant] = msgspec.to_builtins((await store.snapshot(TenantId(tenant))).values)
        assert got == expected_values(site.lines)
        assert "Traceback" not in log_file.read_text()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        await store.close()
