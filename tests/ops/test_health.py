"""Every process serves /healthz, /readyz (naming failing checks) and /metrics."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry

from wallboard.core.errors import Unavailable
from wallboard.ops import health
from wallboard.ops.health import ops_app
from wallboard.ops.logging import configure_logging
from wallboard.ops.metrics import counter, gauge, metric_name
from wallboard.ops.server import serve_ops
from wallboard.settings import Settings


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_readiness_reports_each_check() -> None:
    async def ok() -> bool:
        return True

    async def down() -> bool:
        return False

    async def broken() -> bool:
        raise ConnectionError("refused")

    app = ops_app({"database": ok, "redis": down, "upstream": broken}, CollectorRegistry())
    assert (await _get(app, "/healthz")).status_code == 200
    response = await _get(app, "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "failing",
        "upstream": "error: ConnectionError",
    }
    ready = await _get(ops_app({"database": ok}, CollectorRegistry()), "/readyz")
    assert ready.status_code == 200


async def test_readiness_says_what_the_process_is_doing_now() -> None:
    roles = iter(["standing by for ordinals 0 to 1", "collecting ordinal 1 of 2"])
    app = ops_app({}, CollectorRegistry(), role=lambda: next(roles))
    first, second = (await _get(app, "/readyz")), (await _get(app, "/readyz"))
    assert first.status_code == second.status_code == 200
    assert first.json()["role"] == "standing by for ordinals 0 to 1"
    assert second.json()["role"] == "collecting ordinal 1 of 2"
    assert "role" not in (await _get(ops_app({}, CollectorRegistry()), "/readyz")).json()


async def test_a_hanging_check_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.05)

    async def hangs() -> bool:
        await asyncio.sleep(10)
        return True

    response = await _get(ops_app({"slow": hangs}, CollectorRegistry()), "/readyz")
    assert response.json()["checks"] == {"slow": "timeout"}


async def test_metrics_are_exposed_with_conventional_names() -> None:
    registry = CollectorRegistry()
    events = counter("test", "events_received", "Events received.", registry=registry)
    events.inc(3)
    assert counter("test", "events_received", "again", registry=registry) is events
    gauge("test", "clients", "Clients.", registry=registry).set(2)
    body = (await _get(ops_app(None, registry), "/metrics")).text
    assert "wallboard_test_events_received_total 3.0" in body
    assert "wallboard_test_clients 2.0" in body


def test_metric_names_follow_the_convention() -> None:
    assert metric_name("wire", "sent", "bytes") == "wallboard_wire_sent_bytes"
    with pytest.raises(ValueError, match="snake_case"):
        metric_name("Wire", "sent")
    with pytest.raises(ValueError, match="base unit"):
        metric_name("wire", "latency", "milliseconds")


def test_json_logs_are_one_object_per_line_with_extra_fields() -> None:
    stream = io.StringIO()
    configure_logging(Settings.from_env({"WALLBOARD_LOG_FORMAT": "json"}), stream)
    try:
        logging.getLogger("wallboard.test").warning("dropped %d", 2, extra={"client": "c1"})
    finally:
        configure_logging(Settings.from_env({}))
    entry = json.loads(stream.getvalue().strip())
    assert entry["message"] == "dropped 2"
    assert entry["client"] == "c1"
    assert entry["level"] == "warning"


async def test_ops_endpoints_are_served_over_real_http() -> None:
    registry = CollectorRegistry()
    counter("test", "served", "Served.", registry=registry).inc()
    async with (
        serve_ops("127.0.0.1", 0, None, registry) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert "wallboard_test_served_total 1.0" in (await client.get("/metrics")).text


async def test_a_taken_port_is_reported_as_unavailable() -> None:
    async with serve_ops("127.0.0.1", 0, None, CollectorRegistry()) as port:
        with pytest.raises(Unavailable, match=f"127.0.0.1:{port}"):
            async with serve_ops("127.0.0.1", port, None, CollectorRegistry()):
                pass
