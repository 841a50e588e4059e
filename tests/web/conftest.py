"""Fixtures of the web tier's tests: the app on a migrated database (SQLite and PostgreSQL)
with tenant ``acme`` seeded, and an HTTP client talking to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from wallboard.db.database import Database, open_database
from wallboard.settings import Settings
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll
from wallboard.web.tenant_init import Mode, init_tenant

BODY_LIMIT = 64 * 1024


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[Database]:
    async with open_database(migrated_url) as db:
        await init_tenant(db, "acme", Mode.SETUP, display_name="Acme")
        yield db


@pytest.fixture
async def api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(web_max_body_bytes=BODY_LIMIT), database=database, policy=AllowAll())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        yield client
