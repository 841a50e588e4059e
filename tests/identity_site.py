"""What the identity tests share: the users, the site (app, clock, metrics) and a logged-in
session that sends its CSRF token."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from wallboard.core.clock import FakeClock

PASSWORD = "correct horse battery"
BASE_URL = "http://wallboard.test"

# username -> (tenant, roles)
USERS: dict[str, tuple[str, list[str]]] = {
    "admin": ("acme", ["administrator"]),
    "wall": ("acme", ["wall-display"]),
    "viewer": ("acme", ["viewer"]),
    "supervisor": ("acme", ["supervisor"]),
    "manager": ("acme", ["manager"]),
    "other-admin": ("globex", ["administrator"]),
}


@dataclasses.dataclass
class Site:
    app: FastAPI
    clock: FakeClock
    registry: CollectorRegistry

    def client(self, base_url: str = BASE_URL) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@dataclasses.dataclass
class Session:
    """A logged-in client: its cookie in the jar, the CSRF token sent on every change."""

    client: httpx.AsyncClient
    csrf: str
    me: dict[str, object]

    async def request(
        self, method: str, url: str, *, csrf: bool = True, **kw: object
    ) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return await self.client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]


Login = Callable[[str], Awaitable[Session]]
