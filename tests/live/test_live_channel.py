"""The live channel over a real WebSocket: hello, snapshot then changes, coalescing, heartbeats,
and bad messages refused with a code while the connection goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from asgi_server import serve
from wallboard.core.ids import TenantId
from wallboard.live.channel import ConnectionAccess, LiveError, Subscribe, live_endpoint
from wallboard.live.hub import Hub, Target
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change, Since

TENANT = TenantId("acme")


@pytest.fixture
async def live() -> AsyncIterator[tuple[MemoryValueStore, str]]:
    store = MemoryValueStore()
    hub = Hub(store, poll_timeout=0.2, coalesce_s=0.2)
    app = FastAPI()
    app.add_api_websocket_route(
        "/api/v1/live",
        live_endpoint(hub, heartbeat_s=0.5, registry=CollectorRegistry()),
    )
    async with serve(app) as port:
        yield store, f"ws://127.0.0.1:{port}/api/v1/live"
    await hub.close()


async def receive(ws: Any, kind: str, within: float = 3.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def test_a_subscription_gets_a_snapshot_then_only_changes(
    live: tuple[MemoryValueStore, str],
) -> None:
    store, url = live
    await store.apply(TENANT, [Change("queue", "q1", "queue.calls_waiting", 3)])
    await store.apply(TENANT, [Change("agent", "a1", "agent.status", {"state": "ready"})])
    async with websockets.connect(url) as ws:
        hello = await receive(ws, "hello")
        assert hello["protocol"] == 1
        await ws.send(
            json.dumps(
                {
                    "id": 1,
                    "type": "subscribe",
                    "tenant": "acme",
                    "statistics": ["queue.calls_waiting", "agent.time_in_status"],
                }
            )
        )
        assert (await receive(ws, "result")) == {"type": "result", "id": 1, "ok": True, "sub": 1}
        snapshot = await receive(ws, "snapshot")
        assert snapshot["values"] == [["queue", "q1", "queue.calls_waiting", 3]]
        version = snapshot["version"]
        await store.apply(
            TENANT,
            [
                Change("queue", "q1", "queue.calls_waiting", 4),
                Change("agent", "a1", "agent.time_in_status", Since(1_700_000_000_000)),
                Change("agent", "a1", "agent.status", {"state": "talking"}),  # not subscribed
            ],
        )
        changes = await receive(ws, "changes")
        assert changes["version"] > version
        assert sorted(changes["changes"]) == [
            ["agent", "a1", "agent.time_in_status", {"since": 1_700_000_000_000}],
            ["queue", "q1", "queue.calls_waiting", 4],
        ]
        await store.apply(TENANT, [Change("queue", "q1", "queue.calls_waiting", None)])
        removed = await receive(ws, "changes")
        assert removed["changes"] == [["queue", "q1", "queue.calls_waiting", None]]


async def test_fast_changes_are_coalesced_latest_wins(live: tuple[MemoryValueStore, str]) -> None:
    store, url = live
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"id": 1, "type": "subscribe", "tenant": "acme"}))
        await receive(ws, "snapshot")
        for n in range(300):
            await store.apply(TENANT, [Change("queue", "q1", "queue.entered", n)])
            if n % 50 == 0:
                await asyncio.sleep(0.05)
        messages = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "changes":
                        messages.append(message)
        assert 1 <= len(messages) <= 12  # at most one per 0.2 s, never one per batch
        assert messages[-1]["changes"] == [["queue", "q1", "queue.entered", 299]]


async def test_bad_messages_are_refused_with_a_code_and_the_connection_goes_on(
    live: tuple[MemoryValueStore, str],
) -> None:
    _, url = live
    async with websockets.connect(url) as ws:
        await receive(ws, "hello")
        cases = [
            ("{not json", None, "invalid"),
            (json.dumps({"id": 1, "type": "dance"}), None, "invalid"),
            (json.dumps({"id": 2, "type": "subscribe"}), 2, "invalid"),
            (json.dumps({"id": 3, "type": "subscribe", "tenant": "a{b"}), 3, "invalid"),
            (json.dumps({"id": 3, "type": "ping"}), 3, "id_reuse"),
            (json.dumps({"id": 4, "type": "unsubscribe", "sub": 99}), 4, "not_found"),
            (
                json.dumps({"id": 5, "type": "subscribe", "dashboard": "d", "widget": "w"}),
                5,
                "not_supported",
            ),
            ("x" * 300_000, None, "too_large"),
        ]
        for text, message_id, code in cases:
            await ws.send(text)
            result = await receive(ws, "result")
            assert result["ok"] is False, text[:40]
            assert result["id"] == message_id
            assert result["error"]["code"] == code, result
        await ws.send(json.dumps({"id": 6, "type": "ping"}))
        assert (await receive(ws, "result"))["ok"] is True
        heartbeat = await receive(ws, "heartbeat", within=2.0)
        assert heartbeat["ts"] > 0


async def test_a_connection_whose_access_changes_resends_or_ends_its_subscriptions() -> None:
    """``access_for``: when the access changes, each subscription is resolved again: a new
    target gets a fresh snapshot, a refused one ``ended`` (and nothing after)."""
    store = MemoryValueStore()
    await store.apply(
        TENANT,
        [
            Change("queue", "q1", "queue.calls_waiting", 1),
            Change("queue", "q2", "queue.calls_waiting", 2),
        ],
    )
    allowed = {("queue", "q1"), ("queue", "q2")}
    changed: asyncio.Queue[None] = asyncio.Queue()

    async def resolve(request: Subscribe) -> Target:
        if not allowed:
            raise LiveError("not_found", "nothing visible any more")
        return Target(TENANT, visible=frozenset(allowed))

    async def changes() -> AsyncIterator[None]:
        while True:
            yield await changed.get()

    async def access_for(websocket: object) -> ConnectionAccess:
        return ConnectionAccess(resolve, changes)

    hub = Hub(store, poll_timeout=0.2, coalesce_s=0.05)
    app = FastAPI()
    app.add_api_websocket_route(
        "/api/v1/live", live_endpoint(hub, access_for=access_for, registry=CollectorRegistry())
    )
    async with serve(app) as port, websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live") as ws:
        await ws.send(json.dumps({"id": 1, "type": "subscribe", "tenant": "acme"}))
        first = await receive(ws, "snapshot")
        allowed.discard(("queue", "q2"))
        changed.put_nowait(None)
        narrowed = await receive(ws, "snapshot")
        allowed.clear()
        changed.put_nowait(None)
        ended = await receive(ws, "ended")
        await store.apply(TENANT, [Change("queue", "q1", "queue.calls_waiting", 5)])
        with pytest.raises(TimeoutError):
            await receive(ws, "changes", within=0.5)
    await hub.close()
    assert {row[1] for row in first["values"]} == {"q1", "q2"}
    assert {row[1] for row in narrowed["values"]} == {"q1"}
    assert ended == {
        "type": "ended",
        "sub": 1,
        "error": {"code": "not_found", "message": "nothing visible any more"},
    }
