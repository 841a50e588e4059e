"""Every endpoint of the OpenAPI document as concrete requests, so a new endpoint is attacked
without anyone listing it: path parameters filled from a table of ids (per tenant), and a
plausible body per write so that a refusal comes from the policy, not from validation."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fastapi import FastAPI

WRITE_METHODS = ("post", "put", "patch", "delete")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    has_body: bool = False

    def url(self, ids: dict[str, str]) -> str:
        """The path with its parameters replaced; ``{uid}`` by what it names (a template, a
        widget or a dashboard)."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "uid":
                before = self.template[: match.start()]
                if before.endswith("/templates/"):
                    return ids["template"]
                if before.endswith("/widgets/"):
                    return ids["widget"]
                return ids["dashboard"]
            return ids.get(name, "x")

        return re.sub(r"\{([a-z_]+)\}", value, self.template)

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


def endpoints(app: FastAPI, *, methods: tuple[str, ...] | None = None) -> list[Endpoint]:
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if methods is None or method in methods:
                found.append(Endpoint(method.upper(), path, "requestBody" in operation))
    assert found, "no endpoints in the OpenAPI document"
    return found


def tenant_ids(tenant: str, *, agent: str = "a1", username: str = "viewer") -> dict[str, str]:
    """Ids that exist in ``tenant`` (the seeded dashboards and templates exist in both)."""
    return {
        "tenant": tenant,
        "dashboard": "demo-dashboard",
        "widget": "w1",
        "template": "agent-kpis",
        "type": "agent",
        "name": agent,
        "username": username,
        "link_id": "1",
        "jti": "guessed-jti",
        "kid": "guessed-kid",
    }


EXPORTS: dict[str, Any] = {}
"""Bodies of the import endpoints (``/templates/import``, ``/dashboards/import``): what the
export of a seeded one answered, filled by :func:`learn_exports`."""


async def learn_exports(client: Any) -> None:
    """Fill :data:`EXPORTS` from acme's seeded template and dashboard (``client`` may read
    them)."""
    for kind, uid in (("templates", "agent-kpis"), ("dashboards", "demo-dashboard")):
        response = await client.request("GET", f"/api/v1/tenants/acme/{kind}/{uid}/export")
        assert response.status_code == 200, response.text
        EXPORTS[f"/{kind}/import"] = response.json()


def body_for(endpoint: Endpoint) -> Any:
    """A body the endpoint would accept from someone allowed to call it."""
    path, method = endpoint.template, endpoint.method
    if method == "DELETE" or not endpoint.has_body:
        return None
    for suffix, exported in EXPORTS.items():
        if path.endswith(suffix):
            return exported
    table: dict[tuple[str, str], Any] = {
        ("POST", "/templates"): {
            "uid": "evil-template",
            "name": "Evil",
            "objectTypes": ["agent"],
            "statistics": [{"ref": "agent.status", "alias": "Status"}],
            "defaultDisplayType": "grid",
        },
        ("PATCH", "/templates/{uid}"): {"name": "Evil"},
        ("POST", "/dashboards"): {"uid": "evil-dashboard", "name": "Evil", "shared": True},
        ("PATCH", "/dashboards/{uid}"): {"name": "Evil", "shared": True},
        ("PUT", "/launched"): {"dashboards": ["demo-dashboard"]},
        ("POST", "/widgets"): {
            "uid": "evil-widget",
            "title": "Evil",
            "templateUid": "agent-kpis",
            "displayType": "grid",
        },
        ("PATCH", "/widgets/{uid}"): {"title": "Evil"},
        ("POST", "/objects"): {"type": "agent", "name": "evil-agent", "attributes": {}},
        ("PATCH", "/objects/{type}/{name}"): {"displayName": "Evil"},
        ("POST", "/login"): {"username": "admin", "password": "wrong password"},
        ("POST", "/tokens"): {"name": "evil"},
        ("POST", "/users"): {
            "username": "evil-admin",
            "password": "evil password 1",
            "roles": ["administrator"],
        },
        ("PATCH", "/users/{username}"): {"roles": ["administrator"]},
        ("POST", "/kiosk-links"): {"wallboard": "demo-wallboard", "name": "evil"},
        ("PUT", "/limits"): {"limits": [{"accessGroup": None, "dashboardsPerUser": 1000}]},
    }
    for (verb, suffix), body in table.items():
        if verb == method and path.endswith(suffix):
            return body
    return {}
