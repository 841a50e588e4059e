"""What the internet-facing HTTP endpoints of live sources share: bounded bodies, credentials.

The Twilio and Firehose endpoints face the internet (behind a TLS proxy). Anyone can reach them,
so each one refuses a body over its limit before reading it (on ``Content-Length``, and while
streaming when there is none), compares credentials in constant time, and refuses to exist
without credentials unless the operator says ``insecure_no_auth`` in so many words.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Final, Protocol

from fastapi import Request
from starlette.requests import ClientDisconnect

from wallboard.adapters.base import BadRecord, BadRecordCounter, Location, TranslationStats
from wallboard.core.errors import ConfigError
from wallboard.core.events import Event

logger = logging.getLogger(__name__)

INSECURE_WARNING: Final = (
    "accepts requests without checking who sent them (--insecure-no-auth): anyone who can "
    "reach it can publish events"
)
"""The text logged at start and shown on ``/readyz`` of an endpoint running without credentials."""

_MAX_LENGTH_DIGITS: Final = 18
"""A ``Content-Length`` longer than this is over any limit (and too long to convert cheaply)."""


class RequestRefused(Exception):
    """A request refused as a whole, with the HTTP status and the reason sent back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before a byte of the body is read;
    without one (chunked), the body is refused once what arrived passes the limit, so at most
    ``limit`` bytes plus one chunk are ever held.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        text = declared.strip()
        if not text.isdigit():
            raise RequestRefused(400, "Content-Length is not a number")
        if len(text) > _MAX_LENGTH_DIGITS or int(text) > limit:
            raise RequestRefused(413, f"body of {text:.20} bytes is larger than {limit} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise RequestRefused(413, f"body is larger than {limit} bytes")
    except ClientDisconnect:
        # Nobody is left to answer; said so without a traceback, which a caller could flood.
        raise RequestRefused(400, "the caller left before sending the whole body") from None
    return bytes(body)


def same_secret(given: str, expected: str) -> bool:
    """Whether a credential sent matches the configured one, in time independent of where they
    differ (a timing attacker learns nothing of the secret)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def required_secret(
    secret: str | None, *, insecure_no_auth: bool, what: str, field: str
) -> str | None:
    """The credential an endpoint checks, or ``None`` when the operator explicitly allowed an
    unauthenticated endpoint; without either, :class:`ConfigError` saying how to give one."""
    if secret:
        return secret
    if not insecure_no_auth:
        raise ConfigError(
            f"no {what} given: the endpoint would accept anything from anyone; give it, or "
            "--insecure-no-auth to run without (for a test on a private network only)",
            field=field,
        )
    return None


class _Translating(Protocol):
    stats: TranslationStats
    bad: BadRecordCounter

    def translate(self, record: Any, location: Location) -> list[Event]: ...


def translate_guarded(translator: _Translating, record: Any, location: Location) -> list[Event]:
    """``translator.translate``, with a failure of the translator itself (a defect, which
    bad input must never reach) counted as a bad record (``internal_error``) and logged with its
    traceback, so the other records of the request are still published, once."""
    try:
        return translator.translate(record, location)
    except Exception:
        logger.exception(
            "%s: translating the record at %s failed", translator.bad.platform, location
        )
        translator.bad.record(
            BadRecord("the translator failed on this record", reason="internal_error"), location
        )
        return []
