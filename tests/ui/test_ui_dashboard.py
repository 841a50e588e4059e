"""A dashboard in the browser: every display type rendered from live values, values and
threshold colours changing live, durations ticking, N/A for missing values, the stale marker,
reconnecting, expanding a widget, and moves and removals saved through the API."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.async_api import Dialog, expect

from browser import UiSession, create_dashboard, screenshot_file, since, widget

EVERY_TYPE = [
    widget(
        "waiting",
        "kpi",
        0,
        0,
        6,
        4,
        templateUid="queue-kpis",
        options={"columns": ["queue.calls_waiting"]},
    ),
    widget(
        "queues",
        "grid",
        6,
        0,
        18,
        4,
        templateUid="queue-kpis",
        options={
            "columns": ["Waiting", "Longest wait", "Service level"],
            "sort": {"by": "Waiting", "descending": True},
        },
    ),
    widget("agents", "list", 0, 4, 8, 4, templateUid="agent-login"),
    widget(
        "groups-donut",
        "donut",
        8,
        4,
        8,
        4,
        templateUid="agent-group-status",
        options={"columns": ["group.agents_ready", "group.agents_talking"]},
    ),
    widget("groups-bar", "bar", 16, 4, 8, 4, templateUid="agent-group-status"),
    widget(
        "answered",
        "line",
        0,
        8,
        12,
        4,
        templateUid="queue-kpis",
        options={"columns": ["queue.answered"]},
    ),
    widget("alerts", "alert_list", 12, 8, 12, 4, templateUid="alert"),
    widget("notice", "static_text", 0, 12, 12, 2, options={"text": "Team meeting at 16:00"}),
    widget("page", "iframe", 12, 12, 12, 2, options={"url": "http://127.0.0.1:1/none"}),
]


def base_values() -> list[tuple[str, str, str, Any]]:
    now = int(time.time() * 1000)
    return [
        ("queue", "sales", "queue.calls_waiting", 3),
        ("queue", "support", "queue.calls_waiting", 8),
        ("queue", "sales", "queue.longest_wait", since(now - 42_000)),
        ("queue", "sales", "queue.service_level", 91.5),
        ("queue", "support", "queue.service_level", 64.0),
        ("queue", "sales", "queue.answered", 120),
        (
            "agent",
            "a1",
            "agent.status",
            {"state": "not_ready", "reason": "Break", "since": now - 65_000},
        ),
        ("agent", "a2", "agent.status", {"state": "ready", "since": now - 5_000}),
        ("agent", "a1", "agent.login_time_since_login", since(now - 3_600_000)),
        ("agent_group", "sales-team", "group.agents_ready", 4),
        ("agent_group", "sales-team", "group.agents_talking", 7),
        ("agent_group", "support-team", "group.agents_ready", 5),
        ("agent_group", "support-team", "group.agents_talking", 3),
    ]


@pytest.fixture
async def board(ui: UiSession) -> UiSession:
    await ui.feed(base_values())
    await create_dashboard(ui, "ops", EVERY_TYPE)
    await ui.open("/#/dashboards/ops")
    await expect(ui.page.locator("wb-widget-card")).to_have_count(len(EVERY_TYPE))
    return ui


def card(ui: UiSession, uid: str) -> Any:
    return ui.page.locator(f'.widget-card[data-widget="{uid}"]')


async def test_every_display_type_renders_its_values(board: UiSession) -> None:
    ui = board
    # KPI over two queues: the sum of a count.
    await expect(card(ui, "waiting").locator(".kpi-value")).to_have_text("11")
    # Grid: sorted by Waiting descending, thresholds coloured, missing shown as N/A.
    rows = card(ui, "queues").locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_have_attribute("data-object", "support")
    await expect(rows.nth(0).locator('td[data-statistic="queue.service_level"]')).to_have_attribute(
        "data-level", "critical"
    )
    await expect(rows.nth(1).locator('td[data-statistic="queue.service_level"]')).to_have_attribute(
        "data-level", "ok"
    )
    await expect(rows.nth(0).locator('td[data-statistic="queue.longest_wait"]')).to_have_text("N/A")
    await expect(rows.nth(1).locator('td[data-statistic="queue.longest_wait"]')).to_contain_text(
        "00:00:"
    )
    # List: one row per agent, status with its reason and duration.
    agents = card(ui, "agents")
    await expect(
        agents.locator('tr[data-object="a1"] td[data-statistic="agent.status"]')
    ).to_contain_text("Not ready (Break) 00:01:")
    # Charts draw on a canvas.
    for uid in ("groups-donut", "groups-bar", "answered"):
        await expect(card(ui, uid).locator("canvas")).to_have_count(1)
    # Alert list: every value over a threshold.
    alerts = card(ui, "alerts").locator(".alert")
    await expect(alerts).to_have_count(2)  # support waiting 8 ≥ 5 (warning), support SL 64 ≤ 70
    await expect(alerts.filter(has_text="Service level · support")).to_have_attribute(
        "data-level", "critical"
    )
    await expect(alerts.filter(has_text="Waiting · support")).to_have_attribute(
        "data-level", "warning"
    )
    await expect(card(ui, "notice")).to_contain_text("Team meeting at 16:00")
    await expect(card(ui, "page").locator("iframe")).to_have_attribute(
        "src", "http://127.0.0.1:1/none"
    )


async def test_values_and_threshold_colours_change_live(board: UiSession) -> None:
    ui = board
    value = card(ui, "waiting").locator(".kpi")
    await expect(value).to_have_attribute("data-level", "critical")  # 11 ≥ 10
    await ui.feed(
        [
            ("queue", "support", "queue.calls_waiting", 0),
            ("queue", "sales", "queue.calls_waiting", 1),
        ]
    )
    await expect(value.locator(".kpi-value")).to_have_text("1")
    await expect(value).to_have_attribute("data-level", "ok")
    ok_colour = await value.locator(".kpi-value").evaluate("e => getComputedStyle(e).color")
    await ui.feed([("queue", "sales", "queue.calls_waiting", 6)])
    await expect(value.locator(".kpi-value")).to_have_text("6")
    await expect(value).to_have_attribute("data-level", "warning")
    warning_colour = await value.locator(".kpi-value").evaluate("e => getComputedStyle(e).color")
    assert warning_colour != ok_colour
    # A removed value is missing: N/A, never 0.
    await ui.feed(
        [
            ("queue", "sales", "queue.calls_waiting", None),
            ("queue", "support", "queue.calls_waiting", None),
        ]
    )
    await expect(value.locator(".kpi-value")).to_have_text("N/A")
    await expect(value).to_have_attribute("data-level", "none")


async def test_durations_tick_every_second(board: UiSession) -> None:
    ui = board
    cell = card(ui, "agents").locator('tr[data-object="a2"] td[data-statistic="agent.status"]')
    first = await cell.inner_text()
    assert re.fullmatch(r"Ready 00:00:\d\d", first), first
    await expect(cell).not_to_have_text(first, timeout=2500)
    second = await cell.inner_text()
    assert second > first


async def test_a_stale_source_marks_the_widgets_until_it_recovers(board: UiSession) -> None:
    ui = board
    waiting = card(ui, "waiting")
    await expect(waiting).to_have_attribute("data-stale", "false")
    stale = {"since": int(time.time() * 1000) - 30_000, "reason": "source lost"}
    await ui.feed([("source", "voice", "source.stale", stale)])
    await expect(waiting).to_have_attribute("data-stale", "true")
    await expect(waiting.locator(".stale-badge")).to_have_text("Stale")
    await expect(waiting.locator(".stale-reason")).to_contain_text("Source voice stale for 00:00:")
    await expect(waiting.locator(".stale-reason")).to_contain_text("source lost")
    await expect(card(ui, "notice")).to_have_attribute("data-stale", "false")  # shows no data
    await ui.feed([("source", "voice", "source.stale", None)])
    await expect(waiting).to_have_attribute("data-stale", "false")
    await expect(waiting.locator(".stale-badge")).to_have_count(0)


async def test_a_lost_connection_marks_stale_and_reconnects(board: UiSession) -> None:
    ui = board
    indicator = ui.page.locator(".connection")
    await expect(indicator).to_have_attribute("data-state", "open")
    await ui.page.evaluate("async () => (await import('/ui/js/live.js')).live.socket.close()")
    await expect(card(ui, "waiting")).to_have_attribute("data-stale", "true")
    await expect(ui.page.get_by_role("alert")).to_contain_text("Connection lost")
    await expect(indicator).to_have_attribute("data-state", "open")
    await expect(card(ui, "waiting")).to_have_attribute("data-stale", "false")
    # Subscribed again: changes still arrive.
    await ui.feed([("queue", "sales", "queue.calls_waiting", 20)])
    await expect(card(ui, "waiting").locator(".kpi-value")).to_have_text("28")


async def test_a_widget_expands_to_the_whole_tab_and_back(board: UiSession) -> None:
    ui = board
    await card(ui, "queues").get_by_role("link", name="Expand Queues").click()
    await expect(ui.page).to_have_url(f"{ui.base_url}/#/dashboards/ops/widgets/queues")
    await expect(ui.page.locator("wb-widget-card")).to_have_count(1)
    box = await card(ui, "queues").bounding_box()
    assert box is not None
    assert box["width"] > 1200
    assert box["height"] > 600
    await ui.page.get_by_role("link", name="Back to the dashboard").click()
    await expect(ui.page.locator("wb-widget-card")).to_have_count(len(EVERY_TYPE))


async def test_moves_and_removals_are_saved_through_the_api(board: UiSession) -> None:
    ui = board
    await ui.page.get_by_role("button", name="Edit layout").click()
    await expect(ui.page.get_by_role("button", name="Done")).to_have_attribute(
        "aria-pressed", "true"
    )
    # Drag the KPI by its title bar down past the row below it.
    head = card(ui, "waiting").locator(".widget-head")
    box = await head.bounding_box()
    grid = await ui.page.locator(".grid-stack").bounding_box()
    assert box is not None
    assert grid is not None
    column = grid["width"] / 24
    await ui.page.mouse.move(box["x"] + 40, box["y"] + 10)
    await ui.page.mouse.down()
    for step in range(1, 21):
        await ui.page.mouse.move(box["x"] + 40 + step * column * 0.1, box["y"] + 10 + step * 20)
    await ui.page.mouse.up()
    await expect(ui.page.locator(".notice")).to_have_text("Layout saved")
    async with ui.client() as client:
        moved = (await client.get("/api/v1/tenants/acme/dashboards/ops/widgets/waiting")).json()
        assert moved["position"] != {"x": 0, "y": 0, "w": 6, "h": 4}
        assert moved["version"] > 1

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    ui.page.once("dialog", accept)
    await card(ui, "notice").get_by_role("button", name="Remove Notice").click()
    await expect(card(ui, "notice")).to_have_count(0)
    async with ui.client() as client:
        gone = await client.get("/api/v1/tenants/acme/dashboards/ops/widgets/notice")
        assert gone.status_code == 404


async def test_a_populated_dashboard_screenshot(board: UiSession) -> None:
    """The README's picture of a dashboard, at 1920 by 1080."""
    ui = board
    await ui.page.set_viewport_size({"width": 1920, "height": 1080})
    await expect(card(ui, "waiting").locator(".kpi-value")).to_have_text("11")
    await expect(card(ui, "alerts").locator(".alert")).to_have_count(2)
    await ui.page.screenshot(path=str(screenshot_file("dashboard.png")))


async def test_the_layout_can_be_edited_with_the_keyboard(board: UiSession) -> None:
    ui = board
    await ui.page.get_by_role("button", name="Edit layout").click()
    notice = card(ui, "notice")
    await notice.focus()
    await ui.page.keyboard.press("ArrowRight")
    await expect(ui.page.locator(".notice")).to_have_text("Layout saved")
    await ui.page.keyboard.press("Shift+ArrowLeft")
    async with ui.client() as client:
        url = "/api/v1/tenants/acme/dashboards/ops/widgets/notice"
        for _ in range(50):
            position = (await client.get(url)).json()["position"]
            if position["w"] == 11:
                break
            await ui.page.wait_for_timeout(100)
        assert position["x"] == 1
        assert position["w"] == 11


async def test_the_dashboard_fits_a_1366_by_768_screen(board: UiSession) -> None:
    ui = board
    await expect(card(ui, "waiting").locator(".kpi-value")).to_have_text("11")
    overflow = await ui.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "no horizontal scrolling at 1366 by 768"
    for uid in ("waiting", "queues", "alerts"):
        box = await card(ui, uid).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 1366


async def test_a_move_over_a_change_made_elsewhere_reloads_the_dashboard(board: UiSession) -> None:
    ui = board
    ui.expected_errors.append("status of 412")  # the browser logs the refused PATCH
    await ui.page.get_by_role("button", name="Edit layout").click()
    await card(ui, "notice").focus()
    await ui.page.keyboard.press("ArrowRight")
    await expect(ui.page.locator(".notice")).to_have_text("Layout saved")
    async with ui.client() as client:
        answer = await client.patch(
            "/api/v1/tenants/acme/dashboards/ops/widgets/notice",
            json={"position": {"x": 6, "y": 12, "w": 6, "h": 2}},
        )
        assert answer.status_code == 200, answer.text
    await card(ui, "notice").focus()
    await ui.page.keyboard.press("ArrowRight")
    await expect(ui.page.locator(".notice")).to_have_text(
        "The dashboard was changed elsewhere: reloaded"
    )
    x = ui.page.locator('.grid-stack-item[gs-id="notice"]')
    await expect(x).to_have_attribute("gs-x", "6")
    await expect(x).to_have_attribute("gs-w", "6")
