"""A browser page on a running web app, for the browser UI's tests (tests/ui)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page

from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.identity.policy import SESSION_COOKIE
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change, Since

TENANT = TenantId("acme")
# The users of the UI tests' tenant (username -> roles), all with PASSWORD; the fixture logs the
# browser in as ADMIN.
PASSWORD = "correct horse battery"
ADMIN = "admin"
USERS: dict[str, list[str]] = {
    "admin": ["administrator"],
    "supervisor": ["supervisor"],
    "viewer": ["viewer"],
}
# The screenshots the README shows live in docs/images; the suite takes them on every run, and
# writes them there only when asked (`make screenshots`), so a test run leaves the tree clean.
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def screenshot_file(name: str) -> Path:
    """Where the screenshot ``name`` goes: docs/images with WALLBOARD_SCREENSHOTS=docs, else a
    scratch folder."""
    if os.environ.get("WALLBOARD_SCREENSHOTS") == "docs":
        folder = DOCS_IMAGES
    else:
        folder = Path(tempfile.gettempdir()) / "wallboard-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@dataclasses.dataclass
class UiSession:
    """One browser page on a running app, with what the page reported."""

    page: Page
    base_url: str
    store: MemoryValueStore
    database: Database
    errors: list[str]
    # Console errors a test provokes on purpose (substrings), e.g. the browser's own line for a
    # 412 answer it asked for; any other error still fails the test.
    expected_errors: list[str] = dataclasses.field(default_factory=list)
    # The browser's session (cookie value) and the CSRF token its changes carry.
    session_cookie: str = ""
    csrf: str = ""

    async def login(self, username: str = ADMIN, password: str = PASSWORD) -> dict[str, Any]:
        """Logs the browser's context in through the login endpoint (the login page has tests
        of its own); ``client()`` then acts as the same user. A page already open is left
        (about:blank), so the next ``open`` loads the UI afresh as the new user."""
        if self.page.url != "about:blank":
            await self.page.goto("about:blank")
        response = await self.page.context.request.post(
            f"{self.base_url}/api/v1/auth/login",
            data={"username": username, "password": password},
        )
        assert response.ok, f"login of {username}: {response.status} {await response.text()}"
        me: dict[str, Any] = await response.json()
        self.csrf = str(me["csrfToken"])
        cookies = await self.page.context.cookies(self.base_url)
        self.session_cookie = next(c["value"] for c in cookies if c["name"] == SESSION_COOKIE)
        return me

    def client(self, *, csrf: bool = True) -> httpx.AsyncClient:
        """An HTTP client acting as the browser's user: its session cookie, and its CSRF token
        on every request (``csrf=False``: without)."""
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return httpx.AsyncClient(
            base_url=self.base_url,
            cookies={SESSION_COOKIE: self.session_cookie},
            headers=headers,
        )

    async def feed(self, rows: Iterable[tuple[str, str, str, Any]]) -> None:
        """Writes values to the store as the collector would: (type, id, statistic, value);
        a value of None removes it."""
        await self.store.apply(TENANT, [Change(*row) for row in rows])

    async def open(self, path: str = "/") -> None:
        await self.page.goto(self.base_url + path)


def since(ms: int) -> Since:
    """A duration that grows with the clock, started at ``ms`` (epoch ms)."""
    return Since(ms)


def widget(uid: str, display: str, x: int, y: int, w: int, h: int, **extra: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": uid.replace("-", " ").capitalize(),
        "displayType": display,
        "position": {"x": x, "y": y, "w": w, "h": h},
        **extra,
    }


async def create_dashboard(
    ui: UiSession, uid: str, widgets: list[dict[str, Any]], **fields: Any
) -> None:
    async with ui.client() as client:
        answer = await client.post(
            "/api/v1/tenants/acme/dashboards",
            json={
                "uid": uid,
                "name": fields.pop("name", "Operations"),
                "widgets": widgets,
                **fields,
            },
        )
        assert answer.status_code == 201, answer.text
