"""The live channel mounted in the web tier: a dashboard or widget subscription is what its
widgets show, resolved from the metadata."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from prometheus_client import CollectorRegistry

from asgi_server import serve
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.settings import Settings
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll


async def receive(ws: Any, kind: str) -> dict[str, Any]:
    for _ in range(50):
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind}")


async def test_dashboard_and_widget_subscriptions_are_what_the_widgets_show(
    database: Database,
) -> None:
    store = MemoryValueStore()
    await store.apply(
        TenantId("acme"),
        [
            Change("queue", "sales", "queue.calls_waiting", 3),
            Change("queue", "sales", "queue.asa", 12000),
            Change("queue", "sales", "queue.handled", 7),  # on no widget of the dashboard
            Change("agent", "a1", "agent.status", {"state": "ready"}),
        ],
    )
    app = create_app(
        Settings(), database=database, store=store, registry=CollectorRegistry(), policy=AllowAll()
    )

    async with serve(app) as port, websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live") as ws:
        await receive(ws, "hello")
        await ws.send(
            json.dumps(
                {"id": 1, "type": "subscribe", "tenant": "acme", "dashboard": "demo-dashboard"}
            )
        )
        assert (await receive(ws, "result"))["ok"] is True
        dashboard = (await receive(ws, "snapshot"))["values"]
        await ws.send(
            json.dumps(
                {
                    "id": 2,
                    "type": "subscribe",
                    "tenant": "acme",
                    "dashboard": "demo-dashboard",
                    "widget": "service-level",
                }
            )
        )
        assert (await receive(ws, "result"))["ok"] is True
        widget = (await receive(ws, "snapshot"))["values"]
        await ws.send(
            json.dumps({"id": 3, "type": "subscribe", "tenant": "acme", "dashboard": "nope"})
        )
        refused = await receive(ws, "result")
        await app.state.live_hub.close()
    keys = {tuple(row[:3]) for row in dashboard}
    assert ("queue", "sales", "queue.calls_waiting") in keys
    assert ("queue", "sales", "queue.asa") in keys
    assert ("agent", "a1", "agent.status") in keys
    assert ("queue", "sales", "queue.handled") not in keys
    # The service-level widget is made from Queue KPIs: every statistic of its template.
    assert ("queue", "sales", "queue.calls_waiting") in {tuple(row[:3]) for row in widget}
    assert ("agent", "a1", "agent.status") not in {tuple(row[:3]) for row in widget}
    assert refused["ok"] is False
    assert refused["error"]["code"] == "not_found"
