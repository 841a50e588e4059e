"""``wallboard serve web`` as its own process: API and operations ports, readiness, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from cli_process import assert_refused, wallboard
from database_fixtures import run_blocking
from wallboard.core.ids import TenantId
from wallboard.db.database import open_database
from wallboard.identity.users import add_user
from wallboard.permissions.service import PermissionsFollower
from wallboard.permissions.store import RedisPermissionsStore
from wallboard.store.redis import RedisValueStore
from wallboard.web.tenant_init import Mode, init_tenant

PASSWORD = "a password of ops"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60  # a loaded machine starts a process slowly
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered:\n{log.read_text()[-3000:]}")


@pytest.fixture
def web(
    request: pytest.FixtureRequest, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    url: str = request.getfixturevalue(request.param)
    prefix = f"wbtest-{uuid.uuid4().hex[:8]}"
    if request.param == "migrated_sqlite_url":

        async def seed() -> None:
            async with open_database(url) as database:
                await init_tenant(database, "acme", Mode.SETUP)
                async with database.sessions() as session:
                    await add_user(
                        session, TenantId("acme"), "ops", password=PASSWORD, roles=["viewer"]
                    )
                    await session.commit()
                # What `wallboard serve permissions` would have stored: the secured web tier
                # reads each user's visible objects from Redis.
                store = await RedisValueStore.connect(redis_url, prefix=prefix)
                try:
                    await PermissionsFollower(
                        database, RedisPermissionsStore(store), registry=CollectorRegistry()
                    ).poll()
                finally:
                    await store.close()

        run_blocking(seed())
    api_port, ops_port = free_port(), free_port()
    env = {
        **os.environ,
        "WALLBOARD_DATABASE_URL": url,
        "WALLBOARD_REDIS_URL": redis_url,
        "WALLBOARD_REDIS_PREFIX": prefix,
        "WALLBOARD_WEB_PORT": str(api_port),
        "WALLBOARD_WEB_METRICS_PORT": str(ops_port),
        "WALLBOARD_LOG_LEVEL": "info",
    }
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "serve", "web"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        api, ops = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ops_port}"
        wait_for(f"{api}/healthz", proc, log)
        wait_for(f"{ops}/healthz", proc, log)
        yield api, ops
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("web", ["migrated_sqlite_url"], indirect=True)
def test_serves_the_api_and_stops_on_sigterm(web: tuple[str, str]) -> None:
    api, ops = web
    spec = httpx.get(f"{api}/api/v1/openapi.json").json()
    assert "/api/v1/tenants/{tenant}/dashboards" in spec["paths"]
    # It serves the secured policy: nothing without a login.
    assert httpx.get(f"{api}/api/v1/tenants/acme/templates").status_code == 401
    with httpx.Client(base_url=api) as client:
        login = client.post("/api/v1/auth/login", json={"username": "ops", "password": PASSWORD})
        assert login.status_code == 200, login.text
        templates = client.get("/api/v1/tenants/acme/templates").json()
    assert templates.get("pagination", {}).get("totalCount") == 17, templates
    for base in (api, ops):
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"schema": "ok", "value_store": "ok"}
    assert httpx.get(f"{ops}/metrics").status_code == 200
    assert httpx.get(f"{api}/metrics").status_code == 404


@pytest.mark.parametrize("web", ["sqlite_url"], indirect=True)
def test_is_not_ready_before_the_schema_is_migrated(web: tuple[str, str]) -> None:
    api, _ = web
    ready = httpx.get(f"{api}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["schema"] == "failing"


def test_a_taken_port_is_refused_by_name(migrated_sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = wallboard(
            "serve",
            "web",
            env={
                "WALLBOARD_DATABASE_URL": migrated_sqlite_url,
                "WALLBOARD_WEB_PORT": str(port),
                "WALLBOARD_REDIS_URL": "",
            },
        )
    assert_refused(result, f"127.0.0.1:{port}", "web API")
