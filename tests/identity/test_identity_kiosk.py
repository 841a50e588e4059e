"""Kiosk links: read-only, only their wallboard (and the dashboards it rotates through), on
REST and the live channel; revoked, they open nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client import CollectorRegistry

from asgi_server import serve
from identity_site import Login, Site
from identity_site import Session as LoggedIn
from wallboard.db.database import Database
from wallboard.settings import Settings
from wallboard.store.memory import MemoryValueStore
from wallboard.web.app import create_app

ACME = "/api/v1/tenants/acme"


async def make_link(admin: LoggedIn, wallboard: str = "demo-wallboard") -> dict[str, Any]:
    response = await admin.request(
        "POST", f"{ACME}/kiosk-links", json={"wallboard": wallboard, "name": "Hall screen"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_kiosk_link_reads_its_wallboard_only(site: Site, login: Login) -> None:
    admin = await login("admin")
    private = await admin.request("POST", f"{ACME}/dashboards", json={"uid": "mine", "name": "m"})
    assert private.status_code == 201
    link = await make_link(admin)
    assert link["url"] == f"/#/wallboards/demo-wallboard?tenant=acme&kiosk={link['token']}"
    listed = (await admin.request("GET", f"{ACME}/kiosk-links")).json()
    assert [item["id"] for item in listed] == [link["id"]]
    assert "token" not in listed[0]
    async with site.client() as kiosk:
        kiosk.headers["Authorization"] = f"Kiosk {link['token']}"
        assert (await kiosk.get(f"{ACME}/dashboards/demo-wallboard")).status_code == 200
        # It rotates through the demo dashboard: that one is readable too.
        assert (await kiosk.get(f"{ACME}/dashboards/demo-dashboard")).status_code == 200
        assert (await kiosk.get(f"{ACME}/dashboards/mine")).status_code == 404
        uids = {d["uid"] for d in (await kiosk.get(f"{ACME}/dashboards")).json()["items"]}
        assert uids == {"demo-wallboard", "demo-dashboard"}
        assert (await kiosk.get("/api/v1/tenants/globex/dashboards")).status_code == 404
        for method, path, body in (
            ("POST", "/dashboards", {"name": "x"}),
            ("PATCH", "/dashboards/demo-wallboard", {"name": "x"}),
            ("DELETE", "/dashboards/demo-wallboard", None),
            ("PUT", "/launched", {"dashboards": []}),
            ("POST", "/users", {"username": "x"}),
        ):
            refused = await kiosk.request(method, ACME + path, json=body)
            assert refused.status_code == 403, (method, path, refused.text)
        assert (await kiosk.get(f"{ACME}/users")).status_code == 403
        assert (await kiosk.post("/api/v1/auth/tokens", json={"name": "x"})).status_code == 403
    async with site.client() as by_query:
        ok = await by_query.get(f"{ACME}/dashboards/demo-wallboard?kiosk={link['token']}")
        assert ok.status_code == 200
        wrong = await by_query.get(f"{ACME}/dashboards/demo-wallboard?kiosk=wbk_guessed")
        assert wrong.status_code == 401

    revoked = await admin.request("DELETE", f"{ACME}/kiosk-links/{link['id']}")
    assert revoked.status_code == 204
    async with site.client() as kiosk:
        kiosk.headers["Authorization"] = f"Kiosk {link['token']}"
        assert (await kiosk.get(f"{ACME}/dashboards/demo-wallboard")).status_code == 401
    # Only a wallboard can be shown by a link.
    refused = await admin.request(
        "POST", f"{ACME}/kiosk-links", json={"wallboard": "demo-dashboard", "name": "x"}
    )
    assert refused.status_code == 422


async def _receive(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message["type"] == kind:
            return message


async def test_the_live_channel_follows_the_link(database: Database, login: Login) -> None:
    store = MemoryValueStore()
    app = create_app(Settings(), database=database, store=store, registry=CollectorRegistry())
    async with serve(app) as port:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            login_answer = await client.post(
                "/api/v1/auth/login",
                json={"username": "admin", "password": "correct horse battery"},
            )
            client.headers["X-CSRF-Token"] = login_answer.json()["csrfToken"]
            created = await client.post(
                f"{ACME}/kiosk-links", json={"wallboard": "demo-wallboard", "name": "hall"}
            )
            token = created.json()["token"]
        url = f"ws://127.0.0.1:{port}/api/v1/live"
        async with websockets.connect(f"{url}?kiosk={token}") as ws:
            await _receive(ws, "hello")
            subscribe = {"type": "subscribe", "tenant": "acme"}
            await ws.send(json.dumps({**subscribe, "id": 1, "dashboard": "demo-wallboard"}))
            assert (await _receive(ws, "result"))["ok"] is True
            await ws.send(json.dumps({**subscribe, "id": 2, "dashboard": "mine"}))
            assert (await _receive(ws, "result"))["ok"] is False
            other = {"type": "subscribe", "tenant": "globex", "dashboard": "demo-wallboard"}
            await ws.send(json.dumps({**other, "id": 3}))
            assert (await _receive(ws, "result"))["ok"] is False
        # Without credentials, or with a wrong link, the handshake is refused.
        for refused in (url, f"{url}?kiosk=wbk_nothing"):
            with pytest.raises(websockets.InvalidStatus) as raised:
                async with websockets.connect(refused):
                    pass
            assert raised.value.response.status_code == 403
        await app.state.live_hub.close()
