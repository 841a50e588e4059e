"""API tokens (signed JWT): issued, listed, used; tampered, expired, revoked and retired-key
tokens refused; a rotation keeps the older tokens working until their key is retired."""

from __future__ import annotations

import base64
import json

import jwt

from identity_site import Login, Session, Site

TOKENS = "/api/v1/auth/tokens"
DASHBOARDS = "/api/v1/tenants/acme/dashboards"


async def issue(session: Session, name: str = "script", **body: object) -> dict[str, object]:
    response = await session.request("POST", TOKENS, json={"name": name, **body})
    assert response.status_code == 201, response.text
    issued: dict[str, object] = response.json()
    return issued


async def status_with(site: Site, token: str, method: str = "GET", **kw: object) -> int:
    async with site.client() as client:
        response = await client.request(
            method,
            DASHBOARDS,
            headers={"Authorization": f"Bearer {token}"},
            **kw,  # type: ignore[arg-type]
        )
        return response.status_code


async def test_a_token_acts_as_its_user_without_csrf(site: Site, login: Login) -> None:
    supervisor = await login("supervisor")
    issued = await issue(supervisor, expiresInDays=7)
    token = str(issued["token"])
    assert issued["user"] == "supervisor"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert header["kid"]
    async with site.client() as client:
        client.headers["Authorization"] = f"Bearer {token}"
        created = await client.post(DASHBOARDS, json={"name": "by script"})
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == "supervisor"
        # The token carries the user's privileges, no more: sharing needs a manager.
        shared = await client.post(DASHBOARDS, json={"name": "x", "shared": True})
        assert shared.status_code == 403
        assert shared.json()["code"] == "forbidden"
        me = await client.get("/api/v1/auth/me")
        assert me.json()["user"] == "supervisor"
        assert me.json()["csrfToken"] is None
    listed = (await supervisor.request("GET", TOKENS)).json()
    assert [t["jti"] for t in listed] == [issued["jti"]]
    assert "token" not in listed[0]


def _tampered(token: str) -> list[str]:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other = {**claims, "sub": "admin"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(other).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return [
        f"{head}.{forged_payload}.{signature}",  # another user, old signature
        f"{head}.{payload}.{flipped}",  # signature changed
        f"{none_header}.{payload}.",  # alg none
        jwt.encode(
            claims,
            "a guessed key that is long enough for HS256",
            algorithm="HS256",
            headers={"kid": "x"},
        ),
        jwt.encode(
            claims,
            "a guessed key that is long enough for HS256",
            algorithm="HS256",
            headers={"kid": jwt.get_unverified_header(token)["kid"]},
        ),
        "not a token",
        "",
    ]


async def test_tampered_tokens_are_refused(site: Site, login: Login) -> None:
    viewer = await login("viewer")
    token = str((await issue(viewer))["token"])
    assert await status_with(site, token) == 200
    for forged in _tampered(token):
        assert await status_with(site, forged) == 401, forged


async def test_expired_and_revoked_tokens_are_refused(site: Site, login: Login) -> None:
    admin = await login("admin")
    short = await issue(admin, "short", expiresInDays=1)
    kept = await issue(admin, "kept", expiresInDays=30)
    revoked = await issue(admin, "revoked")
    assert await status_with(site, str(short["token"])) == 200
    gone = await admin.request("DELETE", f"{TOKENS}/{revoked['jti']}")
    assert gone.status_code == 204
    assert await status_with(site, str(revoked["token"])) == 401
    await site.clock.advance(86_400 + 1)
    assert await status_with(site, str(short["token"])) == 401
    assert await status_with(site, str(kept["token"])) == 200
    admin = await login("admin")  # the browser session has ended meanwhile (idle a day)
    # Too long a life is refused, naming the limit.
    too_long = await admin.request("POST", TOKENS, json={"name": "x", "expiresInDays": 3000})
    assert too_long.status_code == 422
    # Another user's token cannot be revoked by a user without manage-users (nor seen).
    viewer = await login("viewer")
    attempt = await viewer.request("DELETE", f"{TOKENS}/{kept['jti']}")
    assert attempt.status_code == 404
    assert await status_with(site, str(kept["token"])) == 200
    # A disabled user's tokens stop working.
    disabled = await admin.request(
        "PATCH", "/api/v1/tenants/acme/users/admin", json={"disabled": True}
    )
    assert disabled.status_code == 200
    assert await status_with(site, str(kept["token"])) == 401


async def test_rotation_keeps_old_tokens_until_their_key_is_retired(
    site: Site, login: Login
) -> None:
    admin = await login("admin")
    old = await issue(admin, "old")
    old_kid = jwt.get_unverified_header(str(old["token"]))["kid"]
    rotated = await admin.request("POST", "/api/v1/auth/keys/rotate")
    assert rotated.status_code == 201
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid
    new = await issue(admin, "new")
    assert jwt.get_unverified_header(str(new["token"]))["kid"] == new_kid
    assert await status_with(site, str(old["token"])) == 200
    keys = (await admin.request("GET", "/api/v1/auth/keys")).json()
    assert [(k["kid"], k["signing"]) for k in keys] == [(new_kid, True), (old_kid, False)]
    retired = await admin.request("DELETE", f"/api/v1/auth/keys/{old_kid}")
    assert retired.status_code == 204
    assert await status_with(site, str(old["token"])) == 401
    assert await status_with(site, str(new["token"])) == 200
    # Key rotation is for administrators only.
    manager = await login("manager")
    assert (await manager.request("POST", "/api/v1/auth/keys/rotate")).status_code == 403
    assert (await manager.request("GET", "/api/v1/auth/keys")).status_code == 403
