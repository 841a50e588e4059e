"""Every write endpoint under every role: what the role's privileges allow succeeds, anything
else is 403 ``forbidden`` and changes nothing; private dashboards are their owner's alone;
another tenant's paths are 404 for everyone."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa

from identity_site import Login, Session
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.db.models import Dashboard
from wallboard.web.dashboards.repository import DashboardRepository
from wallboard.web.dashboards.schemas import DashboardCreate
from wallboard.web.dashboards.service import DashboardService
from wallboard.web.policy import AllowAll, Subject
from wallboard.web.templates.repository import TemplateRepository
from wallboard.web.templates.service import TemplateService, to_export
from wallboard.web.widgets.schemas import WidgetCreate
from wallboard.web.widgets.service import WidgetService

ACME = "/api/v1/tenants/acme"
WIDGET = {
    "uid": "w",
    "title": "Email",
    "templateUid": "email-queue-activity",
    "displayType": "grid",
}


async def own_dashboard(database: Database, owner: str, uid: str, *, shared: bool = False) -> None:
    """A dashboard of ``owner`` with widget ``w``, made behind the API's back (a viewer cannot
    make one, but may own one made for them)."""
    async with database.sessions() as session:
        subject = Subject(user=owner)
        tenant = TenantId("acme")
        templates = TemplateRepository(session, AllowAll(), subject, tenant)
        service = DashboardService(
            DashboardRepository(session, AllowAll(), subject, tenant),
            TemplateService(templates),
            WidgetService(session, templates),
        )
        await service.create(
            DashboardCreate(
                uid=uid, name=uid, shared=shared, widgets=[WidgetCreate.model_validate(WIDGET)]
            )
        )
        original = await service.templates.get("agent-kpis")
        spare = to_export(original).template.model_copy(update={"uid": f"tpl-{uid}"})
        await service.templates.create(spare)
        await session.commit()


@dataclasses.dataclass(frozen=True)
class Write:
    name: str
    needs: str  # the privilege; "" = none beyond being a user
    call: Callable[[Session, str], Awaitable[httpx.Response]]


async def _template_export(s: Session) -> dict[str, object]:
    exported = (await s.request("GET", f"{ACME}/templates/agent-kpis/export")).json()
    return dict(exported)


async def create_template(s: Session, me: str) -> httpx.Response:
    document = await _template_export(s)
    document["template"] = {**document["template"], "uid": f"copy-{me}"}  # type: ignore[dict-item]
    return await s.request("POST", f"{ACME}/templates/import", json=document)


WRITES = [
    Write("create template", "manage-templates", create_template),
    Write(
        "change template",
        "manage-templates",
        lambda s, me: s.request("PATCH", f"{ACME}/templates/agent-kpis", json={"name": me}),
    ),
    Write(
        "delete template",
        "manage-templates",
        lambda s, me: s.request("DELETE", f"{ACME}/templates/tpl-own-{me}"),
    ),
    Write(
        "create private dashboard",
        "manage-tabs",
        lambda s, me: s.request("POST", f"{ACME}/dashboards", json={"name": "private"}),
    ),
    Write(
        "create shared dashboard",
        "manage-shared-dashboards",
        lambda s, me: s.request(
            "POST", f"{ACME}/dashboards", json={"name": "shared", "shared": True}
        ),
    ),
    Write(
        "rename own dashboard",
        "manage-tabs",
        lambda s, me: s.request("PATCH", f"{ACME}/dashboards/own-{me}", json={"name": "x"}),
    ),
    Write(
        "share own dashboard",
        "manage-shared-dashboards",
        lambda s, me: s.request("PATCH", f"{ACME}/dashboards/own-{me}", json={"shared": True}),
    ),
    Write(
        "change another's shared dashboard",
        "manage-shared-dashboards",
        lambda s, me: s.request("PATCH", f"{ACME}/dashboards/demo-dashboard", json={"name": me}),
    ),
    Write(
        "delete another's shared dashboard",
        "manage-shared-dashboards",
        lambda s, me: s.request("DELETE", f"{ACME}/dashboards/theirs-{me}"),
    ),
    Write(
        "delete own dashboard",
        "manage-tabs",
        lambda s, me: s.request("DELETE", f"{ACME}/dashboards/spare-{me}"),
    ),
    Write(
        "add widget",
        "manage-widgets",
        lambda s, me: s.request(
            "POST", f"{ACME}/dashboards/own-{me}/widgets", json={**WIDGET, "uid": "w2"}
        ),
    ),
    Write(
        "change widget display",
        "edit-widget-display",
        lambda s, me: s.request(
            "PATCH",
            f"{ACME}/dashboards/own-{me}/widgets/w",
            json={"title": "Renamed", "displayType": "list"},
        ),
    ),
    Write(
        "change widget objects",
        "manage-widgets",
        lambda s, me: s.request(
            "PATCH",
            f"{ACME}/dashboards/own-{me}/widgets/w",
            json={"objects": [{"type": "queue", "ids": ["retail"]}]},
        ),
    ),
    Write(
        "remove widget",
        "manage-widgets",
        lambda s, me: s.request("DELETE", f"{ACME}/dashboards/own-{me}/widgets/w"),
    ),
    Write(
        "launch tabs",
        "manage-tabs",
        lambda s, me: s.request("PUT", f"{ACME}/launched", json={"dashboards": ["demo-dashboard"]}),
    ),
    Write(
        "create user",
        "manage-users",
        lambda s, me: s.request(
            "POST", f"{ACME}/users", json={"username": f"new-{me}", "roles": ["viewer"]}
        ),
    ),
    Write(
        "list users",
        "manage-users",
        lambda s, me: s.request("GET", f"{ACME}/users"),
    ),
    Write(
        "create kiosk link",
        "manage-users",
        lambda s, me: s.request(
            "POST", f"{ACME}/kiosk-links", json={"wallboard": "demo-wallboard", "name": "hall"}
        ),
    ),
    Write("read audit", "manage-users", lambda s, me: s.request("GET", f"{ACME}/audit")),
    Write(
        "set limits",
        "manage-users",
        lambda s, me: s.request("PUT", f"{ACME}/limits", json={"limits": []}),
    ),
    Write(
        "rotate signing key",
        "manage-configuration",  # stands for "every privilege": administrators only
        lambda s, me: s.request("POST", "/api/v1/auth/keys/rotate"),
    ),
    Write(
        "own API token",
        "",
        lambda s, me: s.request("POST", "/api/v1/auth/tokens", json={"name": "script"}),
    ),
]


@pytest.mark.parametrize("username", ["wall", "viewer", "supervisor", "manager", "admin"])
async def test_each_write_needs_its_privilege(
    username: str, login: Login, database: Database
) -> None:
    await own_dashboard(database, username, f"own-{username}")
    await own_dashboard(database, username, f"spare-{username}")
    await own_dashboard(database, "someone", f"theirs-{username}", shared=True)
    session = await login(username)
    privileges = set(session.me["privileges"])  # type: ignore[call-overload]
    outcomes = {}
    for write in WRITES:
        response = await write.call(session, username)
        allowed = not write.needs or write.needs in privileges
        outcomes[write.name] = (allowed, response.status_code, response.text[:200])
    wrong = {
        name: outcome
        for name, outcome in outcomes.items()
        if outcome[0] != (outcome[1] < 300) or (not outcome[0] and outcome[1] != 403)
    }
    assert not wrong, f"{username} ({sorted(privileges)}): {wrong}"
    # Nothing refused left a trace: the shared dashboards are as they were.
    async with database.sessions() as db:
        names = dict((await db.execute(sa.select(Dashboard.uid, Dashboard.name))).all())
    if "manage-shared-dashboards" not in privileges:
        assert names["demo-dashboard"] != username
        assert f"theirs-{username}" in names


async def test_private_dashboards_are_their_owners_alone(login: Login, database: Database) -> None:
    await own_dashboard(database, "supervisor", "secret")
    admin = await login("admin")
    supervisor = await login("supervisor")
    assert (await supervisor.request("GET", f"{ACME}/dashboards/secret")).status_code == 200
    for method, path, body in (
        ("GET", "/dashboards/secret", None),
        ("GET", "/dashboards/secret/export", None),
        ("GET", "/dashboards/secret/widgets", None),
        ("PATCH", "/dashboards/secret", {"name": "mine now"}),
        ("DELETE", "/dashboards/secret", None),
        ("POST", "/dashboards/secret/widgets", WIDGET),
    ):
        response = await admin.request(method, ACME + path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    listed = (await admin.request("GET", f"{ACME}/dashboards")).json()["items"]
    assert "secret" not in {item["uid"] for item in listed}


async def test_another_tenants_paths_are_not_found(login: Login, database: Database) -> None:
    admin = await login("admin")  # of acme
    other = await login("other-admin")  # of globex
    for path in (
        "/dashboards",
        "/dashboards/demo-dashboard",
        "/templates",
        "/templates/agent-kpis",
        "/users",
        "/audit",
        "/kiosk-links",
        "/limits",
        "/launched",
    ):
        response = await admin.request("GET", f"/api/v1/tenants/globex{path}")
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "not_found"
        assert (await other.request("GET", f"/api/v1/tenants/globex{path}")).status_code == 200
    for method, path, body in (
        ("POST", "/dashboards", {"name": "x"}),
        ("PATCH", "/dashboards/demo-dashboard", {"name": "x"}),
        ("DELETE", "/dashboards/demo-dashboard", None),
        ("POST", "/users", {"username": "intruder", "roles": ["administrator"]}),
        ("DELETE", "/users/other-admin", None),
    ):
        response = await admin.request(method, f"/api/v1/tenants/globex{path}", json=body)
        assert response.status_code == 404, (method, path, response.text)
    # A tenant that does not exist answers the same.
    missing = await admin.request("GET", "/api/v1/tenants/nowhere/dashboards")
    assert missing.status_code == 404
    assert (await other.request("GET", f"{ACME}/dashboards/demo-dashboard")).status_code == 404
