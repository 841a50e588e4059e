"""A tenant's users (never a hash in an answer), the audit log of logins and changes, and the
usage limits per tenant and per access group."""

from __future__ import annotations

from identity_site import Login, Site
from wallboard.db.database import Database
from wallboard.db.models import ConfigObject

ACME = "/api/v1/tenants/acme"


async def test_users_are_managed_without_ever_showing_a_hash(site: Site, login: Login) -> None:
    admin = await login("admin")
    created = await admin.request(
        "POST",
        f"{ACME}/users",
        json={
            "username": "carol",
            "displayName": "Carol <b>Ops</b>",
            "password": "a long enough password",
            "roles": ["supervisor"],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["displayName"] == "Carol <b>Ops</b>"  # stored as text, as given
    assert body["privileges"] == [
        "edit-widget-display",
        "manage-tabs",
        "manage-widgets",
        "view-dashboard-restricted",
    ]
    assert body["hasPassword"] is True
    listed = await admin.request("GET", f"{ACME}/users")
    assert "argon2" not in listed.text
    assert "argon2" not in created.text
    assert {u["username"] for u in listed.json()["items"]} == {
        "admin",
        "wall",
        "viewer",
        "supervisor",
        "manager",
        "carol",
    }
    taken = await admin.request("POST", f"{ACME}/users", json={"username": "Other-Admin"})
    assert taken.status_code == 409  # usernames are unique in the installation, any case
    unknown_role = await admin.request(
        "POST", f"{ACME}/users", json={"username": "dave", "roles": ["root"]}
    )
    assert unknown_role.status_code == 422
    short = await admin.request(
        "POST", f"{ACME}/users", json={"username": "dave", "password": "short"}
    )
    assert short.status_code == 422

    assert await login_as(site, "carol", "a long enough password") == 200
    changed = await admin.request(
        "PATCH", f"{ACME}/users/carol", json={"password": "another long password"}
    )
    assert changed.status_code == 200
    assert await login_as(site, "carol", "a long enough password") == 401
    assert await login_as(site, "carol", "another long password") == 200
    disabled = await admin.request("PATCH", f"{ACME}/users/carol", json={"disabled": True})
    assert disabled.json()["disabled"] is True
    assert await login_as(site, "carol", "another long password") == 401
    assert (await admin.request("DELETE", f"{ACME}/users/carol")).status_code == 204
    assert (await admin.request("GET", f"{ACME}/users/carol")).status_code == 404


async def login_as(site: Site, username: str, password: str) -> int:
    """The status of a login (200: it worked)."""
    async with site.client() as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        return response.status_code


async def test_the_audit_log_records_logins_and_changes(site: Site, login: Login) -> None:
    async with site.client() as client:
        await client.post("/api/v1/auth/login", json={"username": "viewer", "password": "nope"})
        await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope"})
    admin = await login("admin")
    await admin.request("POST", f"{ACME}/users", json={"username": "erin", "roles": ["viewer"]})
    await admin.request("POST", "/api/v1/auth/tokens", json={"name": "nightly export"})
    await admin.request(
        "POST", f"{ACME}/kiosk-links", json={"wallboard": "demo-wallboard", "name": "hall"}
    )
    page = await admin.request("GET", f"{ACME}/audit", params={"limit": 100})
    assert page.status_code == 200, page.text
    entries = page.json()["items"]
    seen = [(e["action"], e["actor"], e["target"]) for e in entries]
    assert ("login.failed", "viewer", "viewer") in seen
    assert ("login", "admin", "admin") in seen
    assert ("user.create", "admin", "erin") in seen
    assert ("kiosk.create", "admin", "1") in seen
    assert any(action == "token.create" for action, _, _ in seen)
    # The unknown user's failed login belongs to no tenant: not in acme's log.
    assert not any(actor == "ghost" for _, actor, _ in seen)
    # Newest first, and never a secret.
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert "wbk_" not in page.text
    assert "nope" not in page.text
    failed = await admin.request("GET", f"{ACME}/audit", params={"action": "login.failed"})
    assert [e["actor"] for e in failed.json()["items"]] == ["viewer"]
    paged = await admin.request("GET", f"{ACME}/audit", params={"limit": 2, "page": 2})
    assert paged.json()["pagination"]["totalCount"] == len(entries)
    assert [e["id"] for e in paged.json()["items"]] == [e["id"] for e in entries[2:4]]
    # globex's administrator sees none of it.
    other = await login("other-admin")
    assert (await other.request("GET", f"{ACME}/audit")).status_code == 404
    theirs = (await other.request("GET", "/api/v1/tenants/globex/audit")).json()["items"]
    assert {e["actor"] for e in theirs} == {"cli", "other-admin"}  # its users made, its login


async def test_limits_per_tenant_and_access_group(
    site: Site, login: Login, database: Database
) -> None:
    async with database.sessions() as session:
        session.add(
            ConfigObject(
                tenant_id="acme",
                type="access_group",
                name="floor-2",
                display_name="Floor 2",
                attributes={"members": ["supervisor"], "folders": [], "objects": []},
            )
        )
        await session.commit()
    admin = await login("admin")
    limits = {
        "limits": [
            {"dashboardsPerUser": 1, "widgetsPerDashboard": 1},
            {"accessGroup": "floor-2", "dashboardsPerUser": 2, "widgetsPerDashboard": 2},
        ]
    }
    assert (await admin.request("PUT", f"{ACME}/limits", json=limits)).status_code == 200
    assert (await admin.request("GET", f"{ACME}/limits")).json() == limits | {
        "limits": [
            {"accessGroup": None, "dashboardsPerUser": 1, "widgetsPerDashboard": 1},
            {"accessGroup": "floor-2", "dashboardsPerUser": 2, "widgetsPerDashboard": 2},
        ]
    }
    widget = {"title": "Email", "templateUid": "email-queue-activity", "displayType": "grid"}

    async def make(session: object, n: int) -> list[int]:
        codes = []
        for i in range(n):
            response = await session.request(  # type: ignore[attr-defined]
                "POST", f"{ACME}/dashboards", json={"uid": f"d{i}-{id(session)}", "name": "d"}
            )
            codes.append(response.status_code)
        return codes

    supervisor = await login("supervisor")  # in floor-2: 2 dashboards, 2 widgets each
    assert await make(supervisor, 3) == [201, 201, 403]
    refused = await supervisor.request("POST", f"{ACME}/dashboards", json={"name": "x"})
    assert refused.json()["code"] == "limit_reached"
    board = f"{ACME}/dashboards/d0-{id(supervisor)}/widgets"
    codes = [
        (await supervisor.request("POST", board, json={**widget, "uid": f"w{i}"})).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 403]
    too_many = await supervisor.request(
        "POST", f"{ACME}/dashboards", json={"name": "x", "widgets": [widget, widget | {"uid": "b"}]}
    )
    assert too_many.status_code == 403
    manager = await login("manager")  # exceed-limits
    assert await make(manager, 3) == [201, 201, 201]
    # Nothing refused was stored.
    listed = (await supervisor.request("GET", f"{ACME}/dashboards")).json()["items"]
    assert len([d for d in listed if d["owner"] == "supervisor"]) == 2
