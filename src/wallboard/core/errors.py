"""One error hierarchy with stable machine-readable codes; each edge maps it in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class WallboardError(Exception):
    """Base of every error Wallboard raises on purpose.

    ``code`` is stable and documented: clients branch on it, never on the message. ``detail``
    carries machine-readable context (the field, the value, a limit) and never secrets.
    """

    code: ClassVar[str] = "internal"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = detail

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidInput(WallboardError):
    """A request or document that does not satisfy its schema."""

    code = "invalid_input"


class MalformedMessage(InvalidInput):
    """A wire message that cannot be decoded; ``detail`` names the field and the value."""

    code = "malformed_message"


class ConfigError(WallboardError):
    """A configuration value (environment variable, file) that is missing or wrong."""

    code = "invalid_config"


class ProtocolError(WallboardError):
    """A peer broke the wire protocol (wrong order of messages, unsupported version)."""

    code = "protocol_error"


class ResumeGap(WallboardError):
    """A resume was asked from a sequence number the server no longer holds: refetch state."""

    code = "resume_gap"


class NotFound(WallboardError):
    code = "not_found"


class Conflict(WallboardError):
    code = "conflict"


class Unauthenticated(WallboardError):
    code = "unauthenticated"


class PermissionDenied(WallboardError):
    code = "forbidden"


class Unavailable(WallboardError):
    """A dependency (database, Redis, upstream source) cannot be reached right now."""

    code = "unavailable"


ERROR_CODES: tuple[str, ...] = tuple(
    sorted(
        {
            cls.code
            for cls in (
                WallboardError,
                InvalidInput,
                MalformedMessage,
                ConfigError,
                ProtocolError,
                ResumeGap,
                NotFound,
                Conflict,
                Unauthenticated,
                PermissionDenied,
                Unavailable,
            )
        }
    )
)
