"""Fixtures of the security suite; its ledger (attempts.py) is printed at the end of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from attempts import LEDGER, Ledger
from openapi_walk import learn_exports
from prometheus_client import CollectorRegistry
from security_site import (
    ACME,
    ACME_CONFIG,
    GLOBEX_CONFIG,
    MIXED,
    OBJECTS,
    USERS,
    VALUES,
    SecuredSite,
)

from identity_site import PASSWORD
from permissions_helpers import put_objects
from wallboard.core.clock import FakeClock
from wallboard.core.ids import TenantId
from wallboard.db.database import open_database
from wallboard.identity.users import add_user
from wallboard.permissions.service import permissions_in_process
from wallboard.settings import Settings
from wallboard.store.memory import MemoryValueStore
from wallboard.web.app import create_app
from wallboard.web.tenant_init import Mode, init_tenant


@pytest.fixture
def attempts() -> Ledger:
    return LEDGER


@pytest.fixture
async def site(migrated_sqlite_url: str) -> AsyncIterator[SecuredSite]:
    """The secured site (see security_site), every user logged in (``site.sessions``) and the
    ``mixed`` dashboard created by the acme administrator."""
    async with open_database(migrated_sqlite_url) as database:
        await init_tenant(database, "acme", Mode.SETUP, display_name="Acme")
        await init_tenant(database, "globex", Mode.SETUP, display_name="Globex")
        await put_objects(database, "acme", *ACME_CONFIG)
        await put_objects(database, "globex", *GLOBEX_CONFIG)
        async with database.sessions() as session:
            for username, (tenant, roles) in USERS.items():
                await add_user(session, TenantId(tenant), username, password=PASSWORD, roles=roles)
            await session.commit()
        values = MemoryValueStore()
        for tenant, changes in VALUES.items():
            await values.apply(TenantId(tenant), changes)
        async with permissions_in_process(database, registry=CollectorRegistry()) as perms:
            clock = FakeClock(start_ms=1_800_000_000_000)
            app = create_app(
                Settings(),
                database=database,
                store=values,
                objects=OBJECTS,
                registry=CollectorRegistry(),
                clock=clock,
                visibility=perms.visibility,
            )
            site = SecuredSite(app, clock, values, {})
            for username in USERS:
                site.sessions[username] = await site.log_in(username)
            admin = site.sessions["admin"]
            await learn_exports(admin)
            created = await admin.request("POST", f"{ACME}/dashboards", json=MIXED)
            assert created.status_code == 201, created.text
            try:
                yield site
            finally:
                for logged_in in site.sessions.values():
                    await logged_in.client.aclose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LEDGER.made:
        for line in LEDGER.report():
            terminalreporter.write_line(line)
