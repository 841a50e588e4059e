"""Attacks on the live channel over a real server and WebSocket: the restricted supervisor
subscribes to everything it can think of, and no raw frame ever names a hidden object or
anything of the other tenant; a revoked kiosk link and forged credentials are refused."""

from __future__ import annotations

import asyncio
import json

import websockets
from attempts import Ledger
from security_site import ACME, GLOBEX_SECRET, HIDDEN, SecuredSite, leaks

from asgi_server import serve
from wallboard.core.ids import TenantId
from wallboard.store.values import Change

SUBSCRIPTIONS = [
    {"tenant": "acme", "dashboard": "mixed"},
    {"tenant": "acme"},
    {"tenant": "acme", "objects": [["agent", "zz-hidden-agent"], ["agent", "a1"]]},
    {"tenant": "acme", "objects": [["queue", "zz-hidden-queue"]]},
    {"tenant": "acme", "objects": [["agent_group", "zz-hidden-team"]]},
    {"tenant": "acme", "dashboard": "demo-dashboard"},
    {"tenant": "globex"},
    {"tenant": "globex", "objects": [["agent", "globex-secret-agent"]]},
    {"tenant": "globex", "dashboard": "demo-dashboard"},
]


async def read_for(ws: websockets.ClientConnection, seconds: float) -> list[str]:
    frames: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            frames.append(str(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return frames


async def test_no_live_frame_names_a_forbidden_object(site: SecuredSite, attempts: Ledger) -> None:
    for user in ("supervisor", "viewer"):
        cookie = site.sessions[user].client.cookies.get("wallboard_session")
        assert cookie
        async with (
            serve(site.app) as port,
            websockets.connect(
                f"ws://127.0.0.1:{port}/api/v1/live",
                additional_headers={"Cookie": f"wallboard_session={cookie}"},
            ) as ws,
        ):
            raw = await read_for(ws, 0.3)
            for number, subscription in enumerate(SUBSCRIPTIONS, start=1):
                await ws.send(json.dumps({"id": number, "type": "subscribe", **subscription}))
                raw += await read_for(ws, 0.3)
            assert any('"snapshot"' in frame for frame in raw), raw[:5]
            await site.values.apply(
                TenantId("acme"),
                [
                    Change("agent", "zz-hidden-agent", "agent.status", {"state": "busy"}),
                    Change("agent", "a1", "agent.status", {"state": "busy"}),
                    Change("queue", "zz-hidden-queue", "queue.calls_waiting", 9),
                ],
            )
            await site.values.apply(
                TenantId("globex"),
                [Change("agent", "globex-secret-agent", "agent.status", {"state": "busy"})],
            )
            raw += await read_for(ws, 1.0)
        for frame in raw:
            found = leaks(frame, HIDDEN, GLOBEX_SECRET)
            attempts.record(
                "object-denial-live", f"{user} frame {frame[:80]}", failed=not found, detail=frame
            )


async def test_live_channel_refuses_forged_and_revoked_credentials(
    site: SecuredSite, attempts: Ledger
) -> None:
    admin = site.sessions["admin"]
    made = await admin.request(
        "POST", f"{ACME}/kiosk-links", json={"wallboard": "demo-wallboard", "name": "Hall"}
    )
    link = made.json()
    revoked = await admin.request("DELETE", f"{ACME}/kiosk-links/{link['id']}")
    assert revoked.status_code == 204
    async with serve(site.app) as port:
        base = f"ws://127.0.0.1:{port}/api/v1/live"
        for name, url, headers in (
            ("revoked kiosk", f"{base}?kiosk={link['token']}", {}),
            ("guessed kiosk", f"{base}?kiosk=wbk_guessed", {}),
            ("forged cookie", base, {"Cookie": "wallboard_session=wbs_forged"}),
            ("forged bearer", base, {"Authorization": "Bearer a.b.c"}),
            ("no credentials", base, {}),
        ):
            refused = False
            try:
                async with websockets.connect(url, additional_headers=headers) as ws:
                    frames = await read_for(ws, 0.5)
                    await ws.send(json.dumps({"id": 1, "type": "subscribe", "tenant": "acme"}))
                    frames += await read_for(ws, 0.5)
                    refused = not any('"snapshot"' in frame for frame in frames)
            except (websockets.InvalidStatus, websockets.ConnectionClosed):
                refused = True
            attempts.record("live-credentials", name, failed=refused)
