"""The browser UI: static ES modules under ``/ui`` and the page that loads them at ``/``.

There is no build step: ``web/ui/`` holds the modules the browser runs as they are, and
``web/ui/vendor/`` the libraries ``tools/vendor-ui`` copied from npm (docs/ui.md). The page
carries a small boot document (the tenants to choose from) so the UI needs no extra round trip
before it can show the tenant it opens.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from wallboard.core.errors import PermissionDenied, Unauthenticated
from wallboard.db.database import Database
from wallboard.db.models import Tenant
from wallboard.web.policy import AccessPolicy
from wallboard.web.statistics import standard_definitions

UI_DIR = Path(__file__).resolve().parent / "ui"
BOOT_MARKER = "<!--wallboard-boot-->"


async def boot_document(
    database: Database,
    user: str | None = None,
    tenant: str | None = None,
    policy: str = "secured",
    oidc: bool = False,
) -> dict[str, object]:
    """What the page knows before its first request: the tenants (id and display name), the
    standard statistics' formats (how a template's ``ref`` is shown unless it says), the
    user the policy sees (``None`` before a login), whose dashboards are "Mine", and the
    policy's name (``allow-all``: the UI asks for no login and offers everything) and whether
    OpenID Connect login is configured (the login page then offers it).

    The tenants listed are the user's (``tenant``); with ``user`` None (not logged in) none;
    a subject of every tenant (the allow-all policy) sees all.
    """
    statement = sa.select(Tenant.id, Tenant.display_name)
    if user is None:
        statement = statement.where(sa.false())
    elif tenant is not None:
        statement = statement.where(Tenant.id == tenant)
    async with database.sessions() as session:
        rows = (await session.execute(statement)).all()
    return {
        "apiPrefix": "/api/v1",
        "policy": policy,
        "oidc": oidc,
        "user": user,
        "tenants": [{"id": row[0], "name": row[1]} for row in sorted(rows)],
        "statistics": {
            definition.id: {"format": str(definition.format), "description": definition.description}
            for definition in standard_definitions()
        },
    }


def index_page(boot: dict[str, object]) -> str:
    """``index.html`` with the boot document in a JSON script element; ``<`` is escaped so
    no value (a tenant's name) can close the element."""
    page = (UI_DIR / "index.html").read_text(encoding="utf-8")
    payload = json.dumps(boot).replace("<", "\\u003c")
    element = f'<script type="application/json" id="wallboard-boot">{payload}</script>'
    return page.replace(BOOT_MARKER, element, 1)


def mount_ui(app: FastAPI, database: Database, policy: AccessPolicy) -> None:
    """``/`` answers the page; ``/ui/…`` its modules, styles and vendored libraries."""
    identity = getattr(policy, "identity", None)
    oidc = getattr(identity, "oidc", None) is not None

    async def index(request: Request) -> HTMLResponse:
        tenant: str | None = None
        try:
            subject = await policy.authenticate(request)
            user: str | None = subject.user
            tenant = subject.tenant
        except (Unauthenticated, PermissionDenied):
            user = None  # the page loads; its API calls will say that a login is needed
        name = str(getattr(policy, "name", "secured"))
        page = index_page(await boot_document(database, user, tenant, name, oidc))
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")
