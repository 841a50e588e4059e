"""OpenID Connect login against a small provider served on loopback by the test: discovery,
the redirect with state, nonce and PKCE, the code exchange, the ID token's checks, and the
mapping of a claim to a local user."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from asgi_server import serve
from identity_site import Site
from wallboard.core.errors import ConfigError
from wallboard.settings import Settings

CLIENT_ID = "wallboard"
CLIENT_SECRET = "a client secret"
NOW_S = 1_800_000_000  # the site's fake clock


@dataclasses.dataclass
class Provider:
    """What the provider's user is and how it misbehaves, set by each test."""

    base: str = ""
    username: str = "supervisor"
    wrong_nonce: bool = False
    wrong_audience: bool = False
    requests: list[dict[str, str]] = dataclasses.field(default_factory=list)
    codes: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    key: RSAKey = dataclasses.field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"})
    )

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.base,
                    "authorization_endpoint": f"{self.base}/authorize",
                    "token_endpoint": f"{self.base}/token",
                    "jwks_uri": f"{self.base}/jwks",
                }
            )

        async def authorize(request: Request) -> Response:
            params = dict(request.query_params)
            self.requests.append(params)
            code = f"code-{len(self.codes)}"
            self.codes[code] = params
            query = urlencode({"code": code, "state": params["state"]})
            return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            params = self.codes.pop(str(form["code"]), None)
            if params is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(str(form["code_verifier"]).encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != params["code_challenge"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            claims = {
                "iss": self.base,
                "sub": "user-1",
                "aud": "someone-else" if self.wrong_audience else CLIENT_ID,
                "iat": NOW_S,
                "exp": NOW_S + 300,
                "nonce": "forged" if self.wrong_nonce else params["nonce"],
                "preferred_username": self.username,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            return JSONResponse(
                {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
            )

        async def jwks(request: Request) -> Response:
            return JSONResponse(dict(KeySet([self.key]).as_dict(private=False)))

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    found = Provider()
    async with serve(found.app()) as port:
        found.base = f"http://127.0.0.1:{port}"
        yield found


@pytest.fixture
def settings(provider: Provider) -> Settings:
    return Settings(
        oidc_issuer=provider.base, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET
    )


async def oidc_login(site: Site, client: httpx.AsyncClient) -> httpx.Response:
    """Start at Wallboard, pass by the provider (which logs the user in at once), come back."""
    start = await client.get("/api/v1/auth/oidc/login")
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as browser_at_provider:
        back = await browser_at_provider.get(start.headers["location"])
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    return await client.get(f"{callback.path}?{callback.query}")


async def test_an_oidc_login_becomes_the_local_user(site: Site, provider: Provider) -> None:
    async with site.client() as client:
        done = await oidc_login(site, client)
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/"
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"] == "supervisor"
        assert me.json()["sessionExpires"] is not None
    sent: dict[str, Any] = provider.requests[0]
    assert sent["client_id"] == CLIENT_ID
    assert sent["response_type"] == "code"
    assert sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == "http://wallboard.test/api/v1/auth/oidc/callback"
    assert "openid" in sent["scope"].split()
    assert len(sent["nonce"]) >= 32
    assert len(sent["state"]) >= 32


@pytest.mark.parametrize("trouble", ["unknown user", "wrong nonce", "wrong audience"])
async def test_an_oidc_login_that_does_not_check_out_is_refused(
    site: Site, provider: Provider, trouble: str
) -> None:
    provider.username = "nobody" if trouble == "unknown user" else "supervisor"
    provider.wrong_nonce = trouble == "wrong nonce"
    provider.wrong_audience = trouble == "wrong audience"
    async with site.client() as client:
        done = await oidc_login(site, client)
        assert done.status_code == 401, done.text
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_a_callback_without_the_flows_cookie_is_refused(
    site: Site, provider: Provider
) -> None:
    async with site.client() as attacker, site.client() as victim:
        start = await attacker.get("/api/v1/auth/oidc/login")
        async with httpx.AsyncClient() as at_provider:
            back = await at_provider.get(start.headers["location"])
        callback = urlsplit(back.headers["location"])
        # The victim's browser is made to open the attacker's callback: no flow of its own.
        forced = await victim.get(f"{callback.path}?{callback.query}")
        assert forced.status_code == 401
        state = parse_qs(callback.query)["state"][0]
        tampered = await attacker.get(f"{callback.path}?code=code-0&state={state}x")
        assert tampered.status_code == 401


async def test_without_configuration_there_is_no_oidc_login(database: object) -> None:
    from prometheus_client import CollectorRegistry

    from wallboard.web.app import create_app

    app = create_app(Settings(), database=database, registry=CollectorRegistry())  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://wallboard.test"
    ) as client:
        assert (await client.get("/api/v1/auth/oidc/login")).status_code == 404
    with pytest.raises(ConfigError, match="WALLBOARD_OIDC_CLIENT_ID"):
        create_app(
            Settings(oidc_issuer="https://idp.example"),
            database=database,  # type: ignore[arg-type]
            registry=CollectorRegistry(),
        )
