"""Wallboards in the browser: full screen at 1920 by 1080 in the dark high-contrast theme with large
type, rotation through several wallboards, and Esc back to the list."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.async_api import expect

from browser import DOCS_IMAGES, UiSession, create_dashboard, screenshot_file, since, widget

FULL_HD = {"width": 1920, "height": 1080}


async def feed_floor(ui: UiSession) -> None:
    now = int(time.time() * 1000)
    await ui.feed(
        [
            ("queue", "sales", "queue.calls_waiting", 7),
            ("queue", "support", "queue.calls_waiting", 4),
            ("queue", "sales", "queue.longest_wait", since(now - 75_000)),
            ("queue", "sales", "queue.service_level", 86.0),
            ("queue", "support", "queue.service_level", 68.5),
            ("queue", "sales", "queue.answered", 312),
            ("queue", "support", "queue.answered", 188),
        ]
    )


async def test_the_seeded_wallboard_fills_the_screen_with_large_type(ui: UiSession) -> None:
    await feed_floor(ui)
    await ui.page.set_viewport_size(FULL_HD)  # type: ignore[arg-type]
    await ui.open("/#/wallboards/demo-wallboard?rotate=0")
    await expect(ui.page.locator("html")).to_have_attribute("data-theme", "wallboard")
    await expect(ui.page.locator(".app-header")).to_have_count(0)
    waiting = ui.page.locator('.widget-card[data-widget="waiting"] .kpi-value')
    await expect(waiting).to_have_text("11")
    size = await waiting.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 80, f"a wallboard's KPI must read across a room, not {size}px"
    background = await ui.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(0, 0, 0)"
    # Everything fits the screen: no scrolling on a kiosk.
    overflow = await ui.page.evaluate(
        "document.documentElement.scrollHeight - document.documentElement.clientHeight"
    )
    assert overflow <= 0
    for card in await ui.page.locator(".widget-card").all():
        box = await card.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 1080
    await ui.page.wait_for_timeout(1200)  # let the longest wait tick once more for the picture
    await ui.page.screenshot(path=str(screenshot_file("wallboard.png")))
    await ui.page.keyboard.press("Escape")
    await expect(ui.page.locator(".app-header")).to_have_count(1)
    await expect(ui.page.locator("html")).not_to_have_attribute("data-theme", "wallboard")


async def test_a_wallboard_rotates_through_its_wallboards(ui: UiSession) -> None:
    await feed_floor(ui)
    await create_dashboard(
        ui,
        "floor-2",
        [
            widget(
                "answered-kpi",
                "kpi",
                0,
                0,
                24,
                6,
                templateUid="queue-kpis",
                options={"columns": ["queue.answered"], "size": "large"},
            )
        ],
        name="Second floor",
        kind="wallboard",
    )
    await create_dashboard(
        ui,
        "floor-1",
        [
            widget(
                "sl",
                "kpi",
                0,
                0,
                24,
                6,
                templateUid="queue-kpis",
                options={"columns": ["queue.service_level"]},
            )
        ],
        name="First floor",
        kind="wallboard",
        rotation={"intervalSeconds": 5, "dashboards": ["floor-1", "floor-2"]},
    )
    await ui.page.set_viewport_size(FULL_HD)  # type: ignore[arg-type]
    await ui.open("/#/wallboards/floor-1")
    board = ui.page.locator(".wallboard")
    await expect(board).to_have_attribute("data-showing", "floor-1")
    await expect(ui.page.get_by_label("Rotation")).to_contain_text("1 / 2")
    await expect(ui.page.locator(".kpi-value")).to_have_text("77.3 %")
    await expect(board).to_have_attribute("data-showing", "floor-2", timeout=8000)
    await expect(ui.page.locator(".wallboard-name")).to_have_text("Second floor")
    await expect(ui.page.locator(".kpi-value")).to_have_text("500")
    await expect(board).to_have_attribute("data-showing", "floor-1", timeout=8000)
    # Values keep arriving on a board shown again.
    await ui.feed([("queue", "support", "queue.service_level", 90.0)])
    await expect(ui.page.locator(".kpi-value")).to_have_text("88.0 %")


async def test_the_kiosk_link_without_rotation_holds_its_wallboard(ui: UiSession) -> None:
    await create_dashboard(
        ui,
        "hold",
        [widget("note", "static_text", 0, 0, 24, 4, options={"text": "Welcome"})],
        name="Hold",
        kind="wallboard",
        rotation={"intervalSeconds": 5, "dashboards": ["hold", "demo-wallboard"]},
    )
    await ui.open("/#/wallboards/hold?rotate=0")
    await expect(ui.page.locator(".static-text")).to_have_text("Welcome")
    await expect(ui.page.get_by_label("Rotation")).to_have_count(0)
    await ui.page.wait_for_timeout(5500)
    await expect(ui.page.locator(".wallboard")).to_have_attribute("data-showing", "hold")


def test_the_readme_shows_the_screenshots() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "docs/images/dashboard.png" in readme
    assert "docs/images/wallboard.png" in readme
    assert (DOCS_IMAGES / "dashboard.png").exists()


async def test_a_wallboard_fits_a_1366_by_768_screen(ui: UiSession) -> None:
    await feed_floor(ui)
    await ui.open("/#/wallboards/demo-wallboard?rotate=0")
    await expect(ui.page.locator('.widget-card[data-widget="waiting"] .kpi-value')).to_have_text(
        "11"
    )
    overflow = await ui.page.evaluate(
        "[document.documentElement.scrollHeight - document.documentElement.clientHeight,"
        " document.documentElement.scrollWidth - document.documentElement.clientWidth]"
    )
    assert overflow[0] <= 0
    assert overflow[1] <= 0
    notice = await ui.page.locator('.widget-card[data-widget="notice"]').bounding_box()
    assert notice is not None
    assert notice["y"] + notice["height"] <= 768
