"""Dashboards and widgets over HTTP, sync by change number, launched dashboards, health."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import msgspec
from prometheus_client import CollectorRegistry
from test_web_templates import assert_error

from wallboard.collector.service import Collector, CollectorSettings
from wallboard.core.codec import encode
from wallboard.core.events import CallQueued
from wallboard.core.ids import CallId, EventId, QueueId, SourceId, TenantId
from wallboard.db.database import Database, open_database
from wallboard.eventlog.interface import StreamName
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.settings import Settings
from wallboard.stats import standard_library
from wallboard.store.memory import MemoryValueStore
from wallboard.store.redis import RedisValueStore
from wallboard.web.app import create_app
from wallboard.web.layouts import LayoutsFollower, in_use_of, layout_change_numbers
from wallboard.web.policy import AllowAll
from wallboard.web.tenant_init import Mode, init_tenant

D = "/api/v1/tenants/acme/dashboards"


def board(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uid": "sales",
        "name": "Sales",
        "widgets": [
            {
                "uid": "waiting",
                "title": "Waiting",
                "templateUid": "queue-kpis",
                "displayType": "kpi",
                "objects": [{"type": "queue", "ids": ["sales", "sales-vip"]}],
                "options": {
                    "columns": ["Waiting"],
                    "thresholds": {"queue.calls_waiting": {"critical": 9}},
                },
                "position": {"x": 0, "y": 0, "w": 6, "h": 3},
            }
        ],
    }
    body.update(changes)
    return body


async def test_dashboard_with_widgets(api: httpx.AsyncClient) -> None:
    created = await api.post(D, json=board())
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["owner"], body["kind"], body["shared"], body["version"]) == (
        "anonymous",
        "dashboard",
        False,
        1,
    )
    assert body["widgets"][0]["objects"] == [
        {"type": "queue", "ids": ["sales", "sales-vip"], "group": None}
    ]

    widget = {"title": "Note", "displayType": "static_text", "options": {"text": "hi"}}
    added = await api.post(f"{D}/sales/widgets", json={**widget, "uid": "note"})
    assert added.status_code == 201, added.text
    etag = added.headers["etag"]
    moved = await api.patch(
        f"{D}/sales/widgets/note",
        json={"position": {"x": 6, "y": 0, "w": 6, "h": 2}},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 2
    assert_error(
        await api.patch(f"{D}/sales/widgets/note", json={"title": "x"}, headers={"If-Match": etag}),
        "version_mismatch",
    )
    listed = (await api.get(f"{D}/sales/widgets")).json()
    assert [w["uid"] for w in listed] == ["waiting", "note"]
    # Widget changes leave the dashboard's own version alone: editing its name does not clash.
    assert (await api.get(f"{D}/sales")).json()["version"] == 1
    assert (await api.delete(f"{D}/sales/widgets/note")).status_code == 204
    assert_error(await api.get(f"{D}/sales/widgets/note"), "not_found")
    assert_error(await api.get(f"{D}/nothing/widgets"), "not_found")


async def test_widget_rules_name_the_path(api: httpx.AsyncClient) -> None:
    await api.post(D, json=board(widgets=[]))
    cases = [
        ({"title": "x", "displayType": "grid"}, ["body", "templateUid"]),
        ({"title": "x", "displayType": "grid", "templateUid": "nope"}, ["body", "templateUid"]),
        (
            {
                "title": "x",
                "displayType": "grid",
                "templateUid": "queue-kpis",
                "objects": [{"type": "agent", "ids": ["a"]}],
            },
            ["body", "objects", 0, "type"],
        ),
        (
            {
                "title": "x",
                "displayType": "grid",
                "templateUid": "queue-kpis",
                "options": {"columns": ["agent.status"]},
            },
            ["body", "options", "columns", 0],
        ),
        ({"title": "x", "displayType": "iframe"}, ["body", "options", "url"]),
        (
            {"title": "x", "displayType": "iframe", "options": {"url": "javascript:alert(1)"}},
            ["body", "options", "url"],
        ),
        (
            {
                "title": "x",
                "displayType": "kpi",
                "templateUid": "queue-kpis",
                "position": {"x": 20, "w": 6},
            },
            ["body", "position"],
        ),
    ]
    for widget, loc in cases:
        response = await api.post(f"{D}/sales/widgets", json=widget)
        assert_error(response, "invalid_input")
        assert response.json()["detail"][0]["loc"][: len(loc)] == loc, (widget, response.json())
    rotating = board(uid="r", rotation={"dashboards": ["sales"]})
    assert_error(await api.post(D, json=rotating), "invalid_input", ["body", "rotation"])
    missing = board(uid="w", kind="wallboard", rotation={"dashboards": ["sales", "gone"]})
    assert_error(
        await api.post(D, json=missing), "invalid_input", ["body", "rotation", "dashboards", 1]
    )


async def test_export_imports_into_another_tenant_as_the_same(
    api: httpx.AsyncClient, database: Database
) -> None:
    await init_tenant(database, "beta", Mode.SETUP)
    await api.delete("/api/v1/tenants/beta/dashboards/demo-wallboard")
    exported = (await api.get("/api/v1/tenants/acme/dashboards/demo-wallboard/export")).json()
    assert {t["uid"] for t in exported["templates"]} == {"queue-kpis", "alert"}
    imported = await api.post("/api/v1/tenants/beta/dashboards/import", json=exported)
    assert imported.status_code == 201, imported.text
    again = (await api.get("/api/v1/tenants/beta/dashboards/demo-wallboard/export")).json()
    assert again == exported
    assert_error(
        await api.post("/api/v1/tenants/beta/dashboards/import", json=exported), "conflict"
    )
    replaced = await api.post(
        "/api/v1/tenants/beta/dashboards/import", params={"overwrite": "true"}, json=exported
    )
    assert replaced.status_code == 200, replaced.text


async def test_sync_returns_what_changed_after_a_change_number(api: httpx.AsyncClient) -> None:
    everything = (await api.get("/api/v1/tenants/acme/sync")).json()
    assert everything["complete"]
    assert len(everything["templates"]) == 17
    assert {d["uid"] for d in everything["dashboards"]} == {"demo-dashboard", "demo-wallboard"}
    mark = everything["next"]
    assert (await api.get("/api/v1/tenants/acme/sync", params={"since": mark})).json()[
        "templates"
    ] == []

    await api.post(D, json=board())
    await api.patch("/api/v1/tenants/acme/templates/alert", json={"name": "Alerts"})
    await api.delete(f"{D}/demo-dashboard")
    changes = (await api.get("/api/v1/tenants/acme/sync", params={"since": mark})).json()
    assert [t["uid"] for t in changes["templates"]] == ["alert"]
    assert [d["uid"] for d in changes["dashboards"]] == ["sales"]
    assert [(d["kind"], d["uid"]) for d in changes["deleted"]] == [("dashboard", "demo-dashboard")]

    # Pages stop after a whole change number: the seeded templates come together (but for
    # "alert", changed since, so under a later number).
    paged = (await api.get("/api/v1/tenants/acme/sync", params={"limit": 1})).json()
    assert not paged["complete"]
    assert len(paged["templates"]) == 16
    seen = {t["uid"] for t in paged["templates"]}
    cursor = paged["next"]
    while True:
        page = (
            await api.get("/api/v1/tenants/acme/sync", params={"limit": 1, "since": cursor})
        ).json()
        seen |= {t["uid"] for t in page["templates"]}
        cursor = page["next"]
        if page["complete"]:
            break
    assert "alert" in seen


async def test_launched_dashboards_are_kept_per_user(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/tenants/acme/launched")).json() == {"dashboards": []}
    order = {"dashboards": ["demo-wallboard", "demo-dashboard"]}
    assert (await api.put("/api/v1/tenants/acme/launched", json=order)).json() == order
    assert (await api.get("/api/v1/tenants/acme/launched")).json() == order
    await api.delete(f"{D}/demo-wallboard")
    assert (await api.get("/api/v1/tenants/acme/launched")).json() == {
        "dashboards": ["demo-dashboard"]
    }
    bad = await api.put("/api/v1/tenants/acme/launched", json={"dashboards": ["gone"]})
    assert_error(bad, "invalid_input", ["body", "dashboards", 0])


async def test_widgets_drive_the_statistics_in_use(
    api: httpx.AsyncClient, database: Database
) -> None:
    definitions = standard_library()
    async with database.sessions() as session:
        before = await layout_change_numbers(session)
        in_use = await in_use_of(session, definitions, tenant="acme")
    assert "queue.qos" not in in_use.wanted("acme", "queue", "sales")
    assert "queue.service_level" in in_use.wanted("acme", "queue", "sales")

    template = {
        "uid": "qos",
        "name": "QoS",
        "objectTypes": ["queue"],
        "defaultDisplayType": "kpi",
        "statistics": [{"ref": "queue.qos"}],
    }
    assert (await api.post("/api/v1/tenants/acme/templates", json=template)).status_code == 201
    widget = {
        "uid": "qos",
        "title": "QoS",
        "templateUid": "qos",
        "displayType": "kpi",
        "objects": [{"type": "queue", "ids": ["sales"]}],
    }
    assert (await api.post(f"{D}/demo-dashboard/widgets", json=widget)).status_code == 201
    async with database.sessions() as session:
        after = await layout_change_numbers(session)
        in_use = await in_use_of(session, definitions)
    assert after["acme"] > before["acme"]
    assert "queue.qos" in in_use.wanted("acme", "queue", "sales")
    assert "queue.qos" not in in_use.wanted("acme", "queue", "support")
    assert "queue.qos" not in in_use.wanted("other", "queue", "sales")

    assert (await api.delete(f"{D}/demo-dashboard/widgets/qos")).status_code == 204
    async with database.sessions() as session:
        in_use = await in_use_of(session, definitions)
    assert "queue.qos" not in in_use.wanted("acme", "queue", "sales")


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"schema": "ok"}
    assert "allow-all" in ready.json()["warnings"]["policy"]
    assert (await api.get("/metrics")).status_code == 404
    spec = (await api.get("/api/v1/openapi.json")).json()
    assert spec["info"]["version"] == "1"


async def test_readiness_checks_the_value_store(database: Database, redis_url: str) -> None:
    prefix = f"wbtest-{uuid.uuid4().hex[:8]}"
    reachable = await RedisValueStore.connect(redis_url, prefix=prefix)
    # Built without connect (which would refuse it): nothing listens on port 1.
    unreachable = RedisValueStore("redis://127.0.0.1:1/0", prefix=prefix)
    try:
        for store, status, answer in ((reachable, 200, "ok"), (unreachable, 503, "error: ")):
            app = create_app(Settings(), database=database, store=store, policy=AllowAll())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://wb") as client:
                ready = await client.get("/readyz")
            assert ready.status_code == status, ready.text
            assert ready.json()["checks"]["schema"] == "ok"
            assert ready.json()["checks"]["value_store"].startswith(answer), ready.text
    finally:
        await reachable.close()
        await unreachable.close()


async def test_a_database_that_cannot_be_reached_is_503() -> None:
    # Nothing listens on port 1: every connection is refused, as when the server is down.
    async with open_database("postgresql+asyncpg://postgres@127.0.0.1:1/none") as db:
        app = create_app(Settings(), database=db, policy=AllowAll())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wb") as client:
            assert_error(await client.get(D), "unavailable")
            ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["schema"].startswith("error: ")


async def test_requests_are_counted_by_route_template(database: Database) -> None:
    registry = CollectorRegistry()
    app = create_app(Settings(), database=database, registry=registry, policy=AllowAll())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wb") as client:
        for uid in ("demo-dashboard", "demo-wallboard", "gone"):
            await client.get(f"{D}/{uid}")
    route = "/api/v1/tenants/{tenant}/dashboards/{uid}"

    def count(status: str) -> float | None:
        labels = {"method": "GET", "route": route, "status": status}
        return registry.get_sample_value("wallboard_web_requests_total", labels)

    assert (count("200"), count("404")) == (2.0, 1.0)
    timed = registry.get_sample_value(
        "wallboard_web_request_duration_seconds_count", {"method": "GET", "route": route}
    )
    assert timed == 3.0


async def test_the_collector_follows_the_widgets_in_the_database(
    api: httpx.AsyncClient, database: Database
) -> None:
    """A widget created through the API has its statistics open in a running collector at the
    next poll (once a second in ``serve collector``); deleting it closes them and removes their
    values from the store."""
    definitions = standard_library()
    log, store = MemoryEventLog(), MemoryValueStore()
    event = CallQueued(
        tenant=TenantId("acme"),
        source=SourceId("voice"),
        seq=1,
        id=EventId("e1"),
        ts=1_767_596_400_000,
        call=CallId("c1"),
        queue=QueueId("sales"),
    )
    await log.publish(StreamName.VOICE, TenantId("acme"), "e1", encode(event))
    follower = LayoutsFollower(database, definitions)
    collector = Collector(
        log,
        store,
        definitions,
        CollectorSettings(clock="events", flush_s=0.02, history_s=0),
        in_use=await follower.poll(),
    )
    task = asyncio.create_task(collector.run())

    async def sales_values() -> dict[str, object]:
        for _ in range(200):
            await asyncio.sleep(0.02)
            values = (await store.snapshot(TenantId("acme"))).values
            if "queue" in values:
                return dict(values["queue"].get("sales", {}))
        return {}

    try:
        assert "queue.qos" not in await sales_values()
        assert await follower.poll() is None  # nothing changed
        template = {
            "uid": "qos",
            "name": "QoS",
            "objectTypes": ["queue"],
            "defaultDisplayType": "kpi",
            "statistics": [{"ref": "queue.entered"}],
        }
        assert (await api.post("/api/v1/tenants/acme/templates", json=template)).status_code == 201
        widget = {
            "uid": "entered",
            "title": "Entered",
            "templateUid": "qos",
            "displayType": "kpi",
            "objects": [{"type": "queue", "ids": ["sales"]}],
        }
        assert (await api.post(f"{D}/demo-dashboard/widgets", json=widget)).status_code == 201
        changed = await follower.poll()
        assert changed is not None
        await collector.set_in_use(changed)
        await collector.flush(everything=True)
        # Open from now on: the call that entered before does not count, the next one does.
        assert (await sales_values()).get("queue.entered") == 0
        later = msgspec.structs.replace(event, seq=2, id=EventId("e2"), call=CallId("c2"))
        await log.publish(StreamName.VOICE, TenantId("acme"), "e2", encode(later))
        for _ in range(200):
            if (await sales_values()).get("queue.entered") == 1:
                break
        assert (await sales_values()).get("queue.entered") == 1
        assert (await api.delete(f"{D}/demo-dashboard/widgets/entered")).status_code == 204
        changed = await follower.poll()
        assert changed is not None
        await collector.set_in_use(changed)
        await collector.flush(everything=True)
        assert "queue.entered" not in await sales_values()
        assert "queue.calls_waiting" in await sales_values()  # always on
    finally:
        collector.stop()
        await asyncio.wait_for(task, 30)
