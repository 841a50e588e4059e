"""In a real browser (Chromium, Playwright) on the secured site: names made of script
payloads render as text and run nothing, and the restricted supervisor's pages never show a
hidden agent or queue. The browser carries the user's real session cookie (the UI has no login
page yet; the cookie is what a login leaves)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from attempts import Ledger
from playwright.async_api import async_playwright, expect
from security_site import ACME, HIDDEN, SecuredSite
from test_security_input import SCRIPTS

from asgi_server import serve

CHROMIUM = os.environ.get("WALLBOARD_TEST_CHROMIUM", "/usr/bin/chromium")
FLAG = "window.__pwned"
# Every payload, when it runs, sets the flag instead of alerting.
PAYLOADS = [
    text.replace("alert(1)", "window.__pwned=1").replace("window.pwned", "window.__pwned")
    for text in SCRIPTS
]


@pytest.fixture
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


async def test_script_names_render_as_text_and_hidden_objects_never_show(
    site: SecuredSite, attempts: Ledger, chromium: str
) -> None:
    admin = site.sessions["admin"]
    for index, payload in enumerate(PAYLOADS):
        made = await admin.request(
            "POST",
            f"{ACME}/templates",
            json={
                "uid": f"xss-{index}",
                "name": payload,
                "objectTypes": ["agent"],
                "statistics": [{"ref": "agent.status", "alias": payload}],
                "defaultDisplayType": "grid",
            },
        )
        assert made.status_code == 201, made.text
        made = await admin.request(
            "POST",
            f"{ACME}/dashboards",
            json={
                "uid": f"xss-{index}",
                "name": payload,
                "shared": True,
                "widgets": [
                    {
                        "uid": "w",
                        "title": payload,
                        "templateUid": f"xss-{index}",
                        "displayType": display,
                        "objects": [{"type": "agent", "ids": ["a1"]}],
                        "position": {"x": 0, "y": 0, "w": 12, "h": 4},
                    }
                    for display in ("grid",)
                ],
            },
        )
        assert made.status_code == 201, made.text
    errors: list[str] = []
    async with serve(site.app) as port, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            base = f"http://127.0.0.1:{port}"

            async def page_of(user: str) -> Any:
                context = await browser.new_context(viewport={"width": 1366, "height": 768})
                cookie = site.sessions[user].client.cookies.get("wallboard_session")
                await context.add_cookies(
                    [{"name": "wallboard_session", "value": cookie or "", "url": base}]
                )
                await context.add_init_script("window.alert = () => { window.__pwned = 2 }")
                page = await context.new_page()
                page.set_default_timeout(10_000)
                page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
                return page

            page = await page_of("admin")
            for index, payload in enumerate(PAYLOADS):
                for where in (f"/#/dashboards/xss-{index}", f"/#/templates/xss-{index}"):
                    await page.goto(base + where)
                    await expect(page.get_by_text(payload, exact=True).first).to_be_visible()
                    ran = await page.evaluate(FLAG)
                    attempts.record(
                        "script-payload-browser",
                        f"{where} {payload!r}",
                        failed=ran is None,
                        detail=f"flag {ran}",
                    )
            await page.goto(base + "/#/templates")
            await expect(page.get_by_text(PAYLOADS[0], exact=True).first).to_be_visible()
            attempts.record(
                "script-payload-browser",
                "/#/templates list",
                failed=await page.evaluate(FLAG) is None,
            )
            page = await page_of("supervisor")
            for where in (
                "/#/dashboards/mixed",
                "/",
                "/#/templates",
                "/#/dashboards/mixed/add-widget",
            ):
                await page.goto(base + where)
                await page.wait_for_timeout(1500)
                html = await page.content()
                attempts.record(
                    "object-denial-browser",
                    f"supervisor {where}",
                    failed=HIDDEN not in html,
                    detail=html[:300],
                )
            await page.goto(base + "/#/dashboards/mixed")
            await expect(page.get_by_text("a1").first).to_be_visible()
        finally:
            await browser.close()
    assert not errors, errors
