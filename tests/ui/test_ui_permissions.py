"""Per-object permissions in the browser: a supervisor whose access group grants one folder
never sees an agent or queue filed elsewhere — not in a dashboard's widgets, the widget wizard's
object search, a CSV export nor anywhere in the page's text — while the administrator
(``all_objects``) sees them on the same dashboard, so the check can fail.

Everything the supervisor may not see is named ``zz-hidden…``."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from browser import UiSession, create_dashboard, widget

API = "/api/v1/tenants/acme"
HIDDEN = "zz-hidden"

# Configured through the config API as an administrator would (docs/configuration.md).
CONFIG: list[dict[str, Any]] = [
    {"type": "folder", "name": "floor1", "attributes": {"parent": None}},
    {"type": "folder", "name": "floor2", "attributes": {"parent": None}},
    {"type": "agent", "name": "a1", "folder": "floor1"},
    {"type": "agent", "name": "a2", "folder": "floor1"},
    {"type": "agent", "name": "zz-hidden-agent", "folder": "floor2"},
    {"type": "queue", "name": "sales", "folder": "floor1"},
    {"type": "queue", "name": "zz-hidden-queue", "folder": "floor2"},
    {
        "type": "access_group",
        "name": "everything",
        "attributes": {"members": ["admin"], "all_objects": True},
    },
    {
        "type": "access_group",
        "name": "floor1-supervisors",
        "attributes": {"members": ["supervisor"], "folders": ["floor1"]},
    },
]

WIDGETS = [
    widget(
        "agents",
        "grid",
        0,
        0,
        12,
        4,
        templateUid="agent-kpis",
        objects=[{"type": "agent", "ids": ["a1", "zz-hidden-agent", "a2"]}],
    ),
    widget(
        "queues",
        "grid",
        12,
        0,
        12,
        4,
        templateUid="queue-kpis",
        objects=[{"type": "queue", "ids": ["zz-hidden-queue", "sales"]}],
    ),
    widget(
        "waiting",
        "kpi",
        0,
        4,
        6,
        4,
        templateUid="queue-kpis",
        options={"columns": ["queue.calls_waiting"]},
    ),
]


def card(ui: UiSession, uid: str) -> Any:
    return ui.page.locator(f'.widget-card[data-widget="{uid}"]')


async def configure(ui: UiSession) -> None:
    async with ui.client() as client:
        for body in CONFIG:
            answer = await client.post("/api/v1/config/acme/objects", json=body)
            assert answer.status_code == 201, answer.text
    await ui.feed(
        [
            ("agent", "a1", "agent.status", {"state": "ready"}),
            ("agent", "a2", "agent.status", {"state": "ready"}),
            ("agent", "zz-hidden-agent", "agent.status", {"state": "ready"}),
            ("queue", "sales", "queue.calls_waiting", 3),
            ("queue", "zz-hidden-queue", "queue.calls_waiting", 40),
        ]
    )


async def test_a_restricted_supervisor_sees_no_forbidden_object_anywhere(
    ui_permissions: UiSession,
) -> None:
    ui = ui_permissions
    await configure(ui)
    await create_dashboard(ui, "floor", WIDGETS, name="Floor", shared=True)
    # The administrator sees every object on it (once the permissions follow the config).
    await ui.open("/#/dashboards/floor")
    await expect(card(ui, "agents")).to_contain_text("zz-hidden-agent")
    await expect(card(ui, "queues")).to_contain_text("zz-hidden-queue")
    await expect(card(ui, "waiting").locator(".kpi-value")).to_have_text("43")

    await ui.login("supervisor")
    await ui.open("/#/dashboards/floor")
    agents = card(ui, "agents")
    await expect(agents).to_contain_text("a1")
    await expect(agents.locator("tbody tr")).to_have_count(2)
    await expect(agents).to_contain_text("a1")
    await expect(agents).to_contain_text("a2")
    await expect(card(ui, "queues").locator("tbody tr")).to_have_count(1)
    # The KPI over every queue counts only the visible one.
    await expect(card(ui, "waiting").locator(".kpi-value")).to_have_text("3")
    assert HIDDEN not in await ui.page.content()
    # Expanded, and as a wallboard.
    await ui.open("/#/dashboards/floor/widgets/agents")
    await expect(card(ui, "agents").locator("tbody tr")).to_have_count(2)
    assert HIDDEN not in await ui.page.content()
    await ui.open("/#/wallboards/floor?rotate=0")
    await expect(card(ui, "agents").locator("tbody tr")).to_have_count(2)
    assert HIDDEN not in await ui.page.content()
    # The CSV export and the JSON values behind it.
    for read in ("values.csv", "values"):
        for uid in ("agents", "queues", "waiting"):
            response = await ui.page.request.get(
                f"{ui.base_url}{API}/dashboards/floor/widgets/{uid}/{read}"
            )
            assert response.ok, await response.text()
            assert HIDDEN not in await response.text()

    # The widget wizard's object search on a dashboard of their own.
    async with ui.client() as client:
        mine = await client.post(f"{API}/dashboards", json={"uid": "mine", "name": "Mine"})
        assert mine.status_code == 201, mine.text
    await ui.open("/#/dashboards/mine/add-widget")
    wizard = ui.page.get_by_role("dialog", name="Add a widget")
    await wizard.get_by_role("button", name=re.compile("^Agent KPIs")).click()
    await wizard.get_by_label("Search agents").fill("a")
    found = wizard.get_by_role("list", name="Found objects")
    await expect(found.get_by_role("checkbox")).to_have_count(2)
    await wizard.get_by_label("Search agents").fill("zz")
    await expect(found.get_by_role("checkbox")).to_have_count(0)
    assert HIDDEN not in await ui.page.content()
