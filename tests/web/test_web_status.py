"""``GET /api/v1/status``: the collectors' records in the value store, summed up; a record that
is too old is a collector that does not report. On the memory store and on real Redis."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from wallboard.collector.status import (
    STATUS_OBJECT_TYPE,
    STATUS_STATISTIC,
    STATUS_TENANT,
    CollectorStatus,
    StreamStatus,
    Why,
    publish_status,
    withdraw_status,
)
from wallboard.core.clock import FakeClock
from wallboard.db.database import Database
from wallboard.settings import Settings
from wallboard.store.interface import ValueStore
from wallboard.store.values import Change
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll
from wallboard.web.status import REPORTING_WITHIN_S

NOW = 1_760_000_000_000


@pytest.fixture
def store(memory_or_redis_store: ValueStore) -> ValueStore:
    return memory_or_redis_store


def record(
    name: str,
    *,
    updated_ms: int = NOW,
    voice_newest: int | None = NOW - 2000,
    voice_lag: int | None = 3,
    stale: Why | None = None,
    statistics_open: int = 100,
) -> CollectorStatus:
    return CollectorStatus(
        name=name,
        ordinal=int(name),
        replicas=2,
        updated_ms=updated_ms,
        reading_ms=updated_ms,
        tenants=1,
        statistics_open=statistics_open,
        events_applied=500,
        records_read=510,
        bad_records=0,
        streams={
            "voice": StreamStatus(
                newest_event_ms=voice_newest,
                read_position=500,
                lag=voice_lag,
                caught_up=voice_lag == 0,
                stale=stale,
            ),
            "interactions": StreamStatus(
                newest_event_ms=None, read_position=0, lag=0, caught_up=True, stale=None
            ),
        },
        unreachable={},
    )


async def status(store: ValueStore, database: Database, clock: FakeClock) -> dict[str, Any]:
    app = create_app(
        Settings(),
        database=database,
        store=store,
        clock=clock,
        registry=CollectorRegistry(),
        policy=AllowAll(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        answer = await client.get("/api/v1/status")
    await app.state.live_hub.close()
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


async def test_collectors_records_are_summed_and_an_old_one_is_not_reporting(
    store: ValueStore, database: Database
) -> None:
    clock = FakeClock(NOW)
    empty = await status(store, database, clock)
    assert empty["status"] == "no_collectors"
    assert empty["collectors"] == []
    assert empty["sources"] == []

    await publish_status(store, record("0", voice_newest=NOW - 5000, voice_lag=3))
    await publish_status(store, record("1", voice_newest=NOW - 1000, voice_lag=7))
    both = await status(store, database, clock)
    assert both["status"] == "ok"
    assert both["statisticsOpen"] == 200
    assert both["lag"] == 10, "records behind, over the collectors"
    sources = by_name(both["sources"], "stream")
    assert sources["voice"] == {
        "stream": "voice",
        "newestEventMs": NOW - 1000,
        "stale": False,
        "staleSinceMs": None,
        "staleReason": None,
        "lag": 7,
    }
    assert sources["interactions"]["newestEventMs"] is None, "no event yet is not time 0"
    collectors = by_name(both["collectors"], "name")
    assert collectors["0"]["reporting"] is True
    assert collectors["1"]["lag"] == 7
    assert collectors["1"]["eventsApplied"] == 500

    # Collector 1 stops reporting; collector 0 goes on and finds its voice source lost.
    await clock.advance(REPORTING_WITHIN_S + 1)
    lost = Why(since=NOW + 2000, reason="fanout-voice has lost its source")
    await publish_status(store, record("0", updated_ms=clock.now_ms(), stale=lost))
    degraded = await status(store, database, clock)
    assert degraded["status"] == "degraded"
    collectors = by_name(degraded["collectors"], "name")
    assert collectors["1"]["reporting"] is False
    assert collectors["1"]["ageS"] == pytest.approx(REPORTING_WITHIN_S + 1)
    assert collectors["0"]["reporting"] is True
    assert degraded["statisticsOpen"] == 100, "what a silent collector had open is not counted"
    voice = by_name(degraded["sources"], "stream")["voice"]
    assert voice["stale"] is True
    assert voice["staleReason"] == "fanout-voice has lost its source"
    assert voice["staleSinceMs"] == NOW + 2000
    assert voice["newestEventMs"] == NOW - 2000, "only reporting collectors' events count"

    # A collector that stops cleanly withdraws its record; one of unknown shape is counted.
    await withdraw_status(store, "1")
    await store.apply(STATUS_TENANT, [Change(STATUS_OBJECT_TYPE, "9", STATUS_STATISTIC, "?")])
    await publish_status(store, record("0", updated_ms=clock.now_ms()))
    after = await status(store, database, clock)
    assert [c["name"] for c in after["collectors"]] == ["0"]
    assert after["unreadableRecords"] == 1
    assert after["status"] == "ok"


async def test_without_a_value_store_the_status_is_unavailable(database: Database) -> None:
    app = create_app(Settings(), database=database, registry=CollectorRegistry(), policy=AllowAll())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        answer = await client.get("/api/v1/status")
    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert "WALLBOARD_REDIS_URL" in answer.json()["message"]
