"""`wallboard demo` in a browser: the URL it prints opens, after a login with the printed
administrator's password, into the populated demo dashboard, fed live by the simulator through the collector, with durations that tick on the
wall clock (the simulated day is today) and no error in the page."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import ConsoleMessage, async_playwright, expect

from server_process import free_port

# An agent's status cell: the state (and reason), then how long it has lasted.
STATUS = re.compile(r"^\s*[A-Za-z][\w ()-]*\s+(\d+):(\d\d):(\d\d)\s*$")


@pytest.fixture
async def demo_url() -> AsyncIterator[tuple[str, str]]:
    """The URL the demo prints, and the administrator's password printed beside it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallboard.cli",
        "demo",
        "--port",
        str(free_port()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        assert line.startswith("Wallboard is running: "), line
        printed = [(await process.stdout.readline()).decode() for _ in range(2)]
        password = re.search(r"admin / (\S+) \(administrator\)", printed[1])
        assert password is not None, printed
        yield line.removeprefix("Wallboard is running: ").strip(), password[1]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 60) == 0


async def test_the_demo_opens_into_a_live_populated_dashboard(
    chromium: str, demo_url: tuple[str, str]
) -> None:
    url, password = demo_url
    assert "#/dashboards/demo-dashboard" in url
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console error: {message.text} ({message.location})")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        page.set_default_timeout(20_000)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        try:
            # The printed URL asks for a login first, then opens where it pointed.
            await page.goto(url)
            await page.get_by_label("Username").fill("admin")
            await page.get_by_label("Password").fill(password)
            await page.get_by_role("button", name="Log in").click()
            await expect(page.locator(".app-header .user-name")).to_be_visible()
            assert page.url == url
            await expect(page.get_by_text("Contact center overview").first).to_be_visible()
            queues = page.locator('.widget-card[data-widget="queues"]')
            await expect(queues).to_contain_text("retail")
            agents = page.locator('.widget-card[data-widget="agents"]')
            await expect(agents).to_contain_text(re.compile(r"Ready|Busy|Talking"))
            # Times in status are minutes or hours old, not months (the day is today), and tick.
            cells = agents.locator("td").filter(has_text=STATUS)
            await expect(cells.first).to_be_visible()
            texts = await cells.all_inner_texts()
            hours = [int(m[1]) for t in texts if (m := STATUS.match(t.strip()))]
            assert hours, texts[:10]
            assert max(hours) < 24, texts[:10]
            before = await cells.first.inner_text()
            await expect(cells.first).not_to_have_text(before, timeout=5_000)
        finally:
            await browser.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)
