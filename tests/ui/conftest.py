"""Fixtures of the browser UI's tests: the real web app (create_app on a migrated SQLite
database with tenant ``acme`` seeded and its users (browser.USERS), and a value store the test
feeds) served by uvicorn under the secured policy, and Debian's Chromium driven headless by
Playwright, logged in as the administrator (``ui_anonymous``: not logged in).

Every test fails when the page logs a console error or throws (``UiSession.errors``), whatever
it asserts itself. Without Chromium the tests skip on a developer's machine and fail under CI
(``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import ConsoleMessage, async_playwright
from prometheus_client import CollectorRegistry

from asgi_server import serve
from browser import PASSWORD, USERS, UiSession
from wallboard.core.ids import TenantId
from wallboard.db.database import Database, open_database
from wallboard.identity.users import add_user
from wallboard.permissions.service import permissions_in_process
from wallboard.settings import Settings
from wallboard.store.memory import MemoryValueStore
from wallboard.web.app import create_app
from wallboard.web.policy import Visibility
from wallboard.web.tenant_init import Mode, init_tenant

CHROMIUM = os.environ.get("WALLBOARD_TEST_CHROMIUM", "/usr/bin/chromium")
# The smaller of the two screens the UI must work on; tests that need the other set it.
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def ui_database(migrated_sqlite_url: str) -> AsyncIterator[Database]:
    async with open_database(migrated_sqlite_url) as db:
        await init_tenant(db, "acme", Mode.SETUP, display_name="Acme")
        async with db.sessions() as session:
            for username, roles in USERS.items():
                await add_user(
                    session,
                    TenantId("acme"),
                    username,
                    password=PASSWORD,
                    roles=roles,
                    display_name=username.capitalize(),
                )
            await session.commit()
        yield db


@pytest.fixture
async def ui(ui_anonymous: UiSession) -> UiSession:
    await ui_anonymous.login()
    return ui_anonymous


@pytest.fixture
async def ui_anonymous(chromium: str, ui_database: Database) -> AsyncIterator[UiSession]:
    async with browser_session(chromium, ui_database) as session:
        yield session


@pytest.fixture
async def ui_permissions(chromium: str, ui_database: Database) -> AsyncIterator[UiSession]:
    """As ``ui``, with the permissions service's work in the process (the demo's way): the
    objects a user sees are those their access groups grant (none until the test configures
    some through the config API)."""
    registry = CollectorRegistry()
    async with (
        permissions_in_process(ui_database, registry=registry) as permissions,
        browser_session(chromium, ui_database, permissions.visibility) as session,
    ):
        await session.login()
        yield session


@contextlib.asynccontextmanager
async def browser_session(
    chromium: str, database: Database, visibility: Visibility | None = None
) -> AsyncIterator[UiSession]:
    """The app served on a free port and a headless Chromium page on it, not logged in; fails
    the test on any browser error it did not expect."""
    store = MemoryValueStore()
    app = create_app(
        Settings(),
        database=database,
        store=store,
        registry=CollectorRegistry(),
        visibility=visibility,
    )
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console error: {message.text} ({message.location})")

    async with serve(app) as port, async_playwright() as playwright:
        # Root in a container has no user namespaces for Chromium's sandbox.
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        page = await context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        session = UiSession(page, f"http://127.0.0.1:{port}", store, database, errors)
        try:
            yield session
        finally:
            await context.close()
            await browser.close()
            await app.state.live_hub.close()
    unexpected = [e for e in errors if not any(x in e for x in session.expected_errors)]
    assert not unexpected, "the browser reported errors:\n" + "\n".join(unexpected)
