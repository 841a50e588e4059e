"""The identity errors, each with its stable code (mapped to HTTP in web/errors.py)."""

from __future__ import annotations

from wallboard.core.errors import PermissionDenied, Unauthenticated, WallboardError


class InvalidCredentials(Unauthenticated):
    """A login with an unknown username, a wrong password or a disabled user (one answer for
    all three: it does not tell which usernames exist)."""

    code = "invalid_credentials"


class TooManyAttempts(WallboardError):
    """Logins of this username or from this address failed too often; ``retry_after`` (s)."""

    code = "too_many_attempts"


class CsrfFailed(PermissionDenied):
    """A state-changing request authenticated by the session cookie without the session's
    CSRF token in ``X-CSRF-Token``."""

    code = "csrf_failed"


class LimitReached(PermissionDenied):
    """A dashboard or widget beyond the user's limit, without the exceed-limits privilege."""

    code = "limit_reached"
