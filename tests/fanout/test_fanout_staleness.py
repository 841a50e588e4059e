"""A fanout's heartbeats reach the collector: values fed by a source that is lost, or by a
fanout that stops, are marked stale in the value store, and live again when it is back."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from fanout_helpers import Site, wait_logged

from wallboard.collector.service import Collector, CollectorSettings, read_all_values
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import StreamName
from wallboard.stats import standard_library
from wallboard.store.memory import MemoryValueStore

pytestmark = pytest.mark.timeout(300)


async def stale_reason(store: MemoryValueStore) -> str | None:
    values = await read_all_values(store, ["t1"])
    marked = values["t1"].get("source", {}).get("voice", {}).get("source.stale")
    return None if marked is None else str(marked["reason"])  # type: ignore[index]


async def until(store: MemoryValueStore, wanted: str | None, within: float = 30.0) -> str | None:
    deadline = time.monotonic() + within
    while True:
        reason = await stale_reason(store)
        if (reason is None) == (wanted is None) and (wanted is None or wanted in reason):  # type: ignore[operator]
            return reason
        assert time.monotonic() < deadline, f"still {reason!r}, waiting for {wanted!r}"
        await asyncio.sleep(0.1)


async def test_a_lost_source_or_a_silent_fanout_marks_the_values_stale(site: Site) -> None:
    source = site.start_source(rate=50, count=100_000)
    fanout = site.start_fanout()
    await site.wait_listening(site.fanout_port, fanout, "fanout")
    log = await site.log()
    store = MemoryValueStore()
    collector = Collector(
        log,
        store,
        standard_library(),
        CollectorSettings(streams=(StreamName.VOICE,), stale_after_s=2.0, flush_s=0.05),
    )
    task = asyncio.create_task(collector.run())
    try:
        await wait_logged(log, 50, "the first events")
        for _ in range(300):
            if "agent" in (await read_all_values(store, ["t1"]))["t1"]:
                break  # values are there
            await asyncio.sleep(0.1)
        assert await stale_reason(store) is None

        source.send_signal(signal.SIGKILL)  # the phone system's connection is lost
        source.wait(10)
        reason = await until(store, "has lost its source")
        assert "fanout voice" in reason  # type: ignore[operator]
        source = site.start_source(rate=50, count=100_000)
        await until(store, None)

        fanout.send_signal(signal.SIGKILL)  # the fanout itself falls silent
        fanout.wait(10)
        await until(store, "no heartbeat from fanout voice")
        fanout = site.start_fanout()
        await until(store, None)
        status = await collector.status()
        assert status["streams"]["voice"]["stale"] is None  # type: ignore[index]
    finally:
        collector.stop()
        await asyncio.wait_for(task, 30)
        await log.close()
    assert collector.bad_records == 0
    assert TenantId("t1") in collector.tenants
