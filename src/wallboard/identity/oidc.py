"""OpenID Connect login (authorization code flow with PKCE), configured by ``WALLBOARD_OIDC_*``.

The authorization URL and the PKCE challenge come from authlib; the ID token is verified with
joserfc (authlib's JOSE successor, which authlib's own ``jose`` module now defers to) against the
provider's published keys: signature, issuer, audience, expiry and the nonce of this login. The
claim ``WALLBOARD_OIDC_USERNAME_CLAIM`` names the local user the login becomes; that user must
exist and be enabled (the provider authenticates, Wallboard's roles authorize).

Between the redirect and the callback the browser holds the state, nonce and PKCE verifier in
a short-lived HttpOnly cookie, so any replica can finish a login another one began.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from wallboard.core.errors import ConfigError, InvalidInput, Unauthenticated, Unavailable
from wallboard.settings import Settings

FLOW_COOKIE = "wallboard_oidc"
FLOW_SECONDS = 600
HTTP_TIMEOUT_S = 10.0
METADATA_TTL_S = 3600.0
ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")


@dataclasses.dataclass(frozen=True)
class Flow:
    """What the callback checks: the state sent, the nonce expected in the ID token, and the
    PKCE verifier."""

    state: str
    nonce: str
    verifier: str

    def cookie(self) -> str:
        return f"{self.state}.{self.nonce}.{self.verifier}"

    @classmethod
    def from_cookie(cls, value: str | None) -> Flow | None:
        parts = (value or "").split(".")
        if len(parts) != 3 or not all(parts) or len(value or "") > 400:
            return None
        return cls(*parts)


class OpenIdConnect:
    """One provider (the issuer of the settings)."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_client_id and settings.oidc_client_secret):
            raise ConfigError(
                "WALLBOARD_OIDC_ISSUER is set: WALLBOARD_OIDC_CLIENT_ID and "
                "WALLBOARD_OIDC_CLIENT_SECRET are needed too",
                variable="WALLBOARD_OIDC_CLIENT_ID",
            )
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.claim = settings.oidc_username_claim
        self.redirect_url = settings.oidc_redirect_url
        self.scopes = settings.oidc_scopes
        self._metadata: dict[str, Any] | None = None
        self._fetched = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenIdConnect | None:
        return cls(settings) if settings.oidc_issuer else None

    async def _get_json(self, client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        try:
            response = await client.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unavailable(f"the OpenID Connect provider did not answer {url}: {exc}") from None
        if not isinstance(body, dict):
            raise Unavailable(f"the OpenID Connect provider answered {url} with no object")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached an hour)."""
        if self._metadata is None or time.monotonic() - self._fetched > METADATA_TTL_S:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
                found = await self._get_json(
                    client, f"{self.issuer}/.well-known/openid-configuration"
                )
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "issuer"):
                if not isinstance(found.get(field), str):
                    raise Unavailable(f"the provider's discovery document has no {field}")
            self._metadata = found
            self._fetched = time.monotonic()
        return self._metadata

    async def start(self, redirect_url: str) -> tuple[str, Flow]:
        """The URL to send the browser to, and the flow to keep in its cookie."""
        metadata = await self.metadata()
        flow = Flow(generate_token(32), generate_token(32), generate_token(48))
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self.client_id,
            response_type="code",
            redirect_uri=self.redirect_url or redirect_url,
            scope=self.scopes,
            state=flow.state,
            nonce=flow.nonce,
            code_challenge=create_s256_code_challenge(flow.verifier),
            code_challenge_method="S256",
        )
        return url, flow

    async def finish(
        self, *, code: str, state: str, flow: Flow | None, redirect_url: str, now_s: int
    ) -> str:
        """The local username the provider vouches for; Unauthenticated when anything does not
        match (state, nonce, signature, issuer, audience, expiry, the claim)."""
        if flow is None or state != flow.state:
            raise Unauthenticated("the login did not start here (state mismatch); start again")
        if not code or len(code) > 4096:
            raise InvalidInput("the provider sent no authorization code", field="code")
        metadata = await self.metadata()
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
            try:
                response = await client.post(
                    metadata["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": self.redirect_url or redirect_url,
                        "code_verifier": flow.verifier,
                    },
                    auth=(self.client_id, self.client_secret),
                    headers={"Accept": "application/json"},
                )
            except httpx.HTTPError as exc:
                raise Unavailable(f"the provider's token endpoint did not answer: {exc}") from None
            if response.status_code != 200:
                raise Unauthenticated(
                    f"the provider refused the authorization code ({response.status_code})"
                )
            id_token = response.json().get("id_token")
            if not isinstance(id_token, str):
                raise Unauthenticated("the provider sent no ID token")
            keys = KeySet.import_key_set(await self._get_json(client, metadata["jwks_uri"]))  # type: ignore[arg-type]
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
            jwt.JWTClaimsRegistry(
                now=now_s,
                leeway=60,
                iss={"essential": True, "value": metadata["issuer"]},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": flow.nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"the ID token is not valid: {exc}") from None
        username = token.claims.get(self.claim)
        if not isinstance(username, str) or not username:
            raise Unauthenticated(f"the ID token has no {self.claim!r} claim")
        return username
