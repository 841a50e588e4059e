"""``wallboard serve permissions`` as processes (two replicas) on real PostgreSQL and Redis: a
change of an access group reaches the stored visible sets within a second."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cli_process import assert_refused, wallboard
from permissions_helpers import access_group, add_tenant, filed, folder, put_objects
from wallboard.core.ids import TenantId
from wallboard.db.database import Database, open_database
from wallboard.permissions.store import RedisPermissionsStore
from wallboard.store.redis import RedisValueStore, redis_client

ACME = TenantId("acme")
START_S = 60.0  # a loaded machine starts a Python process slowly
_PORT = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)")


def start(
    database_url: str, redis_url: str, prefix: str, log_file: Path
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env.update(
        WALLBOARD_DATABASE_URL=database_url,
        WALLBOARD_REDIS_URL=redis_url,
        WALLBOARD_REDIS_PREFIX=prefix,
        WALLBOARD_METRICS_PORT="0",
        WALLBOARD_LOG_LEVEL="info",
    )
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "serve", "permissions"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def metrics_port(log_file: Path, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        found = _PORT.search(log_file.read_text())  # noqa: ASYNC240 - a small local file
        if found:
            return int(found.group(1))
        assert process.poll() is None, log_file.read_text()  # noqa: ASYNC240
        await asyncio.sleep(0.05)
    raise AssertionError(f"no metrics port in {log_file.read_text()}")  # noqa: ASYNC240


async def metric_values(client: httpx.AsyncClient) -> dict[str, float]:
    """The process's unlabelled samples by name."""
    out = {}
    for line in (await client.get("/metrics")).text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.fixture
async def postgres(migrated_postgres_url: str) -> AsyncIterator[tuple[str, Database]]:
    async with open_database(migrated_postgres_url) as database:
        yield migrated_postgres_url, database


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[tuple[str, RedisPermissionsStore]]:
    prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
    values = await RedisValueStore.connect(redis_url, prefix=prefix)
    try:
        yield prefix, RedisPermissionsStore(values)
    finally:
        await values.close()
        client = redis_client(redis_url)
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


async def test_a_changed_access_group_is_stored_within_a_second(
    postgres: tuple[str, Database],
    redis_store: tuple[str, RedisPermissionsStore],
    redis_url: str,
    tmp_path: Path,
) -> None:
    database_url, database = postgres
    prefix, store = redis_store
    await add_tenant(database, "acme")
    first = await put_objects(
        database,
        "acme",
        folder("floor1"),
        filed("agent", "alice", "floor1"),
        filed("agent", "bob", None),
        access_group("sups", ["sup"], folders=["floor1"]),
    )
    logs = [tmp_path / "replica-0.log", tmp_path / "replica-1.log"]
    replicas = [start(database_url, redis_url, prefix, log) for log in logs]
    try:
        port = await metrics_port(logs[0], replicas[0])
        deadline = time.monotonic() + START_S
        while await store.version(ACME) != first:
            assert time.monotonic() < deadline, logs[0].read_text()
            await asyncio.sleep(0.05)
        assert await store.read(ACME, "sup") == (first, frozenset({("agent", "alice")}))
        ports = [port, await metrics_port(logs[1], replicas[1])]  # both replicas run

        changed = await put_objects(
            database, "acme", access_group("sups", ["sup"], objects=[("agent", "bob")])
        )
        started = time.monotonic()
        while (await store.read(ACME, "sup")) != (changed, frozenset({("agent", "bob")})):
            assert time.monotonic() - started < 1.0, "not recomputed within a second"
            await asyncio.sleep(0.01)

        metrics, statuses = [], []
        for each in ports:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{each}") as client:
                assert (await client.get("/healthz")).status_code == 200
                ready = await client.get("/readyz")
                assert ready.status_code == 200, ready.text
                metrics.append(await metric_values(client))
                statuses.append((await client.get("/status")).json())
        assert all(status["tenants"] == {"acme": changed} for status in statuses), statuses
        # Each version was written once, by one replica or the other (the other skipped it).
        written = [m["wallboard_permissions_recomputes_total"] for m in metrics]
        assert sum(written) == 2, metrics
        assert max(m["wallboard_permissions_last_version"] for m in metrics) == changed
        assert any(m["wallboard_permissions_users"] == 1 for m in metrics), metrics
        assert sum(m["wallboard_permissions_recompute_seconds_count"] for m in metrics) >= 2
    finally:
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)
        codes = [replica.wait(timeout=30) for replica in replicas]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    assert "Traceback" not in logs[0].read_text() + logs[1].read_text()


def test_without_redis_it_refuses_to_start_naming_the_setting() -> None:
    result = wallboard(
        "serve", "permissions", env={"WALLBOARD_REDIS_URL": "", "WALLBOARD_METRICS_PORT": "0"}
    )
    assert_refused(result, "WALLBOARD_REDIS_URL")
