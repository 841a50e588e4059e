"""Identity in the browser: the login page (wrong password, throttling, back to the route the user
wanted), logging out, a session that ends while the page is open, a user offered only what their
privileges allow (and refused by the API when forcing it), kiosk links that show their wallboard
without a login until revoked, and names carrying script shown as text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Dialog, Page, expect

from browser import PASSWORD, UiSession, create_dashboard, widget

API = "/api/v1/tenants/acme"


async def log_in_on_page(page: Page, username: str, password: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


def expect_browser_refusals(ui: UiSession, status: int) -> None:
    """The browser logs every refused request as a console error: those a test provokes on
    purpose (this status) pass; any other error still fails the test."""
    ui.expected_errors.append(f"status of {status}")


async def test_a_visitor_logs_in_and_lands_where_they_wanted(ui_anonymous: UiSession) -> None:
    ui = ui_anonymous
    await ui.open("/#/templates")
    # No session: the login page, remembering the route.
    await expect(ui.page.get_by_role("heading", name="Log in to Wallboard")).to_be_visible()
    await expect(ui.page).to_have_url(f"{ui.base_url}/#/login?next=%2Ftemplates")
    await expect(ui.page.locator(".app-header")).to_have_count(0)
    await log_in_on_page(ui.page, "admin", PASSWORD)
    await expect(ui.page).to_have_url(f"{ui.base_url}/#/templates")
    await expect(ui.page.get_by_role("heading", name="Templates")).to_be_visible()
    header = ui.page.locator(".app-header")
    await expect(header.locator(".user-name")).to_have_text("Admin")
    # Only the user's tenant is offered.
    await expect(header.get_by_label("Tenant").locator("option")).to_have_text(["Acme"])
    # The session cookie cannot be read by scripts.
    assert "wallboard_session" not in await ui.page.evaluate("document.cookie")

    await header.get_by_role("button", name="Log out").click()
    await expect(ui.page.get_by_role("heading", name="Log in to Wallboard")).to_be_visible()
    # The session is over on the server too: the list needs a login again.
    await ui.open("/#/")
    await expect(ui.page.get_by_role("heading", name="Log in to Wallboard")).to_be_visible()
    response = await ui.page.request.get(f"{ui.base_url}{API}/dashboards")
    assert response.status == 401


async def test_a_wrong_password_says_so_and_throttling_says_how_long(
    ui_anonymous: UiSession,
) -> None:
    ui = ui_anonymous
    expect_browser_refusals(ui, 401)
    expect_browser_refusals(ui, 429)
    await ui.open("/")
    await log_in_on_page(ui.page, "admin", "not the password")
    alert = ui.page.get_by_role("alert")
    await expect(alert).to_have_text("Wrong username or password.")
    await expect(ui.page.get_by_label("Password")).to_be_visible()
    # More failures until logins of this user must wait a while (each wait waited out).
    async with httpx.AsyncClient(base_url=ui.base_url) as client:
        failures = 0
        while failures < 7:
            failed = await client.post(
                "/api/v1/auth/login", json={"username": "viewer", "password": "wrong"}
            )
            if failed.status_code == 429:
                await asyncio.sleep(float(failed.headers["Retry-After"]))
            else:
                assert failed.status_code == 401, failed.text
                failures += 1
    await log_in_on_page(ui.page, "viewer", PASSWORD)
    await expect(alert).to_contain_text("Too many attempts: try again in")
    text = await alert.text_content()
    assert text is not None
    seconds = int(text.split("try again in ")[1].split(" s")[0])
    assert seconds >= 2
    await expect(ui.page.get_by_role("button", name="Log in")).to_be_disabled()


async def test_a_session_ended_elsewhere_brings_the_login_back(ui: UiSession) -> None:
    expect_browser_refusals(ui, 401)
    await ui.open("/")
    await expect(ui.page.locator(".dashboard-card").first).to_be_visible()
    async with ui.client() as client:  # the same session, ended from outside the page
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
    await ui.page.locator(".app-header").get_by_role("link", name="Templates").click()
    await expect(ui.page.get_by_role("heading", name="Log in to Wallboard")).to_be_visible()
    await expect(ui.page).to_have_url(f"{ui.base_url}/#/login?next=%2Ftemplates")
    await log_in_on_page(ui.page, "admin", PASSWORD)
    await expect(ui.page.get_by_role("heading", name="Templates")).to_be_visible()


async def test_changes_carry_the_csrf_token_and_are_refused_without(ui: UiSession) -> None:
    async with ui.client(csrf=False) as client:
        refused = await client.post(
            f"{API}/dashboards", json={"uid": "forged", "name": "Forged", "widgets": []}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "csrf_failed"
    # The page's own change (a new dashboard) carries it.
    await ui.open("/")
    await ui.page.get_by_role("button", name="New dashboard").click()
    dialog = ui.page.get_by_role("dialog", name="New dashboard")
    await dialog.get_by_label("Name").fill("Made in the browser")
    await dialog.get_by_role("button", name="Create").click()
    await expect(ui.page.get_by_role("heading", name="Made in the browser")).to_be_visible()


SHARED_WIDGETS = [
    widget(
        "queues",
        "grid",
        0,
        0,
        12,
        4,
        templateUid="queue-kpis",
        objects=[{"type": "queue", "ids": ["sales"]}],
    ),
]


async def test_a_supervisor_is_not_offered_what_they_may_not_do(ui: UiSession) -> None:
    expect_browser_refusals(ui, 403)
    await create_dashboard(ui, "ops", SHARED_WIDGETS, name="Operations", shared=True)
    await ui.login("supervisor")
    await ui.open("/")
    await expect(ui.page.locator(".app-header .user-name")).to_have_text("Supervisor")
    ops = ui.page.locator('.dashboard-card[data-uid="ops"]')
    await expect(ops).to_be_visible()
    # Someone else's shared dashboard: no settings, no editing (manage-shared-dashboards).
    await expect(ops.get_by_role("button", name="Settings of Operations")).to_have_count(0)
    await expect(ops.get_by_role("button", name="Export Operations")).to_be_visible()
    # Their own dashboards: they may create and import (manage-tabs).
    await expect(ui.page.get_by_role("button", name="New dashboard")).to_be_visible()
    await ui.open("/#/dashboards/ops")
    await expect(ui.page.locator('.widget-card[data-widget="queues"]')).to_be_visible()
    await expect(ui.page.get_by_role("button", name="Edit layout")).to_have_count(0)
    await expect(ui.page.get_by_role("link", name="Add widget")).to_have_count(0)
    await expect(ui.page.get_by_role("button", name="Settings")).to_have_count(0)
    await expect(ui.page.get_by_role("link", name="Edit Queues")).to_have_count(0)
    await expect(ui.page.get_by_role("link", name="Export CSV of Queues")).to_be_visible()
    # Templates: shown, not changed (manage-templates).
    await ui.open("/#/templates")
    await expect(ui.page.get_by_role("table", name="Templates")).to_be_visible()
    await expect(ui.page.get_by_role("link", name="New template")).to_have_count(0)
    await expect(ui.page.get_by_role("button", name="Delete Queue KPIs")).to_have_count(0)
    await ui.open("/#/templates/queue-kpis")
    await expect(ui.page.get_by_text("read-only")).to_be_visible()
    await expect(ui.page.get_by_role("button", name="Save template")).to_have_count(0)
    await expect(ui.page.get_by_label("Name", exact=True)).to_be_disabled()

    # Forcing it through the API is refused all the same.
    async with ui.client() as client:
        for method, path, body in (
            ("PATCH", "/dashboards/ops", {"name": "Mine now"}),
            ("DELETE", "/dashboards/ops/widgets/queues", None),
            (
                "POST",
                "/templates",
                {
                    "name": "Forced",
                    "objectTypes": ["queue"],
                    "statistics": [],
                    "defaultDisplayType": "grid",
                },
            ),
            ("DELETE", "/templates/queue-kpis", None),
        ):
            answer = await client.request(method, API + path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["code"] == "forbidden"

    # A new dashboard of their own is theirs to edit, but not to share.
    await ui.open("/")
    await ui.page.get_by_role("button", name="New dashboard").click()
    dialog = ui.page.get_by_role("dialog", name="New dashboard")
    await expect(dialog.get_by_label("Shared with everyone of the tenant")).to_have_count(0)
    await dialog.get_by_label("Name").fill("My floor")
    await dialog.get_by_role("button", name="Create").click()
    await expect(ui.page.get_by_role("heading", name="My floor")).to_be_visible()
    await expect(ui.page.get_by_role("link", name="Add widget")).to_be_visible()
    await expect(ui.page.get_by_role("button", name="Edit layout")).to_be_visible()


async def test_a_restricted_viewer_sees_dashboards_read_only(ui: UiSession) -> None:
    await create_dashboard(ui, "ops", SHARED_WIDGETS, name="Operations", shared=True)
    await ui.login("viewer")
    await ui.open("/")
    await expect(ui.page.locator('.dashboard-card[data-uid="ops"]')).to_be_visible()
    await expect(ui.page.get_by_role("button", name="New dashboard")).to_have_count(0)
    await expect(ui.page.get_by_text("Import")).to_have_count(0)
    await ui.open("/#/dashboards/ops")
    await expect(ui.page.locator('.widget-card[data-widget="queues"]')).to_be_visible()
    toolbar = ui.page.get_by_role("toolbar", name="Edit dashboard")
    await expect(toolbar.get_by_role("button")).to_have_text(["Export"])
    await expect(ui.page.get_by_role("button", name="Edit layout")).to_have_count(0)
    # The wizard's link typed by hand shows the dashboard alone.
    await ui.open("/#/dashboards/ops/add-widget")
    await expect(ui.page.locator('.widget-card[data-widget="queues"]')).to_be_visible()
    await expect(ui.page.locator("wb-widget-wizard")).to_have_count(0)


@pytest.fixture
async def kiosk_page(ui: UiSession) -> AsyncIterator[Page]:
    """A second browser with no session, as a screen in a lobby; its errors count as the
    page's (and 401s, once the link is revoked, are expected)."""
    browser = ui.page.context.browser
    assert browser is not None
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    page.set_default_timeout(10_000)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            ui.errors.append(f"kiosk console error: {message.text} ({message.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: ui.errors.append(f"kiosk page error: {exc}"))
    yield page
    await context.close()


async def test_a_kiosk_link_shows_its_wallboard_without_login_until_revoked(
    ui: UiSession, kiosk_page: Page
) -> None:
    await ui.feed([("queue", "sales", "queue.calls_waiting", 7)])
    await create_dashboard(
        ui,
        "lobby",
        [*SHARED_WIDGETS, widget("notice", "static_text", 12, 0, 6, 2, options={"text": "Hi"})],
        name="Lobby",
        kind="wallboard",
        shared=True,
    )
    await create_dashboard(ui, "other", SHARED_WIDGETS, name="Other", shared=True)
    async with ui.client() as client:
        answer = await client.post(
            f"{API}/kiosk-links", json={"wallboard": "lobby", "name": "Hall"}
        )
        assert answer.status_code == 201, answer.text
        link: dict[str, Any] = answer.json()
    assert link["url"].startswith("/#/wallboards/lobby?")

    await kiosk_page.goto(ui.base_url + link["url"])
    cell = kiosk_page.locator('.widget-card[data-widget="queues"] tbody tr').first
    await expect(cell).to_contain_text("7")
    await expect(kiosk_page.locator(".app-header")).to_have_count(0)
    await expect(kiosk_page.get_by_role("heading", name="Log in to Wallboard")).to_have_count(0)
    await expect(kiosk_page.get_by_role("link", name="Edit Queues")).to_have_count(0)
    # Live, through the link's token on the live channel.
    await ui.feed([("queue", "sales", "queue.calls_waiting", 9)])
    await expect(cell).to_contain_text("9")
    # Esc does not leave the wallboard; other routes are not the link's.
    await kiosk_page.keyboard.press("Escape")
    await expect(kiosk_page.locator(".wallboard")).to_be_visible()
    token = link["token"]
    refused = await kiosk_page.request.get(
        f"{ui.base_url}{API}/dashboards/other", headers={"Authorization": f"Kiosk {token}"}
    )
    assert refused.status == 404
    forced = await kiosk_page.request.patch(
        f"{ui.base_url}{API}/dashboards/lobby",
        headers={"Authorization": f"Kiosk {token}"},
        data={"name": "Defaced"},
    )
    assert forced.status == 403

    async with ui.client() as client:
        revoked = await client.delete(f"{API}/kiosk-links/{link['id']}")
        assert revoked.status_code == 204, revoked.text
    ui.expected_errors.append("status of 401")
    ui.expected_errors.append("response code: 403")  # the live channel's refused handshake
    await kiosk_page.reload()
    await expect(kiosk_page.get_by_role("alert")).to_contain_text(
        "This kiosk link is no longer valid"
    )
    await expect(kiosk_page.locator(".widget-card")).to_have_count(0)


SCRIPT_NAMES = [
    '<img src=x onerror="window.__xss = 1">',
    "<script>window.__xss = 2</script>",
    '"><svg onload="window.__xss = 3">',
]


async def test_names_carrying_script_are_shown_as_text(ui: UiSession) -> None:
    img, script, svg = SCRIPT_NAMES
    now = int(time.time() * 1000)
    async with ui.client() as client:
        answer = await client.post(
            f"{API}/templates",
            json={
                "uid": "payload",
                "name": script,
                "description": img,
                "objectTypes": ["queue"],
                "statistics": [{"ref": "queue.calls_waiting", "alias": svg}],
                "defaultDisplayType": "grid",
            },
        )
        assert answer.status_code == 201, answer.text
    await ui.feed([("queue", "sales", "queue.calls_waiting", now % 100)])
    await create_dashboard(
        ui,
        "payload",
        [
            {
                **widget(
                    "queues",
                    "grid",
                    0,
                    0,
                    12,
                    4,
                    templateUid="payload",
                    objects=[{"type": "queue", "ids": ["sales"]}],
                ),
                "title": img,
            },
            {
                **widget("notice", "static_text", 12, 0, 6, 2, options={"text": script}),
                "title": svg,
            },
        ],
        name=img,
        description=script,
        shared=True,
    )
    await ui.open("/")
    card = ui.page.locator('.dashboard-card[data-uid="payload"]')
    await expect(card.locator(".card-title")).to_have_text(img)
    await ui.open("/#/dashboards/payload")
    await expect(ui.page.get_by_role("heading", name=img, exact=True).first).to_be_visible()
    await expect(ui.page.locator('.widget-card[data-widget="queues"] .widget-title')).to_have_text(
        img
    )
    await expect(ui.page.locator('.widget-card[data-widget="notice"] .widget-title')).to_have_text(
        svg
    )
    await expect(ui.page.locator('.widget-card[data-widget="notice"]')).to_contain_text(script)
    await expect(ui.page.locator('.widget-card[data-widget="queues"]')).to_contain_text(svg)
    await ui.open("/#/templates")
    await expect(ui.page.get_by_role("link", name=script)).to_be_visible()
    await ui.open("/#/templates/payload")
    await expect(ui.page.get_by_role("heading", name=script)).to_be_visible()
    await ui.open("/#/wallboards/payload?rotate=0")
    await expect(ui.page.locator(".wallboard-name")).to_have_text(img)
    # None of it ran, and no element came from a name.
    assert await ui.page.evaluate("window.__xss") is None
    assert (
        await ui.page.locator("img[src=x], svg[onload], script:not([src]):not([type])").count() == 0
    )


async def test_the_administrator_manages_users_and_kiosk_links(ui: UiSession) -> None:
    await create_dashboard(ui, "lobby", [], name="Lobby", kind="wallboard", shared=True)
    await ui.open("/")
    await ui.page.locator(".app-header").get_by_role("link", name="Admin").click()
    await expect(ui.page.get_by_role("heading", name="Administration")).to_be_visible()
    users = ui.page.get_by_role("table", name="Users")
    await expect(users.locator("tbody th")).to_have_text(["admin", "supervisor", "viewer"])

    new_user = ui.page.get_by_role("form", name="New user")
    await new_user.get_by_label("Username").fill("wall-1")
    await new_user.get_by_label("Display name").fill("Lobby screen")
    await new_user.get_by_label("Password").fill("a long enough password")
    await new_user.get_by_label("Role").select_option("wall-display")
    await new_user.get_by_role("button", name="Create user").click()
    await expect(users.locator('tr[data-user="wall-1"]')).to_contain_text("wall-display")

    new_link = ui.page.get_by_role("form", name="New kiosk link")
    await new_link.get_by_label("Wallboard").select_option("lobby")
    await new_link.get_by_label("Name (where the screen is)").fill("Hall")
    await new_link.get_by_role("button", name="Create kiosk link").click()
    url = await ui.page.get_by_role("textbox", name="Kiosk link").input_value()
    assert url.startswith(f"{ui.base_url}/#/wallboards/lobby?tenant=acme&kiosk=")
    links = ui.page.get_by_role("table", name="Kiosk links")
    await expect(links.locator("tbody tr")).to_contain_text(["Hall"])

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    ui.page.once("dialog", accept)
    await links.get_by_role("button", name="Revoke Hall").click()
    await expect(links.locator("tbody tr").first).to_contain_text("revoked")
    audit = ui.page.get_by_role("table", name="Audit log")
    await expect(audit).to_contain_text("kiosk.revoke")
    await expect(audit).to_contain_text("user.create")

    # Without manage-users there is no Admin page to go to.
    await ui.login("supervisor")
    await ui.open("/")
    await expect(ui.page.locator(".app-header").get_by_role("link", name="Admin")).to_have_count(0)
    await ui.open("/#/admin")
    await expect(ui.page.get_by_role("alert")).to_contain_text("needs the manage-users privilege")
