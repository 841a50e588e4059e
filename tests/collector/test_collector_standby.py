"""Two collectors and a standby as processes on real NATS JetStream and Redis: one collector is
killed with SIGKILL midway through a replay, the standby takes its ordinal over within the
stated time, the killed collector comes back and gets its ordinal back, and every tenant ends
with exactly the values of an uninterrupted run."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import msgspec
import pytest
from collector_site import (
    Site,
    demo_lines,
    open_site,
    progress,
    start_collector,
    stored_values,
    wait_until_reading,
)
from expected import expected_values

from cli_process import assert_refused, wallboard
from wallboard.collector.lease import LeaseSettings, lease_key
from wallboard.collector.service import CollectorState, shard
from wallboard.collector.tenant import CHECKPOINT_NAME
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.store.redis import RedisValueStore

LEASE_SECONDS = 2.0
# A loaded machine schedules a process late: the bounds below are the stated times plus this.
SLACK_SECONDS = 10.0


@pytest.fixture
async def site(nats_url: str, redis_url: str) -> AsyncIterator[Site]:
    async with open_site(nats_url, redis_url, "wbstandby") as site:
        yield site


async def holder(site: Site, store: RedisValueStore, ordinal: int) -> bytes | None:
    """Who holds the ordinal's lease now."""
    value = await store.client.get(lease_key(site.store_prefix, ordinal))
    assert value is None or isinstance(value, bytes)
    return value


def metrics_url(log_file: Path) -> str | None:
    """Where the process serves /readyz, once its log says."""
    found = re.search(r"metrics on (http://[\d.]+:\d+)", log_file.read_text())
    return found.group(1) if found else None


async def readyz(log_file: Path) -> dict[str, object]:
    """The process's ``/readyz`` answer."""
    url = await asyncio.to_thread(metrics_url, log_file)
    assert url is not None
    async with httpx.AsyncClient() as client:
        answer = await client.get(url + "/readyz", timeout=10)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def wait_for(
    what: str, check: Callable[[], Awaitable[bool]], within: float, *logs: Path
) -> None:
    """Until ``check`` answers true; failing after ``within`` seconds with the logs' ends."""
    began = time.monotonic()
    while not await check():
        if time.monotonic() - began > within:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs)
            raise AssertionError(f"{what}: not within {within:g} s\n{tails}")
        await asyncio.sleep(0.05)


@pytest.mark.timeout(600)
async def test_a_standby_takes_over_a_killed_collector_within_the_stated_time(
    site: Site, tmp_path: Path
) -> None:
    lines = demo_lines(tmp_path, seed=2, hours=6, copies=((0, "wayne"), (1, "cyberdyne")))
    tenants = sorted({e.tenant for e in map(decode_event, lines) if isinstance(e, Event)})
    assert {shard(t, 2) for t in tenants} == {0, 1}  # each ordinal has tenants of its own
    await site.publish(lines)
    store = await RedisValueStore.connect(site.redis_url, prefix=site.store_prefix)
    logs = {name: tmp_path / f"{name}.log" for name in ("0", "1", "standby", "1-again")}
    for log_file in logs.values():
        log_file.touch()
    common = {
        "WALLBOARD_COLLECTOR_REPLICAS": "2",
        "WALLBOARD_COLLECTOR_LEASE_SECONDS": str(LEASE_SECONDS),
        "WALLBOARD_COLLECTOR_CHECKPOINT_EVENTS": "100",
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stated = LeaseSettings(ttl_s=LEASE_SECONDS).takeover_s
    try:
        for k in ("0", "1"):
            procs[k] = start_collector(site, logs[k], WALLBOARD_COLLECTOR_ORDINAL=k, **common)
        for k in ("0", "1"):
            await wait_until_reading(logs[k], procs[k])
        procs["standby"] = start_collector(
            site, logs["standby"], WALLBOARD_COLLECTOR_STANDBY="true", **common
        )

        async def standing_by() -> bool:
            if await asyncio.to_thread(metrics_url, logs["standby"]) is None:
                return False
            return str((await readyz(logs["standby"])).get("role", "")).startswith("standing by")

        await wait_for("the standby stands by", standing_by, 60, logs["standby"])
        assert await holder(site, store, 0) != await holder(site, store, 1)

        # Ordinal 1 is killed as soon as it has checkpointed part of its tenants' events.
        async def some_progress() -> bool:
            return sum((await progress(store, 1)).values()) > 0

        await wait_for("ordinal 1 checkpoints", some_progress, 60, logs["1"])
        victim = await holder(site, store, 1)
        assert victim is not None

        async def taken() -> bool:
            return (await holder(site, store, 1)) not in (None, victim)

        async def standby_reading() -> bool:
            text = await asyncio.to_thread(logs["standby"].read_text)
            return "ordinal 1 restored from its checkpoints" in text

        procs["1"].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert procs["1"].wait(10) == -signal.SIGKILL
        # What it left behind (its lease outlives it by at least 3/4 of the lease time).
        done = sum((await progress(store, 1)).values())
        assert 0 < done < sum(site.last.values())
        bound = stated + SLACK_SECONDS
        await wait_for("the standby takes the lease", taken, bound, logs["standby"])
        lease_after = time.monotonic() - killed_at
        await wait_for("the standby reads", standby_reading, bound, logs["standby"])
        reading_after = time.monotonic() - killed_at
        standby_id = await holder(site, store, 1)
        print(
            f"takeover: lease taken {lease_after:.2f} s after the kill, checkpoints restored and "
            f"reading on after {reading_after:.2f} s (stated: {stated:g} s + restore)"
        )
        assert lease_after <= stated + SLACK_SECONDS
        assert reading_after <= stated + SLACK_SECONDS
        assert "collecting ordinal 1 of 2" in str((await readyz(logs["standby"]))["role"])

        expected = expected_values(lines)

        async def all_values() -> bool:
            return await stored_values(store, tenants) == expected

        await wait_for("the values of every tenant", all_values, 300, *logs.values())

        # Ordinal 1 comes back: it claims its ordinal and the standby hands it over.
        procs["1-again"] = start_collector(
            site, logs["1-again"], WALLBOARD_COLLECTOR_ORDINAL="1", **common
        )
        await wait_until_reading(logs["1-again"], procs["1-again"])
        await wait_for("the standby stands by again", standing_by, 60, logs["standby"])
        assert await holder(site, store, 1) not in (None, victim, standby_id)
        # The standby first: stopped before them, it takes no ordinal a clean stop gives back.
        for name in ("standby", "0", "1-again"):
            procs[name].send_signal(signal.SIGTERM)
            assert procs[name].wait(30) == 0, logs[name].read_text()[-3000:]
        assert await stored_values(store, tenants) == expected
        for ordinal in (0, 1):
            stored = await store.get_checkpoint(TenantId(f"~collector-{ordinal}"), CHECKPOINT_NAME)
            assert stored is not None
            state = msgspec.msgpack.decode(stored.blob, type=CollectorState)
            assert state.tenants == [t for t in tenants if shard(t, 2) == ordinal]
            assert await holder(site, store, ordinal) is None  # clean stops give the leases back
        for log_file in logs.values():
            assert "Traceback" not in log_file.read_text()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        await store.close()


def test_a_standby_needs_redis() -> None:
    result = wallboard(
        "serve",
        "collector",
        env={"WALLBOARD_COLLECTOR_STANDBY": "true", "WALLBOARD_REDIS_URL": ""},
    )
    assert_refused(result, "WALLBOARD_COLLECTOR_STANDBY", "WALLBOARD_REDIS_URL")
