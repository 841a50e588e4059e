"""Collectors as processes (``wallboard serve collector``) on real NATS JetStream and Redis: a
log and a store of a test's own, the events published there, and what an uninterrupted run
computes from them."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import msgspec
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
from wallboard.store.redis import RedisValueStore


def demo_lines(
    out: Path, *, seed: int, hours: float, copies: Sequence[tuple[int, str]] = ()
) -> list[bytes]:
    """The demo scenario's events; ``copies`` adds tenants (index of a demo tenant, new id)
    with the same layout, so that tests can place tenants on chosen ordinals."""
    scenario = builtin_scenario("demo")
    extra = [msgspec.structs.replace(scenario.tenants[i], id=new) for i, new in copies]
    scenario = msgspec.structs.replace(scenario, tenants=[*scenario.tenants, *extra])
    run_batch(scenario, seed=seed, hours=hours, out=out)
    return (out / "events.jsonl").read_bytes().splitlines()


class Site:
    """A log prefix and a Redis prefix of this test's own, and the events published there."""

    def __init__(self, nats_url: str, redis_url: str, log: JetStreamEventLog, prefix: str) -> None:
        self.nats_url = nats_url
        self.redis_url = redis_url
        self.log = log
        self.prefix = prefix
        self.store_prefix = prefix
        self.lines: list[bytes] = []
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
            # A killed collector's lease is free again soon: restarts in these tests are quick.
            WALLBOARD_COLLECTOR_LEASE_SECONDS="1",
            WALLBOARD_METRICS_PORT="0",
            WALLBOARD_LOG_LEVEL="info",
        )
        env.update(extra)
        return env

    async def publish(self, lines: Sequence[bytes]) -> None:
        """Publish events to their streams (in order within each stream)."""
        by_stream: dict[str, list[tuple[TenantId, str, bytes]]] = collections.defaultdict(list)
        for line in lines:
            event = decode_event(line)
            assert isinstance(event, Event)
            by_stream[event.source].append((TenantId(event.tenant), event.id, line))
        for stream, records in by_stream.items():
            for i in range(0, len(records), 2000):
                await self.log.publish_many(StreamName(stream), records[i : i + 2000])
        self.lines.extend(lines)
        self.last = {s.value: await self.log.last_seq(s) for s in StreamName}


@contextlib.asynccontextmanager
async def open_site(nats_url: str, redis_url: str, name: str) -> AsyncIterator[Site]:
    """A site with empty streams; its streams and keys are removed at the end."""
    prefix = f"{name}{uuid.uuid4().hex[:8]}"
    log = await JetStreamEventLog.connect(
        JetStreamSettings(url=nats_url, prefix=prefix, max_bytes=64 * 1024**2)
    )
    site = Site(nats_url, redis_url, log, prefix)
    try:
        yield site
    finally:
        await log.delete_streams()
        await log.close()
        client = redis.asyncio.Redis.from_url(redis_url)
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


def start_collector(site: Site, log_file: Path, **env: str) -> subprocess.Popen[bytes]:
    """``wallboard serve collector`` with the site's settings and ``env`` (WALLBOARD_* names)."""
    with log_file.open("ab") as log:  # the child writes to its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "serve", "collector"],
            env=site.env(**env),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def progress(store: RedisValueStore, ordinal: int = 0) -> dict[str, int]:
    """Where the ordinal's own record says a restart starts reading."""
    stored = await store.get_checkpoint(TenantId(f"~collector-{ordinal}"), CHECKPOINT_NAME)
    if stored is None:
        return {}
    return msgspec.msgpack.decode(stored.blob, type=CollectorState).start


def reading(log_file: Path, pid: int) -> bool:
    """Whether the log file says process ``pid`` has started reading (uvicorn names the process
    as it starts its metrics server, before the collector reads)."""
    text = log_file.read_text()
    at = text.find(f"Started server process [{pid}]")
    return at >= 0 and "reading nats://" in text[at:]


async def wait_until_reading(log_file: Path, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(3000):  # a minute: a loaded machine starts a process slowly
        if await asyncio.to_thread(reading, log_file, proc.pid):
            return
        assert proc.poll() is None, log_file.read_text()[-3000:]  # noqa: ASYNC240 (failing)
        await asyncio.sleep(0.02)
    raise AssertionError("the collector did not start")


async def stored_values(store: RedisValueStore, tenants: Sequence[str]) -> dict[str, object]:
    return {
        tenant: msgspec.to_builtins((await store.snapshot(TenantId(tenant))).values)
        for tenant in sorted(tenants)
    }


def differences(got: object, want: object, path: str = "", limit: int = 30) -> list[str]:
    """Where two nested value trees differ, as ``path: got != want`` lines (at most ``limit``):
    a failing comparison of thousands of values then says which ones."""
    out: list[str] = []
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want), key=str):
            if len(out) >= limit:
                break
            out += differences(
                got.get(key, "<missing>"),
                want.get(key, "<missing>"),
                f"{path}/{key}",
                limit - len(out),
            )
    elif got != want:
        out.append(f"{path}: {got!r} != {want!r}")
    return out
