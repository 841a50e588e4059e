"""Attacks over HTTP on the secured site (security_site): every one is an attempt in the
ledger, and every one must fail."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jwt
from attempts import Ledger
from openapi_walk import Endpoint, body_for, endpoints, tenant_ids
from security_site import ACME, GLOBEX_SECRET, HIDDEN, SecuredSite, leaks

from identity_site import PASSWORD, Session


async def call(session: Session, endpoint: Endpoint, url: str, **kw: Any) -> httpx.Response:
    body = kw.pop("json", body_for(endpoint))
    if body is None or endpoint.method in ("GET", "DELETE"):
        return await session.request(endpoint.method, url, **kw)
    return await session.request(endpoint.method, url, json=body, **kw)


async def test_cross_tenant_requests_by_guessed_ids_are_not_found(
    site: SecuredSite, attempts: Ledger
) -> None:
    """An acme user on every path of globex (and the globex administrator on every path of
    acme), with ids that exist there: 404 (or 403), and nothing changes."""
    directions = [
        ("admin", tenant_ids("globex", agent="globex-secret-agent", username="other-admin")),
        ("supervisor", tenant_ids("globex", agent="globex-secret-agent", username="other-admin")),
        ("other-admin", tenant_ids("acme", agent="zz-hidden-agent", username="admin")),
    ]
    for user, ids in directions:
        session = site.sessions[user]
        for endpoint in endpoints(site.app):
            if "{tenant}" not in endpoint.template:
                continue
            for dashboard in ("demo-dashboard", "demo-wallboard", "mixed"):
                url = endpoint.url({**ids, "dashboard": dashboard})
                response = await call(session, endpoint, url)
                attempts.refused(
                    "cross-tenant", f"{user} {endpoint.method} {url}", response, (403, 404)
                )
    # the globex administrator still sees its own, unchanged
    mine = await site.sessions["other-admin"].request("GET", "/api/v1/tenants/globex/dashboards")
    assert mine.status_code == 200
    assert "Evil" not in mine.text


async def test_no_rest_read_carries_a_forbidden_object(site: SecuredSite, attempts: Ledger) -> None:
    """The restricted supervisor and the viewer on every GET of acme (values, CSV, history,
    object search, widget definitions, dashboards, export, sync, config objects...), with
    visible ids: no raw body names a hidden object or anything of globex. With a hidden
    object's id in the path: refused."""
    queries = [
        "",
        "?type=agent",
        "?type=queue",
        "?q=zz",
        "?q=hidden",
        "?type=agent&q=zz-hidden",
        "?objects=agent:zz-hidden-agent",
    ]
    for user in ("supervisor", "viewer"):
        session = site.sessions[user]
        for endpoint in endpoints(site.app, methods=("get",)):
            for dashboard, widget in (
                ("mixed", "agents"),
                ("mixed", "queues"),
                ("mixed", "team"),
                ("mixed", "secret-team"),
                ("demo-dashboard", "w1"),
            ):
                ids = {**tenant_ids("acme"), "dashboard": dashboard, "widget": widget}
                for query in queries:
                    url = endpoint.url(ids) + query
                    response = await session.request("GET", url)
                    assert response.status_code < 500, (url, response.text)
                    found = leaks(response.text, HIDDEN, GLOBEX_SECRET)
                    attempts.record(
                        "object-denial-rest",
                        f"{user} GET {url}",
                        failed=not found,
                        detail=f"{found} in {response.text[:300]}",
                    )
            if "{name}" in endpoint.template:
                for hidden in ("zz-hidden-agent", "zz-hidden-queue"):
                    kind = "queue" if "queue" in hidden else "agent"
                    url = endpoint.url({**tenant_ids("acme"), "type": kind, "name": hidden})
                    response = await session.request("GET", url)
                    attempts.refused(
                        "object-denial-rest", f"{user} GET {url}", response, (403, 404)
                    )


async def test_mixed_widget_shows_only_allowed_objects(site: SecuredSite, attempts: Ledger) -> None:
    session = site.sessions["supervisor"]
    for widget in ("agents", "queues", "team", "secret-team"):
        for suffix in ("", "/values", "/values.csv", "/history"):
            url = f"{ACME}/dashboards/mixed/widgets/{widget}{suffix}"
            response = await session.request("GET", url)
            assert response.status_code == 200, (url, response.text)
            attempts.record(
                "mixed-widget",
                f"GET {url}",
                failed=HIDDEN not in response.text,
                detail=response.text[:300],
            )
    values = await session.request("GET", f"{ACME}/dashboards/mixed/widgets/agents/values")
    assert "a1" in values.text  # the allowed object is still there


def forge(token: str, **change: Any) -> str:
    """``token`` with its payload changed and the signature kept."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(change)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{encoded}.{signature}"


async def test_tampered_expired_and_revoked_tokens_are_refused(
    site: SecuredSite, attempts: Ledger
) -> None:
    viewer = site.sessions["viewer"]
    created = await viewer.request("POST", "/api/v1/auth/tokens", json={"name": "script"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    head, payload, signature = token.split(".")
    none_head = (
        base64.urlsafe_b64encode(
            json.dumps({"alg": "none", "typ": "JWT", "kid": header.get("kid")}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    variants = {
        "payload sub=admin": forge(token, sub="admin"),
        "payload tenant=globex": forge(token, tenant="globex"),
        "payload sub=other-admin": forge(token, sub="other-admin", tenant="globex"),
        "payload exp far": forge(token, exp=claims["exp"] + 10**8),
        "wrong signature": f"{head}.{payload}.{flipped}",
        "no signature": f"{head}.{payload}.",
        "alg none": f"{none_head}.{payload}.",
        "alg none sub=admin": f"{none_head}.{forge(token, sub='admin').split('.')[1]}.",
        "other key": jwt.encode(
            {**claims, "sub": "admin"}, "another key entirely" * 3, "HS256", headers=header
        ),
        "other key same claims": jwt.encode(claims, "k" * 64, "HS256", headers=header),
        "unknown kid": jwt.encode(claims, "k" * 64, "HS256", headers={"kid": "nope"}),
        "garbage": "not.a.jwt",
        "empty": "",
    }
    targets = [
        ("GET", "/api/v1/auth/me"),
        ("GET", f"{ACME}/dashboards"),
        ("GET", f"{ACME}/users"),
        ("POST", f"{ACME}/dashboards"),
    ]
    async with site.client() as client:
        for name, forged in variants.items():
            for method, url in targets:
                response = await client.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {forged}"},
                    json={"uid": "forged", "name": "Forged"} if method == "POST" else None,
                )
                attempts.refused("token-tampered", f"{name} {method} {url}", response, (401,))
        # genuine, it works; revoked, it does not
        assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
        revoked = await viewer.request("DELETE", f"/api/v1/auth/tokens/{claims['jti']}")
        assert revoked.status_code == 204, revoked.text
        for method, url in targets:
            response = await client.request(method, url, headers=bearer(token))
            attempts.refused("token-revoked", f"{method} {url}", response, (401,))
        # another genuine one, expired
        again = await viewer.request("POST", "/api/v1/auth/tokens", json={"name": "short"})
        fresh = again.json()["token"]
        assert (await client.get("/api/v1/auth/me", headers=bearer(fresh))).status_code == 200
        expires = jwt.decode(fresh, options={"verify_signature": False})["exp"]
        site.clock.set_ms(expires * 1000 + 1000)
        for method, url in targets:
            response = await client.request(method, url, headers=bearer(fresh))
            attempts.refused("token-expired", f"{method} {url}", response, (401,))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_kiosk_links_are_read_only_for_one_wallboard_and_die_revoked(
    site: SecuredSite, attempts: Ledger
) -> None:
    admin = site.sessions["admin"]
    made = await admin.request(
        "POST", f"{ACME}/kiosk-links", json={"wallboard": "demo-wallboard", "name": "Hall"}
    )
    assert made.status_code == 201, made.text
    link = made.json()
    kiosk_headers = {"Authorization": f"Kiosk {link['token']}"}
    async with site.client(headers=kiosk_headers) as kiosk:
        assert (await kiosk.get(f"{ACME}/dashboards/demo-wallboard")).status_code == 200
        ids = tenant_ids("acme")
        for endpoint in endpoints(site.app, methods=("post", "put", "patch", "delete")):
            if endpoint.template in ("/api/v1/auth/login", "/api/v1/auth/logout"):
                continue  # open to anyone: a kiosk has no session to log in or out of
            url = endpoint.url({**ids, "dashboard": "demo-wallboard"})
            body = body_for(endpoint)
            response = await kiosk.request(
                endpoint.method, url, json=body if endpoint.method != "DELETE" else None
            )
            attempts.refused("kiosk-write", f"{endpoint.method} {url}", response, (401, 403, 404))
        for url in (
            f"{ACME}/dashboards/mixed",
            f"{ACME}/dashboards/mixed/widgets/agents/values",
            f"{ACME}/users",
            f"{ACME}/kiosk-links",
            "/api/v1/config/acme/objects",
            "/api/v1/tenants/globex/dashboards/demo-wallboard",
        ):
            response = await kiosk.get(url)
            attempts.refused("kiosk-other-wallboard", f"GET {url}", response, (401, 403, 404))
    revoked = await admin.request("DELETE", f"{ACME}/kiosk-links/{link['id']}")
    assert revoked.status_code == 204, revoked.text
    async with site.client() as kiosk:
        for url in (
            f"{ACME}/dashboards/demo-wallboard",
            f"{ACME}/dashboards/demo-wallboard?kiosk={link['token']}",
            f"{ACME}/dashboards",
        ):
            response = await kiosk.get(url, headers=kiosk_headers)
            attempts.refused("kiosk-revoked", f"GET {url}", response, (401,))


async def test_changes_without_the_sessions_csrf_token_are_forbidden(
    site: SecuredSite, attempts: Ledger
) -> None:
    admin = site.sessions["admin"]
    other = site.sessions["supervisor"].csrf
    globex = site.sessions["other-admin"].csrf
    ids = tenant_ids("acme")
    for endpoint in endpoints(site.app, methods=("post", "put", "patch", "delete")):
        if endpoint.template == "/api/v1/auth/login":
            continue  # no session yet: nothing to forge
        url = endpoint.url(ids)
        body = body_for(endpoint)
        for name, headers in (
            ("no token", {}),
            ("another session's token", {"X-CSRF-Token": other}),
            ("another tenant's session's token", {"X-CSRF-Token": globex}),
            ("garbage token", {"X-CSRF-Token": "x.y"}),
            ("empty token", {"X-CSRF-Token": ""}),
            ("token truncated", {"X-CSRF-Token": admin.csrf[:-3]}),
        ):
            response = await admin.client.request(
                endpoint.method,
                url,
                headers=headers,
                json=body if endpoint.method != "DELETE" else None,
            )
            attempts.refused("csrf", f"{name}: {endpoint.method} {url}", response, (403,))
            if response.status_code == 403:
                assert response.json()["code"] == "csrf_failed", response.text
    assert (await admin.request("GET", "/api/v1/auth/me")).status_code == 200


# Writes a supervisor may make (its own private dashboards, tabs, its own tokens): escalation
# is everything else.
SUPERVISOR_MAY = {
    ("POST", "/api/v1/tenants/{tenant}/dashboards"),
    ("PUT", "/api/v1/tenants/{tenant}/launched"),
    ("POST", "/api/v1/tenants/{tenant}/dashboards/import"),
}
ANYONE_MAY = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/tokens"),
    ("DELETE", "/api/v1/auth/tokens/{jti}"),
}


async def test_privilege_escalation_through_every_write_endpoint(
    site: SecuredSite, attempts: Ledger
) -> None:
    """The viewer and the restricted supervisor on every write of the OpenAPI document (on
    the administrator's shared dashboard, the seeded templates, users, kiosk links, keys,
    limits, configuration): 403 (or 404), and the escalation left no trace."""
    for user in ("viewer", "supervisor"):
        session = site.sessions[user]
        for endpoint in endpoints(site.app, methods=("post", "put", "patch", "delete")):
            key = (endpoint.method, endpoint.template)
            if key in ANYONE_MAY or (user == "supervisor" and key in SUPERVISOR_MAY):
                continue
            for dashboard, username in (("mixed", user), ("demo-dashboard", "admin")):
                url = endpoint.url(
                    {**tenant_ids("acme", username=username), "dashboard": dashboard}
                )
                response = await call(session, endpoint, url)
                attempts.refused(
                    "privilege-escalation", f"{user} {endpoint.method} {url}", response, (403, 404)
                )
        me = (await session.request("GET", "/api/v1/auth/me")).json()
        assert me["roles"] == [user], me
    admin = site.sessions["admin"]
    users = (await admin.request("GET", f"{ACME}/users")).json()
    assert "evil-admin" not in json.dumps(users)


async def test_login_brute_force_is_throttled(site: SecuredSite, attempts: Ledger) -> None:
    async with site.client() as client:
        for attempt in range(12):
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": "viewer", "password": f"guess number {attempt}"},
            )
            attempts.refused(
                "login-brute-force", f"wrong password #{attempt}", response, (401, 429)
            )
            if attempt >= 5:
                assert response.status_code == 429, response.text
                assert int(response.headers["Retry-After"]) >= 1
        right = await client.post(
            "/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD}
        )
        attempts.refused("login-brute-force", "right password during the lockout", right, (429,))
        assert int(right.headers["Retry-After"]) >= 1
        for name in ("VIEWER", "viewer ", "nobody"):
            for attempt in range(3):
                response = await client.post(
                    "/api/v1/auth/login", json={"username": name, "password": PASSWORD + "x"}
                )
                attempts.refused("login-brute-force", f"{name!r} #{attempt}", response, (401, 429))
