"""Hostile input: script payloads in every name field (stored as given, returned as JSON
text), oversized bodies (413) and malformed requests (always a 4xx, never a 5xx)."""

from __future__ import annotations

import json
from typing import Any

from attempts import Ledger
from openapi_walk import Endpoint, body_for, endpoints, tenant_ids
from security_site import ACME, SecuredSite

SCRIPTS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "</script><script>window.pwned=1</script>",
    "{{constructor.constructor('alert(1)')()}}",
]


def found(value: Any, text: str) -> bool:
    """``text`` appears as a whole string somewhere in the decoded JSON ``value``."""
    if isinstance(value, str):
        return value == text
    if isinstance(value, dict):
        return any(found(v, text) for v in value.values())
    if isinstance(value, list):
        return any(found(v, text) for v in value)
    return False


async def test_script_payloads_are_stored_as_given_and_returned_as_json_text(
    site: SecuredSite, attempts: Ledger
) -> None:
    admin = site.sessions["admin"]
    for index, payload in enumerate(SCRIPTS):
        writes = [
            (
                "dashboard name",
                "POST",
                f"{ACME}/dashboards",
                {"uid": f"xss-{index}", "name": payload, "shared": True},
                f"{ACME}/dashboards/xss-{index}",
            ),
            (
                "widget title",
                "POST",
                f"{ACME}/dashboards/xss-{index}/widgets",
                {
                    "uid": "w",
                    "title": payload,
                    "templateUid": "agent-kpis",
                    "displayType": "grid",
                },
                f"{ACME}/dashboards/xss-{index}/widgets/w",
            ),
            (
                "template name",
                "POST",
                f"{ACME}/templates",
                {**body_for_template(), "uid": f"xss-{index}", "name": payload},
                f"{ACME}/templates/xss-{index}",
            ),
            (
                "config display name",
                "PATCH",
                "/api/v1/config/acme/objects/agent/a1",
                {"displayName": payload},
                "/api/v1/config/acme/objects/agent/a1",
            ),
            (
                "user display name",
                "PATCH",
                f"{ACME}/users/viewer",
                {"displayName": payload},
                f"{ACME}/users/viewer",
            ),
        ]
        for field, method, url, body, read in writes:
            written = await admin.request(method, url, json=body)
            assert written.status_code in (200, 201), (field, written.text)
            response = await admin.request("GET", read)
            ok = (
                response.status_code == 200
                and response.headers["content-type"].startswith("application/json")
                and found(response.json(), payload)
            )
            attempts.record(
                "script-payload",
                f"{field} {payload!r}",
                failed=ok,
                detail=f"{response.status_code} {response.headers.get('content-type')} "
                f"{response.text[:200]}",
            )


def body_for_template() -> dict[str, Any]:
    body: dict[str, Any] = body_for(Endpoint("POST", "/api/v1/tenants/{tenant}/templates", True))
    return body


async def test_oversized_bodies_are_refused(site: SecuredSite, attempts: Ledger) -> None:
    admin = site.sessions["admin"]
    huge = b'{"name": "' + b"x" * (12 * 1024 * 1024) + b'"}'
    ids = tenant_ids("acme")
    for endpoint in endpoints(site.app, methods=("post", "put", "patch")):
        if not endpoint.has_body:
            continue
        url = endpoint.url(ids)
        response = await admin.client.request(
            endpoint.method,
            url,
            content=huge,
            headers={"X-CSRF-Token": admin.csrf, "Content-Type": "application/json"},
        )
        attempts.refused("oversized-body", f"{endpoint.method} {url}", response, (413,))


MALFORMED_BODIES: list[tuple[str, bytes]] = [
    ("bad json", b'{"name": '),
    ("not an object", b"[1, 2, 3]"),
    ("a string", b'"hello"'),
    ("null", b"null"),
    ("NaN", b'{"name": NaN, "uid": NaN}'),
    ("huge number", b'{"name": 1e400, "uid": 123456789012345678901234567890, "version": 1e999}'),
    ("huge int", b'{"version": ' + b"9" * 5000 + b"}"),
    ("wrong types", b'{"name": ["a"], "uid": {"x": 1}, "shared": "yes", "roles": "admin"}'),
    ("deep nesting", b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("lone surrogate", b'{"name": "\\ud800", "uid": "\\udfff"}'),
    ("nul and controls", b'{"name": "a\\u0000b\\u0007", "uid": "a\\u0000"}'),
    ("rtl and zero width", '{"name": "\u202eevil\u200b", "uid": "\u202e\u200b"}'.encode()),
    ("invalid utf-8", b'{"name": "\xff\xfe\xc3"}'),
    ("duplicate keys", b'{"uid": "a", "uid": "../../etc/passwd", "name": "x"}'),
    ("path traversal uid", b'{"uid": "../../../etc/passwd", "name": "x", "type": "../agent"}'),
    ("empty", b""),
]

WEIRD_IDS = [
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\windows",
    "%00",
    "a%00b",
    "%C0%AE%C0%AE",
    "%ED%A0%80",
    "%E2%80%AE",
    "x" * 3000,
    "%20",
    "*",
    "'%20OR%201=1--",
]


async def test_malformed_requests_are_client_errors(site: SecuredSite, attempts: Ledger) -> None:
    admin = site.sessions["admin"]
    ids = tenant_ids("acme")
    for endpoint in endpoints(site.app, methods=("post", "put", "patch")):
        if not endpoint.has_body:
            continue
        url = endpoint.url(ids)
        for name, body in MALFORMED_BODIES:
            response = await admin.client.request(
                endpoint.method,
                url,
                content=body,
                headers={"X-CSRF-Token": admin.csrf, "Content-Type": "application/json"},
            )
            attempts.refused(
                "malformed-request", f"{name}: {endpoint.method} {url}", response, range(400, 500)
            )
    for endpoint in endpoints(site.app):
        if "{" not in endpoint.template or endpoint.template.startswith("/api/v1/auth/oidc"):
            continue
        for weird in WEIRD_IDS:
            weird_ids = dict.fromkeys(ids, weird) | {"tenant": ids["tenant"]}
            for chosen in (weird_ids, dict.fromkeys(ids, weird)):
                url = endpoint.url(chosen)
                if weird not in url:
                    continue  # the endpoint's only parameter is the tenant
                body = body_for(endpoint)
                response = await admin.request(
                    endpoint.method,
                    url,
                    **({"json": body} if body is not None and endpoint.method != "GET" else {}),
                )
                attempts.refused(
                    "malformed-request",
                    f"id {weird[:20]!r}: {endpoint.method} {endpoint.template}",
                    response,
                    range(400, 500),
                )
    # malformed query parameters on the reads
    for endpoint in endpoints(site.app, methods=("get",)):
        url = endpoint.url({**ids, "dashboard": "mixed", "widget": "agents"})
        for query in (
            "?limit=-1",
            "?limit=1e309",
            "?page=99999999999999999999",
            "?since=abc",
            "?type=../../x",
            "?q=%00",
            "?limit=999999999",
        ):
            response = await admin.request("GET", url + query)
            attempts.record(
                "malformed-request",
                f"GET {url}{query}",
                failed=response.status_code < 500,
                detail=response.text[:200],
            )
    assert json.loads((await admin.request("GET", "/api/v1/auth/me")).text)["user"] == "admin"
