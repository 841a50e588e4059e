"""The metadata schema as typed SQLAlchemy models: tenants, widget templates, dashboards, widgets,
and the configuration objects (agents, groups, queues, access groups, folders…).

These models are the Python view of the tables; the tables themselves are created only by the
Alembic migrations in ``wallboard/db/migrations/versions`` (``tests/db`` checks that both agree on
SQLite and PostgreSQL). Types are portable: ``sqlalchemy.JSON`` for documents, timestamps with a
time zone that always come back as aware UTC datetimes, and a ``VARCHAR`` plus ``CHECK`` for the
closed set of dashboard kinds (no native enum, so adding a kind is a one-line migration).

Change numbers: each tenant has a counter (``tenants.change_number``) that every write of its
templates, dashboards or widgets increments in the writing transaction; the row written carries
the new number (a widget's change is carried by its dashboard), and a deleted template or dashboard
leaves a ``deleted_items`` row with it. Clients sync with "everything after change number N".
Configuration objects take their numbers from the same counter (a deleted one leaves a
``config_deletions`` row), so one number orders every change of a tenant.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from wallboard.core.ids import TenantId

# Constraint names are part of the schema: a later migration that drops or alters a constraint
# must name it, and SQLite's batch mode can only do that when every constraint has a known name.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime (the default of every timestamp column)."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that accepts only aware datetimes and returns aware UTC ones.

    PostgreSQL keeps the instant; SQLite keeps text without an offset, so values are converted to
    UTC before they are written and marked as UTC when they are read back.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive datetime would be read as UTC on one backend and local time on another.
            raise ValueError(f"timestamp {value.isoformat()} has no time zone")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class DashboardKind(enum.StrEnum):
    """What a dashboard is shown on: a desk browser (dashboard) or a wall screen (wallboard)."""

    DASHBOARD = "dashboard"
    WALLBOARD = "wallboard"


DASHBOARD_KIND_CHECK = "kind IN ('dashboard', 'wallboard')"

# Lengths are limits of the schema, used by validators too so that a too-long value is refused
# with a message naming the field rather than by the database.
TENANT_ID_MAX = 63
NAME_MAX = 200
KEY_MAX = 100
TIME_ZONE_MAX = 64
DISPLAY_TYPE_MAX = 32
KIND_MAX = 16
UID_MAX = 100
CONFIG_TYPE_MAX = 32

# The kinds of configuration objects (``wallboard.config`` validates each kind's attributes).
CONFIG_TYPES = (
    "agent",
    "agent_group",
    "queue",
    "queue_group",
    "routing_point",
    "virtual_queue",
    "skill",
    "access_group",
    "folder",
)
CONFIG_TYPE_CHECK = "type IN (" + ", ".join(f"'{kind}'" for kind in CONFIG_TYPES) + ")"


class Base(DeclarativeBase):
    """Declarative base of every metadata model; carries the constraint naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute as is
        dt.datetime: UtcDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class Tenant(Base):
    """A contact center served by this installation; ``id`` is its slug (``acme``, ``eu-west``)."""

    __tablename__ = "tenants"

    id: Mapped[TenantId] = mapped_column(sa.String(TENANT_ID_MAX), primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    # IANA name (Europe/Paris); day and interval statistics are bucketed in this zone.
    time_zone: Mapped[str] = mapped_column(sa.String(TIME_ZONE_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    # The tenant's last change number (see the module docstring); 0 before any change.
    change_number: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class WidgetTemplate(Base):
    """A reusable widget definition of one tenant, seeded by ``wallboard tenant init``."""

    __tablename__ = "widget_templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    # Stable identifier of the template within its tenant (``agent-kpis``); widgets refer to it.
    # The API calls it the template's ``uid``.
    key: Mapped[str] = mapped_column(sa.String(KEY_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    # Object types, statistics (with alias, format, thresholds) and default display type, as
    # the API's schema describes them (``wallboard.web.templates.schemas``).
    definition: Mapped[dict[str, Any]]
    # Bumped on every save: the API's optimistic concurrency compares it.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    schema_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The version of the out-of-the-box template this one was seeded from (None: made by a
    # user), and whether a user changed it since: ``tenant init --mode update`` leaves those.
    seed_version: Mapped[int | None] = mapped_column()
    edited: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    change_number: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utc_now, onupdate=utc_now, server_default=sa.func.now()
    )


class Dashboard(Base):
    """A named page of widgets owned by a user; a wallboard is the same thing shown on a wall."""

    __tablename__ = "dashboards"
    __table_args__ = (
        sa.CheckConstraint(DASHBOARD_KIND_CHECK, name="kind"),
        sa.UniqueConstraint("tenant_id", "uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    # Portable identifier, which a client may choose; the same in every installation an export
    # is imported into (the ``id`` is this database's own).
    uid: Mapped[str] = mapped_column(sa.String(UID_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    kind: Mapped[DashboardKind] = mapped_column(
        sa.Enum(
            DashboardKind,
            native_enum=False,
            create_constraint=False,  # the named CHECK above is the constraint
            length=KIND_MAX,
            values_callable=lambda kinds: [kind.value for kind in kinds],
            validate_strings=True,
        )
    )
    layout: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    # Shared dashboards are seen by every user the permissions allow; private ones by the owner.
    shared: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Wallboards only: the dashboards shown in turn and for how long (None: no rotation).
    rotation: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    schema_version: Mapped[int] = mapped_column(default=1, server_default="1")
    change_number: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utc_now, onupdate=utc_now, server_default=sa.func.now()
    )

    # Loaded together with the dashboard: async sessions cannot lazy-load on attribute access.
    widgets: Mapped[list[Widget]] = relationship(
        back_populates="dashboard",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="Widget.id",
    )


class Widget(Base):
    """One tile on a dashboard: what it shows (options), how (display type) and where (position)."""

    __tablename__ = "widgets"
    __table_args__ = (sa.UniqueConstraint("dashboard_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dashboard_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dashboards.id", ondelete="CASCADE"), index=True
    )
    # Portable identifier within its dashboard.
    uid: Mapped[str] = mapped_column(sa.String(UID_MAX))
    # The template the widget was made from, if any; a key, not a foreign key, so a widget
    # survives its template being re-seeded or removed.
    template_key: Mapped[str | None] = mapped_column(sa.String(KEY_MAX))
    title: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    display_type: Mapped[str] = mapped_column(sa.String(DISPLAY_TYPE_MAX))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The objects shown: a list of selections, each explicit ids or a group to expand.
    objects: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    dashboard: Mapped[Dashboard] = relationship(back_populates="widgets", lazy="raise")


class DeletedItem(Base):
    """A deleted template or dashboard, kept so that a sync since an older change number sees it."""

    __tablename__ = "deleted_items"
    __table_args__ = (sa.Index(None, "tenant_id", "change_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(KIND_MAX))
    uid: Mapped[str] = mapped_column(sa.String(UID_MAX))
    change_number: Mapped[int] = mapped_column(sa.BigInteger)


class LaunchedDashboard(Base):
    """A dashboard a user has launched (open in a tab of the UI), in the user's order."""

    __tablename__ = "launched_dashboards"

    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(sa.String(NAME_MAX), primary_key=True)
    dashboard_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dashboards.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    launched_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())


class ConfigObject(Base):
    """One configuration object of a tenant: an agent (person), agent group, queue, queue group,
    routing point, virtual queue, skill, access group or folder.

    ``name`` is the object's id as events and widgets name it (an agent's login id, a queue's
    name); ``display_name`` is what people read. ``folder`` is the name of the ``folder`` object
    it is filed in (None: the tenant's root); access groups grant visibility by folder. The
    kind's own fields (members, DNs, skills, skill expression, grants…) are in ``attributes``,
    validated by ``wallboard.config``.
    """

    __tablename__ = "config_objects"
    __table_args__ = (
        sa.CheckConstraint(CONFIG_TYPE_CHECK, name="type"),
        sa.UniqueConstraint("tenant_id", "type", "name"),
        sa.Index(None, "tenant_id", "change_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(sa.String(CONFIG_TYPE_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    display_name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    folder: Mapped[str | None] = mapped_column(sa.String(NAME_MAX))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    change_number: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utc_now, onupdate=utc_now, server_default=sa.func.now()
    )


class ConfigDeletion(Base):
    """A deleted configuration object, kept so that a change feed since an older number sees it."""

    __tablename__ = "config_deletions"
    __table_args__ = (sa.Index(None, "tenant_id", "change_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(sa.String(CONFIG_TYPE_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    change_number: Mapped[int] = mapped_column(sa.BigInteger)


# Identity (``wallboard.identity``): users, their sessions and API tokens, the keys signing the
# tokens, kiosk links, the audit log and the per-user limits. Secrets are never stored: sessions
# and kiosk links keep a SHA-256 of their token, users an argon2id hash of their password.

USERNAME_MAX = 100
HASH_MAX = 255
TOKEN_ID_MAX = 64
ACTION_MAX = 64


class User(Base):
    """A person (or a wall display) who logs in; ``username`` is unique in the installation."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(sa.String(USERNAME_MAX), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    # argon2id (PHC string); None: the user logs in only through OpenID Connect.
    password_hash: Mapped[str | None] = mapped_column(sa.String(HASH_MAX))
    # Role names (``wallboard.identity.roles``); the privileges are the union of theirs.
    roles: Mapped[list[Any]] = mapped_column(default=list)
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utc_now, onupdate=utc_now, server_default=sa.func.now()
    )


class AuthSession(Base):
    """A browser's login: the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(TOKEN_ID_MAX), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The secret CSRF tokens are derived from (each token: a nonce and its HMAC under this).
    csrf_secret: Mapped[str] = mapped_column(sa.String(TOKEN_ID_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    # None: the session never expires (a wall display's); else the absolute end, and the idle
    # limit counted from ``last_seen_at``.
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    idle_seconds: Mapped[int | None] = mapped_column()


class SigningKey(Base):
    """A key signing API tokens (HS256): the newest unretired one signs, every unretired one
    verifies, so a rotation does not cut off tokens issued before it."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(TOKEN_ID_MAX), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(HASH_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    retired_at: Mapped[dt.datetime | None] = mapped_column()


class ApiToken(Base):
    """An API token issued to a user (the JWT itself is not kept): its ``jti``, for listing
    and revoking."""

    __tablename__ = "api_tokens"

    jti: Mapped[str] = mapped_column(sa.String(TOKEN_ID_MAX), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    kid: Mapped[str] = mapped_column(sa.String(TOKEN_ID_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class KioskLink(Base):
    """A read-only link showing one wallboard of a tenant on a screen nobody logs in on."""

    __tablename__ = "kiosk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(TOKEN_ID_MAX), unique=True)
    dashboard_uid: Mapped[str] = mapped_column(sa.String(UID_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    # Who made it: the link never shows more objects than this user may see.
    created_by: Mapped[str] = mapped_column(sa.String(USERNAME_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class AuditEntry(Base):
    """Who did what, when: logins (and failed ones), changes of users, tokens, keys, kiosk
    links, limits and configuration. ``tenant_id`` None: not tied to a tenant (an unknown
    user's failed login, a key rotation)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index(None, "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(sa.String(TENANT_ID_MAX))
    at: Mapped[dt.datetime] = mapped_column(default=utc_now, server_default=sa.func.now())
    actor: Mapped[str] = mapped_column(sa.String(USERNAME_MAX))
    action: Mapped[str] = mapped_column(sa.String(ACTION_MAX))
    target: Mapped[str] = mapped_column(
        sa.String(NAME_MAX), default="", server_default=sa.text("''")
    )
    client: Mapped[str] = mapped_column(
        sa.String(NAME_MAX), default="", server_default=sa.text("''")
    )
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UsageLimit(Base):
    """How many dashboards a user may own and widgets a dashboard may hold, for a tenant
    (``access_group`` None) or for the members of one access group (these win)."""

    __tablename__ = "usage_limits"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "access_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    access_group: Mapped[str | None] = mapped_column(sa.String(NAME_MAX))
    dashboards_per_user: Mapped[int | None] = mapped_column()
    widgets_per_dashboard: Mapped[int | None] = mapped_column()
