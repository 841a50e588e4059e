"""``wallboard serve collector`` with ``WALLBOARD_COLLECTOR_OBJECTS=database`` on real NATS and
Redis: it starts with the configuration objects of the metadata database and follows their
changes while it runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from wallboard.config.documents import parse_yaml
from wallboard.config.service import import_objects
from wallboard.core.clock import SystemClock
from wallboard.core.codec import encode
from wallboard.core.events import AgentLogin
from wallboard.core.ids import AgentId, EventId, SourceId, TenantId
from wallboard.db.database import Database, open_database
from wallboard.eventlog.interface import StreamName
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
from wallboard.store.redis import RedisValueStore
from wallboard.web.tenant_init import Mode, init_tenant

TEAM = """
objects:
  - {type: agent, name: a-1}
  - {type: agent_group, name: team, attributes: {agents: [a-1]}}
"""
GROWN = """
objects:
  - {type: agent, name: a-2}
  - {type: agent_group, name: team, attributes: {agents: [a-1, a-2]}}
"""


def start_collector(env: dict[str, str], errors: Path) -> subprocess.Popen[bytes]:
    with errors.open("ab") as out:  # the child writes to its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "serve", "collector"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


@pytest.fixture
async def database(migrated_sqlite_url: str) -> AsyncIterator[Database]:
    async with open_database(migrated_sqlite_url) as db:
        await init_tenant(db, "acme", Mode.SETUP)
        await import_objects(db, "acme", parse_yaml(TEAM))
        yield db


async def test_the_collector_follows_the_configuration_objects(
    nats_url: str, redis_url: str, migrated_sqlite_url: str, database: Database, tmp_path: Path
) -> None:
    prefix = f"cfg{uuid.uuid4().hex[:8]}"
    log = await JetStreamEventLog.connect(JetStreamSettings(url=nats_url, prefix=prefix))
    store = await RedisValueStore.connect(redis_url, prefix=prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env.update(
        WALLBOARD_NATS_URL=nats_url,
        WALLBOARD_LOG_PREFIX=prefix,
        WALLBOARD_REDIS_URL=redis_url,
        WALLBOARD_REDIS_PREFIX=prefix,
        WALLBOARD_DATABASE_URL=migrated_sqlite_url,
        WALLBOARD_COLLECTOR_OBJECTS="database",
        WALLBOARD_COLLECTOR_FLUSH_MS="20",
        WALLBOARD_METRICS_PORT="0",
    )
    errors = tmp_path / "collector.log"
    proc = start_collector(env, errors)
    try:
        now = SystemClock().now_ms()
        records = [
            (
                TenantId("acme"),
                f"e{seq}",
                encode(
                    AgentLogin(
                        tenant=TenantId("acme"),
                        source=SourceId("voice"),
                        seq=seq,
                        id=EventId(f"e{seq}"),
                        ts=now,
                        agent=AgentId(agent),
                    )
                ),
            )
            for seq, agent in enumerate(("a-1", "a-2"), start=1)
        ]
        await log.publish_many(StreamName.VOICE, records)

        async def logged_in() -> object:
            snapshot = await store.snapshot(TenantId("acme"))
            return (
                snapshot.values.get("agent_group", {}).get("team", {}).get("group.agents_logged_in")
            )

        deadline = time.monotonic() + 60  # a loaded machine starts a process slowly
        while await logged_in() != 1:
            assert proc.poll() is None, errors.read_text()[-3000:]
            assert time.monotonic() < deadline, errors.read_text()[-3000:]
            await asyncio.sleep(0.05)
        await import_objects(database, "acme", parse_yaml(GROWN))
        written = time.monotonic()
        while await logged_in() != 2:
            # Within a second in process (tests/config/test_config_changes.py); here a
            # loaded machine's process gets twice that.
            assert time.monotonic() - written < 2.0, errors.read_text()[-3000:]
            await asyncio.sleep(0.02)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
        await log.delete_streams()
        await log.close()
        await store.close()
        client = redis.asyncio.Redis.from_url(redis_url)
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()
    assert "Traceback" not in errors.read_text()
