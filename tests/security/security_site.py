"""The site the security suite attacks: the real secured policy (logins, roles, tenants, CSRF,
tokens, kiosk links) with the real permissions computed in process from configuration rows,
on a migrated database, with values in a memory value store.

Tenants ``acme`` and ``globex``. In acme: ``admin`` (administrator, sees everything),
``supervisor`` (supervisor role, an access group granting folder ``floor1`` only) and
``viewer`` (viewer role, the same access group). In globex: ``other-admin``. Everything the
acme supervisor may not see is named ``zz-hidden…``, everything of globex ``globex-secret…``:
a response that contains one of those texts has leaked it."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from fastapi import FastAPI

from identity_site import BASE_URL, PASSWORD, Session
from permissions_helpers import access_group, filed, folder
from wallboard.core.clock import FakeClock
from wallboard.stats import GroupConfig, ObjectConfig
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change

HIDDEN = "zz-hidden"
GLOBEX_SECRET = "globex-secret"
ACME = "/api/v1/tenants/acme"
GLOBEX = "/api/v1/tenants/globex"

# username -> (tenant, roles)
USERS: dict[str, tuple[str, list[str]]] = {
    "admin": ("acme", ["administrator"]),
    "supervisor": ("acme", ["supervisor"]),
    "viewer": ("acme", ["viewer"]),
    "other-admin": ("globex", ["administrator"]),
}

ACME_CONFIG = (
    folder("floor1"),
    folder("floor2"),
    filed("agent", "a1", "floor1"),
    filed("agent", "zz-hidden-agent", "floor2"),
    filed("queue", "sales", "floor1"),
    filed("queue", "zz-hidden-queue", "floor2"),
    filed("agent_group", "sales-team", "floor1"),
    filed("agent_group", "zz-hidden-team", "floor2"),
    access_group("floor1-sups", ["supervisor", "viewer"], folders=["floor1"]),
    access_group("everything", ["admin"], all_objects=True),
)
GLOBEX_CONFIG = (
    folder("globex-secret-floor"),
    filed("agent", "globex-secret-agent", "globex-secret-floor"),
    access_group("everything", ["other-admin"], all_objects=True),
)

OBJECTS = {
    "acme": ObjectConfig(
        agent_groups={
            "sales-team": GroupConfig(agents=("a1", "zz-hidden-agent")),
            "zz-hidden-team": GroupConfig(agents=("zz-hidden-agent",)),
        },
    ),
    "globex": ObjectConfig(),
}

VALUES = {
    "acme": [
        Change("agent", "a1", "agent.status", {"state": "ready"}),
        Change("agent", "zz-hidden-agent", "agent.status", {"state": "ready"}),
        Change("queue", "sales", "queue.calls_waiting", 3),
        Change("queue", "zz-hidden-queue", "queue.calls_waiting", 4),
    ],
    "globex": [Change("agent", "globex-secret-agent", "agent.status", {"state": "ready"})],
}

MIXED: dict[str, Any] = {
    "uid": "mixed",
    "name": "Mixed",
    "shared": True,
    "widgets": [
        {
            "uid": "agents",
            "title": "Agents",
            "templateUid": "agent-kpis",
            "displayType": "grid",
            "objects": [{"type": "agent", "ids": ["a1", "zz-hidden-agent"]}],
        },
        {
            "uid": "queues",
            "title": "Queues",
            "templateUid": "queue-kpis",
            "displayType": "grid",
            "objects": [{"type": "queue", "ids": ["zz-hidden-queue", "sales"]}],
        },
        {
            "uid": "team",
            "title": "Team",
            "templateUid": "agent-kpis",
            "displayType": "grid",
            "objects": [{"type": "agent", "group": "sales-team"}],
        },
        {
            "uid": "secret-team",
            "title": "Secret team",
            "templateUid": "agent-kpis",
            "displayType": "grid",
            "objects": [{"type": "agent", "group": "zz-hidden-team"}],
        },
    ],
}


@dataclasses.dataclass
class SecuredSite:
    app: FastAPI
    clock: FakeClock
    values: MemoryValueStore
    sessions: dict[str, Session]

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL, **kw
        )

    async def log_in(self, username: str) -> Session:
        client = self.client()
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return Session(client, response.json()["csrfToken"], response.json())


def leaks(text: str, *secrets: str) -> list[str]:
    """The secret names ``text`` contains."""
    return [secret for secret in secrets if secret in text]
