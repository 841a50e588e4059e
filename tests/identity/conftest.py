"""Fixtures of the identity tests: the app under SecuredPolicy (the default of create_app) on a
migrated database (SQLite and PostgreSQL) with tenants ``acme`` and ``globex``, a user of each
role in acme and an administrator in globex, and HTTP clients that log in for real."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from identity_site import PASSWORD, USERS, Login, Session, Site
from wallboard.core.clock import FakeClock
from wallboard.core.ids import TenantId
from wallboard.db.database import Database, open_database
from wallboard.identity.users import add_user
from wallboard.settings import Settings
from wallboard.web.app import create_app
from wallboard.web.tenant_init import Mode, init_tenant


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[Database]:
    async with open_database(migrated_url) as db:
        await init_tenant(db, "acme", Mode.SETUP, display_name="Acme")
        await init_tenant(db, "globex", Mode.SETUP, display_name="Globex")
        async with db.sessions() as session:
            for username, (tenant, roles) in USERS.items():
                await add_user(session, TenantId(tenant), username, password=PASSWORD, roles=roles)
            await session.commit()
        yield db


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
async def site(database: Database, settings: Settings) -> Site:
    clock = FakeClock(start_ms=1_800_000_000_000)
    registry = CollectorRegistry()
    app = create_app(settings, database=database, registry=registry, clock=clock)
    return Site(app, clock, registry)


@pytest.fixture
async def login(site: Site) -> AsyncIterator[Login]:
    clients: list[httpx.AsyncClient] = []

    async def log_in(username: str) -> Session:
        client = site.client()
        clients.append(client)
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return Session(client, body["csrfToken"], body)

    yield log_in
    for client in clients:
        await client.aclose()
