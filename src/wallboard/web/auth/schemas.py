"""Bodies of the identity routes (docs/security.md): never a password hash, a token only once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from wallboard.identity.passwords import MAX_PASSWORD, MIN_PASSWORD
from wallboard.identity.roles import Role
from wallboard.web.schemas import ApiModel, Name, Uid

Username = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$", min_length=1, max_length=100),
]
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


class LoginBody(ApiModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD)]


class Me(ApiModel):
    """Who is logged in, what they may do, and the CSRF token their changes must carry."""

    user: str
    display_name: str
    tenant: str
    roles: list[str]
    privileges: list[str]
    csrf_token: str | None
    session_expires: dt.datetime | None


class TokenCreate(ApiModel):
    name: Name
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenRead(ApiModel):
    jti: str
    name: str
    user: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenIssued(TokenRead):
    token: str
    """The signed JWT: shown this once, send it as ``Authorization: Bearer <token>``."""


class KeyRead(ApiModel):
    kid: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    signing: bool


class UserCreate(ApiModel):
    username: Username
    display_name: Name | None = None
    password: Password | None = None
    roles: Annotated[list[Role], Field(max_length=10, default_factory=list)]
    disabled: bool = False


class UserUpdate(ApiModel):
    display_name: Name | None = None
    password: Password | None = None
    roles: Annotated[list[Role], Field(max_length=10)] | None = None
    disabled: bool | None = None


class UserRead(ApiModel):
    username: str
    display_name: str
    tenant: str
    roles: list[str]
    privileges: list[str]
    disabled: bool
    has_password: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class KioskCreate(ApiModel):
    wallboard: Uid
    name: Name


class KioskRead(ApiModel):
    id: int
    name: str
    wallboard: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KioskIssued(KioskRead):
    token: str
    """Shown this once; the link is ``url``."""
    url: str


class AuditRead(ApiModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    client: str
    detail: dict[str, Any]


class Limit(ApiModel):
    """A limit of the tenant (``accessGroup`` null) or of an access group's members; null
    numbers: unlimited."""

    access_group: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    dashboards_per_user: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    widgets_per_dashboard: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class Limits(ApiModel):
    limits: Annotated[list[Limit], Field(max_length=1000)]
