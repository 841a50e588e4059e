"""Random tokens and their stored digests; CSRF tokens derived from a session's secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "wbs_"
KIOSK_PREFIX = "wbk_"


def new_token(prefix: str) -> str:
    """A random token (256 bits) with a prefix saying what it is (a leaked one is recognized)."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (a stolen table opens no session)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return secrets.token_hex(32)


def csrf_token(secret: str) -> str:
    """A fresh CSRF token of a session: a nonce and its HMAC under the session's secret, so every
    token handed out stays valid for the session and none is valid for another session."""
    nonce = secrets.token_urlsafe(12)
    mac = hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{mac}"


def check_csrf_token(secret: str, token: str | None) -> bool:
    if not token or len(token) > 200 or "." not in token:
        return False
    nonce, _, mac = token.partition(".")
    expected = hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, mac)
