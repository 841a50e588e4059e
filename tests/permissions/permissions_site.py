"""A tenant with a restricted supervisor, for the enforcement tests: configuration rows
(folders, agents, queues, groups, access groups), the visible sets computed by the real
follower into a real permissions store, values in a real value store, and a small policy that
authenticates one user of the test's choosing with the visible objects the permissions store
holds (a stand-in for the identity service's policy, not a mock of the permissions).

Everything the supervisor may not see is named ``zz-hidden…``: a response that contains that
text has leaked it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from starlette.requests import HTTPConnection

from permissions_helpers import access_group, filed, folder, put_objects
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.permissions.service import PermissionsFollower
from wallboard.permissions.store import MemoryPermissionsStore
from wallboard.permissions.visibility import StoredVisibility
from wallboard.settings import Settings
from wallboard.stats import GroupConfig, ObjectConfig, QueueGroupConfig
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change, IntervalValue
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll, Subject
from wallboard.web.tenant_init import Mode, init_tenant

ACME = TenantId("acme")
T = "/api/v1/tenants/acme"
HIDDEN = "zz-hidden"
START_MS = 1_700_000_000_000

CONFIG = (
    folder("floor1"),
    folder("team-a", "floor1"),
    folder("floor2"),
    filed("agent", "a1", "floor1"),
    filed("agent", "a2", "team-a"),
    filed("agent", "zz-hidden-agent", "floor2"),
    filed("queue", "sales", "floor1"),
    filed("queue", "zz-hidden-queue", "floor2"),
    filed("agent_group", "sales-team", "floor1"),
    filed("agent_group", "zz-hidden-team", "floor2"),
    filed("queue_group", "zz-hidden-front", "floor2"),
    access_group("sups", ["sup"], folders=["floor1"]),
    access_group("everything", ["admin"], all_objects=True),
)

OBJECTS = {
    "acme": ObjectConfig(
        agent_groups={
            "sales-team": GroupConfig(agents=("a1", "zz-hidden-agent")),
            "zz-hidden-team": GroupConfig(agents=("a2", "zz-hidden-agent")),
        },
        queue_groups={"zz-hidden-front": QueueGroupConfig(queues=("sales", "zz-hidden-queue"))},
    )
}

VALUES = [
    Change("agent", "a1", "agent.status", {"state": "ready"}),
    Change("agent", "a2", "agent.status", {"state": "ready"}),
    Change("agent", "zz-hidden-agent", "agent.status", {"state": "ready"}),
    Change("queue", "sales", "queue.calls_waiting", 3),
    Change("queue", "zz-hidden-queue", "queue.calls_waiting", 4),
]

MIXED = {
    "uid": "mixed",
    "name": "Mixed",
    "shared": True,
    "widgets": [
        {
            "uid": "agents",
            "title": "Agents",
            "templateUid": "agent-kpis",
            "displayType": "grid",
            "objects": [{"type": "agent", "ids": ["a1", "zz-hidden-agent", "a2"]}],
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
        {
            "uid": "front",
            "title": "Front",
            "templateUid": "queue-kpis",
            "displayType": "grid",
            "objects": [{"type": "queue", "group": "zz-hidden-front"}],
        },
        {
            "uid": "every-queue",
            "title": "Every queue",
            "templateUid": "queue-kpis",
            "displayType": "grid",
        },
    ],
}


class OneUserPolicy(AllowAll):
    """Authenticates ``user`` of tenant acme with the visible objects the permissions store
    holds for them (what the identity service's policy does for a logged-in user)."""

    name = "test-one-user"

    def __init__(self, visibility: StoredVisibility, user: str) -> None:
        self.visibility = visibility
        self.user = user

    async def authenticate(self, connection: HTTPConnection) -> Subject:
        return Subject(
            user=self.user,
            tenant=ACME,
            visible_objects=await self.visibility.visible_objects(ACME, self.user),
        )


class Site:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.permissions = MemoryPermissionsStore()
        self.visibility = StoredVisibility(self.permissions)
        self.follower = PermissionsFollower(
            database, self.permissions, registry=CollectorRegistry()
        )
        self.values = MemoryValueStore()
        self.policy = OneUserPolicy(self.visibility, "admin")
        self.app: Any = create_app(
            Settings(),
            database=database,
            store=self.values,
            policy=self.policy,
            objects=OBJECTS,
            registry=CollectorRegistry(),
            visibility=self.visibility,
        )


@contextlib.asynccontextmanager
async def open_site(database: Database) -> AsyncIterator[tuple[Site, httpx.AsyncClient]]:
    """The site with the ``mixed`` dashboard created by the administrator; the policy's user
    is ``admin`` until the test sets ``site.policy.user``."""
    await init_tenant(database, "acme", Mode.SETUP, display_name="Acme")
    await put_objects(database, "acme", *CONFIG)
    site = Site(database)
    await site.follower.poll()
    await site.values.apply(ACME, VALUES)
    await site.values.write_intervals(
        ACME,
        [
            IntervalValue("agent.calls_handled", "agent", name, START_MS, 2)
            for name in ("a1", "zz-hidden-agent")
        ],
    )
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        created = await client.post(f"{T}/dashboards", json=MIXED)
        assert created.status_code == 201, created.text
        yield site, client
