"""A widget's data beyond its live values: the card's Edit and Export CSV actions, charts that
start from the widget's interval history, and the dashboards list split into Mine and Shared."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import expect

from browser import TENANT, UiSession, create_dashboard, since, widget
from wallboard.db.models import Dashboard
from wallboard.store.values import IntervalValue

API = "/api/v1/tenants/acme"
QUARTER_MS = 15 * 60 * 1000

WIDGETS = [
    widget(
        "queues",
        "grid",
        0,
        0,
        12,
        4,
        templateUid="queue-kpis",
        objects=[{"type": "queue", "ids": ["sales", "support", "empty"]}],
    ),
    widget(
        "answered",
        "line",
        12,
        0,
        12,
        4,
        templateUid="queue-kpis",
        objects=[{"type": "queue", "ids": ["sales"]}],
        options={"columns": ["queue.answered"]},
    ),
    widget(
        "answered-kpi",
        "kpi",
        0,
        4,
        6,
        4,
        templateUid="queue-kpis",
        objects=[{"type": "queue", "ids": ["sales"]}],
        options={"columns": ["queue.answered"]},
    ),
    widget("notice", "static_text", 6, 4, 6, 2, options={"text": "Hello"}),
]


def card(ui: UiSession, uid: str) -> Any:
    return ui.page.locator(f'.widget-card[data-widget="{uid}"]')


@pytest.fixture
async def board(ui: UiSession) -> UiSession:
    now = int(time.time() * 1000)
    await ui.feed(
        [
            ("queue", "sales", "queue.calls_waiting", 3),
            ("queue", "support", "queue.calls_waiting", 8),
            ("queue", "sales", "queue.longest_wait", since(now - 42_000)),
            ("queue", "sales", "queue.service_level", 91.5),
            ("queue", "sales", "queue.answered", 120),
        ]
    )
    await create_dashboard(ui, "ops", WIDGETS)
    return ui


async def test_export_csv_downloads_the_widgets_values(board: UiSession, tmp_path: Path) -> None:
    ui = board
    await ui.open("/#/dashboards/ops")
    queues = card(ui, "queues")
    await expect(queues.locator("tbody tr")).to_have_count(2)  # "empty" has no values yet
    # Static text has no values to export.
    await expect(card(ui, "notice").get_by_role("link", name="Export CSV of Notice")).to_have_count(
        0
    )

    async with ui.page.expect_download() as info:
        await queues.get_by_role("link", name="Export CSV of Queues").click()
    download = await info.value
    assert download.suggested_filename == "ops-queues.csv"  # the API names it
    target = tmp_path / "queues.csv"
    await download.save_as(target)
    table = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))

    response = await ui.page.request.get(f"{ui.base_url}{API}/dashboards/ops/widgets/queues/values")
    assert response.ok
    values = await response.json()
    assert table[0] == ["type", "id", *(c["alias"] for c in values["columns"])]
    assert [line[:2] for line in table[1:]] == [[r["type"], r["id"]] for r in values["rows"]]
    for line, row in zip(table[1:], values["rows"], strict=True):
        for text, column in zip(line[2:], values["columns"], strict=True):
            value = row["values"][column["statistic"]]["value"]
            if value is None:
                assert text == ""
            else:
                assert json.loads(text) == value
    assert table[1][2] == "3"  # sales waiting, as fed


async def test_edit_opens_the_wizard_on_the_widget_and_a_wallboard_offers_neither(
    board: UiSession,
) -> None:
    ui = board
    await ui.open("/#/dashboards/ops")
    await card(ui, "queues").get_by_role("link", name="Edit Queues").click()
    await expect(ui.page).to_have_url(f"{ui.base_url}/#/dashboards/ops/widgets/queues/edit")
    await expect(ui.page.locator("wb-widget-wizard")).to_have_count(1)
    await ui.open("/#/wallboards/ops?rotate=0")
    await expect(card(ui, "queues")).to_be_visible()
    await expect(ui.page.get_by_role("link", name="Edit Queues")).to_have_count(0)
    await expect(ui.page.get_by_role("link", name="Export CSV of Queues")).to_have_count(0)


async def test_trends_start_from_the_history_with_gaps_then_go_on_live(board: UiSession) -> None:
    ui = board
    now = int(time.time() * 1000)
    base = now - now % QUARTER_MS
    # Quarter hours ending at base-3Q, base-2Q and base; the one ending at base-Q is missing.
    await ui.store.write_intervals(
        TENANT,
        [
            IntervalValue("queue.answered", "queue", "sales", base - 4 * QUARTER_MS, 10),
            IntervalValue("queue.answered", "queue", "sales", base - 3 * QUARTER_MS, 20),
            IntervalValue("queue.answered", "queue", "sales", base - QUARTER_MS, 40),
            # Not an object of the widgets: never in their trends.
            IntervalValue("queue.answered", "queue", "support", base - QUARTER_MS, 1000),
        ],
    )
    await ui.open("/#/dashboards/ops")
    chart = card(ui, "answered").locator("wb-chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    data_js = "e => e.chart && e.chart.getOption().series[0].data"
    await chart.evaluate(
        f"e => new Promise(done => {{ const f = () => {{ const d = ({data_js})(e);"
        " if (d && d.length >= 5) done(); else setTimeout(f, 50); }; f(); })"
    )
    data = await chart.evaluate(data_js)
    assert data[:4] == [
        [base - 3 * QUARTER_MS, 10],
        [base - 2 * QUARTER_MS, 20],
        [base - QUARTER_MS, None],  # the missing bucket: a gap, not a zero
        [base, 40],
    ]
    assert data[4][1] == 120  # then the live value
    assert data[4][0] >= base

    # The KPI's trend line: the same history in two runs around the gap, then the live value.
    trend = card(ui, "answered-kpi").locator("svg.kpi-trend")
    await expect(trend).to_have_attribute("data-runs", "2")
    await expect(trend).to_have_attribute("data-points", "4")
    await expect(trend.locator("polyline")).to_have_count(2)
    await ui.feed([("queue", "sales", "queue.answered", 130)])
    await expect(trend).to_have_attribute("data-points", "5")
    await expect(card(ui, "answered-kpi").locator(".kpi-value")).to_have_text("130")


async def test_the_list_splits_mine_from_shared(ui: UiSession) -> None:
    await create_dashboard(ui, "mine", [], name="My board")
    await create_dashboard(ui, "mine-shared", [], name="My shared board", shared=True)
    await create_dashboard(ui, "bobs", [], name="Bob's private board")
    async with ui.database.sessions() as session, session.begin():
        # Someone else's private board: not listed (the secured policy reads only the shared
        # ones and the user's own; the allow-all policy would list it apart).
        await session.execute(
            sa.update(Dashboard).where(Dashboard.uid == "bobs").values(owner="bob")
        )
    await ui.open("/")
    mine = ui.page.get_by_role("list", name="Mine")
    shared = ui.page.get_by_role("list", name="Shared")
    await expect(mine.locator(".dashboard-card .card-title")).to_have_text(
        ["My board", "My shared board"]
    )
    # The seeded boards are the installation's, shared with everyone.
    await expect(shared.locator(".dashboard-card")).not_to_have_count(0)
    await expect(shared.locator('.dashboard-card[data-uid="mine-shared"]')).to_have_count(0)
    await expect(shared.locator('.dashboard-card[data-uid="bobs"]')).to_have_count(0)
    await expect(ui.page.get_by_role("list", name="Private to others")).to_have_count(0)
    await expect(ui.page.locator('.dashboard-card[data-uid="bobs"]')).to_have_count(0)
    facts = await shared.locator(".dashboard-card .meta", has_text="widget").all_text_contents()
    assert facts
    assert all("shared" in text for text in facts)
    # The kind filter keeps the split.
    await ui.open("/#/?kind=wallboard")
    await expect(ui.page.get_by_role("list", name="Mine")).to_be_attached()
    await expect(ui.page.get_by_role("list", name="Mine").locator(".dashboard-card")).to_have_count(
        0
    )
    await expect(ui.page.get_by_role("heading", name="Mine (0)")).to_be_visible()
