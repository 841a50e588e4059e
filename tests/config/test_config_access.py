"""Who may read and change the configuration: writes need manage-configuration (and the
policy's check_write); a subject without it reads only the widget objects it may see; a
subject of one tenant finds no other tenant's configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.requests import HTTPConnection

from wallboard.core.errors import PermissionDenied
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.settings import Settings
from wallboard.web.app import create_app
from wallboard.web.policy import ALL_PRIVILEGES, Privilege, Subject

C = "/api/v1/config/acme"


class HeaderPolicy:
    """A policy of this test: the ``X-Role`` header says who asks (``viewer``: sees agent
    a-1 only, no manage-configuration; ``locked``: manages, but check_write refuses
    ``agent/locked``; else an acme administrator)."""

    def __init__(self) -> None:
        self.write_checks: list[tuple[str, str]] = []

    async def authenticate(self, connection: HTTPConnection) -> Subject:
        role = connection.headers.get("x-role", "admin")
        if role == "kiosk":
            return Subject(
                user="kiosk",
                tenant=TenantId("acme"),
                privileges=frozenset({Privilege.VIEW_DASHBOARD}),
                kiosk_dashboard="demo-wallboard",
            )
        if role == "viewer":
            return Subject(
                user="vera",
                tenant=TenantId("acme"),
                privileges=frozenset({Privilege.VIEW_DASHBOARD}),
                visible_objects=frozenset({("agent", "a-1")}),
            )
        return Subject(user="ada", tenant=TenantId("acme"), privileges=ALL_PRIVILEGES)

    def readable_templates(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        return statement

    def readable_dashboards(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        return statement

    def readable_objects(
        self, subject: Subject, tenant: TenantId, objects: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        visible = subject.visible_objects
        return [key for key in objects if visible is None or key in visible]

    def check_write(
        self, subject: Subject, tenant: TenantId, kind: str, uid: str, **how: object
    ) -> None:
        self.write_checks.append((kind, uid))
        if uid == "agent/locked":
            raise PermissionDenied("agent/locked may not be changed")


@pytest.fixture
async def guarded(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, HeaderPolicy]]:
    policy = HeaderPolicy()
    app = create_app(Settings(), database=database, policy=policy)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        yield client, policy


async def test_writes_need_the_privilege_and_the_policy(
    guarded: tuple[httpx.AsyncClient, HeaderPolicy],
) -> None:
    api, policy = guarded
    for name in ("a-1", "a-2"):
        assert (
            await api.post(f"{C}/objects", json={"type": "agent", "name": name})
        ).status_code == 201
    assert policy.write_checks == [("config", "agent/a-1"), ("config", "agent/a-2")]
    viewer = {"X-Role": "viewer"}
    attempts = [
        api.post(f"{C}/objects", json={"type": "agent", "name": "a-3"}, headers=viewer),
        api.patch(f"{C}/objects/agent/a-1", json={"displayName": "x"}, headers=viewer),
        api.delete(f"{C}/objects/agent/a-1", headers=viewer),
        api.post(f"{C}/import", content="objects: [{type: skill, name: s}]", headers=viewer),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    refused = await api.post(f"{C}/objects", json={"type": "agent", "name": "locked"})
    assert refused.status_code == 403
    assert (await api.get(f"{C}/objects")).json()["pagination"]["totalCount"] == 2


async def test_a_viewer_reads_only_the_objects_it_may_see(
    guarded: tuple[httpx.AsyncClient, HeaderPolicy],
) -> None:
    api, _ = guarded
    document = """
objects:
  - {type: folder, name: floor}
  - {type: agent, name: a-1, folder: floor}
  - {type: agent, name: a-2, folder: floor}
  - {type: access_group, name: everything, attributes: {all_objects: true, members: [ada]}}
"""
    assert (await api.post(f"{C}/import", content=document)).status_code == 200
    viewer = {"X-Role": "viewer"}
    listed = (await api.get(f"{C}/objects", headers=viewer)).json()
    assert [o["name"] for o in listed["items"]] == ["a-1"]
    assert listed["pagination"]["totalCount"] == 1
    assert (await api.get(f"{C}/objects/agent/a-2", headers=viewer)).status_code == 404
    assert (
        await api.get(f"{C}/objects/access_group/everything", headers=viewer)
    ).status_code == 404
    exported = (await api.get(f"{C}/export", headers=viewer)).text
    assert "a-1" in exported
    assert "a-2" not in exported
    assert "everything" not in exported
    feed = (await api.get(f"{C}/changes", headers=viewer)).json()
    assert [o["name"] for o in feed["objects"]] == ["a-1"]
    await api.delete(f"{C}/objects/agent/a-2")
    feed = (await api.get(f"{C}/changes", headers=viewer)).json()
    assert feed["deletions"] == []  # an invisible object's name is never sent
    # A kiosk link reads nothing of the configuration.
    for path in (f"{C}/objects", f"{C}/objects/agent/a-1", f"{C}/export", f"{C}/changes"):
        response = await api.get(path, headers={"X-Role": "kiosk"})
        assert response.status_code == 403, (path, response.text)
    # Another tenant's configuration does not exist for a subject of acme.
    for path in ("/api/v1/config/globex/objects", "/api/v1/config/globex/changes"):
        response = await api.get(path)
        assert response.status_code == 404, response.text
