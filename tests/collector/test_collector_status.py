"""A running collector publishes its status record each second; the web tier's
``/api/v1/status`` reads it from the value store (memory and real Redis): newest event per
source, stale sources, statistics open, lag; a collector that stops withdraws its record."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from test_collector import DEFINITIONS, publish, settings

from wallboard.collector.service import Collector
from wallboard.collector.status import read_statuses
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.db.database import open_database
from wallboard.eventlog.interface import StreamName, heartbeat_record
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.settings import Settings
from wallboard.store.interface import ValueStore
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll


@pytest.fixture
def store(memory_or_redis_store: ValueStore) -> ValueStore:
    return memory_or_redis_store


async def test_the_status_endpoint_shows_what_a_running_collector_reports(
    lines: list[bytes], store: ValueStore, migrated_sqlite_url: str
) -> None:
    log = MemoryEventLog()
    await publish(log, lines)
    voice = StreamName.VOICE
    await log.publish_many(voice, [heartbeat_record("fanout-voice", True, time.time_ns() // 10**6)])
    newest: dict[str, int] = {}
    for line in lines:
        event = decode_event(line)
        assert isinstance(event, Event)
        newest[event.source] = max(newest.get(event.source, 0), event.ts)

    collector = Collector(log, store, DEFINITIONS, settings(name="7", stale_after_s=30))
    task = asyncio.create_task(collector.run())
    async with open_database(migrated_sqlite_url) as database:
        app = create_app(
            Settings(),
            database=database,
            store=store,
            registry=CollectorRegistry(),
            policy=AllowAll(),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:

            async def status_until(done: Any, what: str) -> dict[str, Any]:
                for _ in range(200):
                    answer = await client.get("/api/v1/status")
                    assert answer.status_code == 200, answer.text
                    body: dict[str, Any] = answer.json()
                    if done(body):
                        return body
                    await asyncio.sleep(0.05)
                raise AssertionError(f"the status never showed {what}: {body}")

            def caught_up(body: dict[str, Any]) -> bool:
                return bool(body["collectors"]) and body["collectors"][0]["lag"] == 0

            body = await status_until(caught_up, "the collector caught up")
            assert body["status"] == "ok"
            [report] = body["collectors"]
            assert report["name"] == "7"
            assert report["reporting"] is True
            assert report["eventsApplied"] == len(lines)
            assert report["tenants"] == 2
            assert report["statisticsOpen"] == collector.statistics_open > 1000
            assert body["statisticsOpen"] == report["statisticsOpen"]
            sources = {s["stream"]: s for s in body["sources"]}
            assert sorted(sources) == sorted(s.value for s in StreamName)
            for stream, ts in newest.items():
                assert sources[stream]["newestEventMs"] == ts, stream
                assert sources[stream]["stale"] is False
                assert sources[stream]["lag"] == 0

            # The voice publisher loses its source: the status says so, by stream.
            await log.publish_many(
                voice, [heartbeat_record("fanout-voice", False, time.time_ns() // 10**6)]
            )
            body = await status_until(
                lambda b: any(s["stale"] for s in b["sources"]), "a stale source"
            )
            assert body["status"] == "degraded"
            stale = [s for s in body["sources"] if s["stale"]]
            assert [s["stream"] for s in stale] == ["voice"]
            assert stale[0]["staleReason"] == "fanout-voice has lost its source"

            collector.stop()
            await asyncio.wait_for(task, 30)
            assert await read_statuses(store) == ([], 0), "a clean stop withdraws the record"
            answer = await client.get("/api/v1/status")
            assert answer.json()["status"] == "no_collectors"
        await app.state.live_hub.close()
