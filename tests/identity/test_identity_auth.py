"""Login, me, logout: the session cookie's flags, CSRF refusals, session expiry, throttling."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry

from identity_site import PASSWORD, Login, Site
from wallboard.db.database import Database
from wallboard.settings import Settings
from wallboard.web.app import create_app

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"
DASHBOARDS = "/api/v1/tenants/acme/dashboards"


async def test_login_me_logout(site: Site, login: Login) -> None:
    async with site.client() as client:
        response = await client.post(LOGIN, json={"username": "admin", "password": PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"] == "admin"
        assert body["tenant"] == "acme"
        assert body["roles"] == ["administrator"]
        assert "manage-users" in body["privileges"]
        assert body["sessionExpires"] is not None  # an administrator's session expires
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("wallboard_session=wbs_")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower()  # plain http
        assert response.headers["cache-control"] == "no-store"

        me = await client.get(ME)
        assert me.status_code == 200
        assert me.json()["user"] == "admin"
        assert me.json()["csrfToken"] != body["csrfToken"]  # fresh, and still valid
        created = await client.post(
            DASHBOARDS, json={"name": "mine"}, headers={"X-CSRF-Token": me.json()["csrfToken"]}
        )
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == "admin"

        out = await client.post(LOGOUT, headers={"X-CSRF-Token": body["csrfToken"]})
        assert out.status_code == 204
        assert (
            'wallboard_session=""' in out.headers["set-cookie"]
            or "Max-Age=0" in out.headers["set-cookie"]
        )
        assert (await client.get(ME)).json()["code"] == "unauthenticated"
        assert (await client.get(ME)).status_code == 401


async def test_the_cookie_is_secure_over_https(site: Site) -> None:
    async with site.client("https://wallboard.test") as client:
        response = await client.post(LOGIN, json={"username": "viewer", "password": PASSWORD})
        assert response.status_code == 200
        assert "secure" in response.headers["set-cookie"].lower()


async def test_a_cookie_stolen_after_logout_opens_nothing(site: Site, login: Login) -> None:
    session = await login("admin")
    cookie = session.client.cookies["wallboard_session"]
    assert (await session.request("POST", LOGOUT)).status_code == 204
    async with site.client() as thief:
        thief.cookies.set("wallboard_session", cookie)
        assert (await thief.get(DASHBOARDS)).status_code == 401


async def test_wrong_credentials_say_nothing_about_which(site: Site) -> None:
    async with site.client() as client:
        for body in (
            {"username": "admin", "password": "wrong password"},
            {"username": "nobody", "password": PASSWORD},
        ):
            response = await client.post(LOGIN, json=body)
            assert response.status_code == 401
            assert response.json()["code"] == "invalid_credentials"
            assert "set-cookie" not in response.headers


async def test_without_login_everything_is_401(site: Site) -> None:
    async with site.client() as client:
        for method, url in (
            ("GET", DASHBOARDS),
            ("GET", "/api/v1/tenants/acme/templates"),
            ("POST", DASHBOARDS),
            ("GET", "/api/v1/tenants/acme/users"),
            ("GET", ME),
            ("GET", "/api/v1/auth/tokens"),
            ("GET", "/api/v1/status"),
        ):
            response = await client.request(method, url, json={"name": "x"})
            assert response.status_code == 401, (method, url, response.text)
            assert response.json()["code"] == "unauthenticated"
        client.cookies.set("wallboard_session", "wbs_forged")
        forged = await client.get(DASHBOARDS)
        assert forged.status_code == 401


async def test_changes_through_the_cookie_need_the_sessions_csrf_token(login: Login) -> None:
    alice = await login("manager")
    bob = await login("supervisor")
    missing = await alice.request("POST", DASHBOARDS, csrf=False, json={"name": "x"})
    assert missing.status_code == 403
    assert missing.json()["code"] == "csrf_failed"
    other = await alice.client.post(
        DASHBOARDS, json={"name": "x"}, headers={"X-CSRF-Token": bob.csrf}
    )
    assert other.status_code == 403
    assert other.json()["code"] == "csrf_failed"
    garbage = await alice.client.post(
        DASHBOARDS, json={"name": "x"}, headers={"X-CSRF-Token": "a.b"}
    )
    assert garbage.status_code == 403
    # Reads need none; the refused changes left nothing behind.
    listed = await alice.request("GET", DASHBOARDS, csrf=False)
    assert listed.status_code == 200
    assert [d["name"] for d in listed.json()["items"] if d["owner"] == "manager"] == []
    assert (await alice.request("POST", DASHBOARDS, json={"name": "x"})).status_code == 201
    # Logout is a change too.
    assert (await alice.request("POST", LOGOUT, csrf=False)).status_code == 403
    assert (await alice.request("GET", ME, csrf=False)).status_code == 200


async def test_restricted_sessions_expire_wall_sessions_do_not(site: Site, login: Login) -> None:
    wall = await login("wall")
    viewer = await login("viewer")
    assert wall.me["sessionExpires"] is None
    assert viewer.me["sessionExpires"] is not None
    # Active every 20 minutes: the idle limit (30) is never reached ...
    for _ in range(3):
        await site.clock.advance(20 * 60)
        assert (await viewer.client.get(DASHBOARDS)).status_code == 200
    # ... but 31 idle minutes end it.
    await site.clock.advance(31 * 60)
    assert (await viewer.client.get(DASHBOARDS)).status_code == 401
    await site.clock.advance(400 * 86_400)
    assert (await wall.client.get(DASHBOARDS)).status_code == 200


async def test_sessions_end_at_the_absolute_limit_however_active(site: Site, login: Login) -> None:
    supervisor = await login("supervisor")
    for _ in range(11 * 4):  # every 15 minutes for 11 hours
        await site.clock.advance(15 * 60)
        assert (await supervisor.client.get(DASHBOARDS)).status_code == 200
    await site.clock.advance(61 * 60 + 1)
    response = await supervisor.client.get(DASHBOARDS)
    assert response.status_code == 401


async def test_login_brute_force_is_throttled(site: Site) -> None:
    async with site.client() as client:
        for attempt in range(5):
            response = await client.post(
                LOGIN, json={"username": "admin", "password": f"guess {attempt}"}
            )
            assert response.status_code == 401
        throttled = await client.post(LOGIN, json={"username": "admin", "password": PASSWORD})
        assert throttled.status_code == 429
        assert throttled.json()["code"] == "too_many_attempts"
        assert int(throttled.headers["retry-after"]) >= 1
        assert site.metric("wallboard_web_login_throttled_total") == 1
        assert site.metric("wallboard_web_login_failures_total") == 5
        # Another username from the same address is throttled too (per client address) ...
        other = await client.post(LOGIN, json={"username": "viewer", "password": PASSWORD})
        assert other.status_code == 429
        # ... until the wait is over; each further failure doubles it.
        await site.clock.advance(int(throttled.headers["retry-after"]))
        failed = await client.post(LOGIN, json={"username": "admin", "password": "again"})
        assert failed.status_code == 401
        again = await client.post(LOGIN, json={"username": "admin", "password": PASSWORD})
        assert again.status_code == 429
        assert int(again.headers["retry-after"]) == 2
        await site.clock.advance(2)
        ok = await client.post(LOGIN, json={"username": "admin", "password": PASSWORD})
        assert ok.status_code == 200, ok.text


async def test_allow_all_is_only_there_when_named(database: Database) -> None:
    for settings, anonymous_status in ((Settings(), 401), (Settings(web_policy="allow-all"), 200)):
        app = create_app(settings, database=database, registry=CollectorRegistry())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://wallboard.test"
        ) as client:
            assert (await client.get(DASHBOARDS)).status_code == anonymous_status
            warnings = (await client.get("/readyz")).json().get("warnings", {})
            assert ("policy" in warnings) == (anonymous_status == 200), warnings
