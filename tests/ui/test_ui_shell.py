"""The app shell: served at /, its libraries load, the dashboards list, navigation, theme and
the connection indicator."""

from __future__ import annotations

from playwright.async_api import expect

from browser import UiSession


async def test_the_list_shows_the_tenants_dashboards_and_wallboards(ui: UiSession) -> None:
    await ui.open("/")
    cards = ui.page.locator(".dashboard-card")
    await expect(cards).to_have_count(2)
    await expect(cards.filter(has_text="Contact center overview")).to_contain_text("Dashboard")
    await expect(cards.filter(has_text="Floor wallboard")).to_contain_text("Wallboard")
    await expect(ui.page.get_by_role("status")).to_have_attribute("data-state", "open")
    await expect(ui.page.get_by_label("Tenant")).to_have_value("acme")
    # A card is a compact card: no page style (a wallboard's full height) leaks into it.
    for card in await cards.all():
        box = await card.bounding_box()
        assert box is not None
        assert box["height"] < 300, f"a dashboard card {box['height']:.0f}px high"

    await ui.page.get_by_role("link", name="Wallboards").click()
    await expect(cards).to_have_count(1)
    await expect(cards).to_contain_text("Floor wallboard")


async def test_the_theme_cycles_and_is_remembered(ui: UiSession) -> None:
    await ui.open("/")
    html = ui.page.locator("html")
    button = ui.page.get_by_role("button", name="Theme: auto (change)")
    await button.click()
    await expect(html).to_have_attribute("data-theme", "light")
    await ui.page.get_by_role("button", name="Theme: light (change)").click()
    await expect(html).to_have_attribute("data-theme", "dark")
    await ui.page.reload()
    await expect(html).to_have_attribute("data-theme", "dark")


async def test_the_vendored_libraries_load_in_the_browser(ui: UiSession) -> None:
    await ui.open("/")
    await expect(ui.page.locator(".dashboard-card").first).to_be_visible()
    loaded = await ui.page.evaluate(
        """async () => {
            const echarts = await import('echarts');
            const lit = await import('lit');
            return {
                grid: typeof window.GridStack?.init,
                charts: typeof echarts.init,
                lit: typeof lit.LitElement,
            };
        }"""
    )
    assert loaded == {"grid": "function", "charts": "function", "lit": "function"}


async def test_an_unknown_route_says_so(ui: UiSession) -> None:
    await ui.open("/#/nowhere")
    await expect(ui.page.get_by_role("alert")).to_contain_text("No such page")
