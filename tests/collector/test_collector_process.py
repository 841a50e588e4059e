"""The collector as a process on real NATS JetStream and Redis: killed with SIGKILL at many
points of a long replay, it ends with exactly the values of an uninterrupted run."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from collector_site import (
    Site,
    demo_lines,
    differences,
    open_site,
    progress,
    start_collector,
    stored_values,
    wait_until_reading,
)
from expected import expected_values

from wallboard.store.redis import RedisValueStore

KILLS_MIDWAY = 20


@pytest.fixture
async def site(nats_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site(nats_url, redis_url, "wbkill") as site:
        await site.publish(demo_lines(tmp_path, seed=2, hours=6))
        yield site


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
            proc = start_collector(
                site, log_file, WALLBOARD_COLLECTOR_CHECKPOINT_EVENTS=str(rng.randint(20, 200))
            )
            procs.append(proc)
            await wait_until_reading(log_file, proc)
            starts += 1
            # Let the run make some progress (a checkpoint), then kill it at a random moment:
            # mid-batch, between checkpoints, while writing values.
            before = sum((await progress(store)).values())
            for _ in range(1000):
                now = sum((await progress(store)).values())
                assert now >= before, f"the restart position moved back from {before} to {now}"
                if now > before or proc.poll() is not None:
                    break
                await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0, 0.03))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            done = sum((await progress(store)).values())
            assert done >= before, f"the restart position moved back from {before} to {done}"
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
        proc = start_collector(site, log_file, WALLBOARD_COLLECTOR_CHECKPOINT_EVENTS="1000")
        procs.append(proc)
        await wait_until_reading(log_file, proc)
        deadline = time.monotonic() + 120
        while (reached := await progress(store)) != site.last:
            assert time.monotonic() < deadline, f"the collector reached {reached} of {site.last}"
            assert proc.poll() is None, log_file.read_text()[-3000:]
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log_file.read_text()[-3000:]
        got, want = await stored_values(store, ("acme", "globex")), expected_values(site.lines)
        assert got == want, "\n".join(differences(got, want))
        assert "Traceback" not in log_file.read_text()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        await store.close()
