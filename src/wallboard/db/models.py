"""The metadata schema as typed SQLAlchemy models: tenants, widget templates, dashboards, widgets.

These models are the Python view of the tables; the tables themselves are created only by the
Alembic migrations in ``wallboard/db/migrations/versions`` (``tests/db`` checks that both agree on
SQLite and PostgreSQL). Types are portable: ``sqlalchemy.JSON`` for documents, timestamps with a
time zone that always come back as aware UTC datetimes, and a ``VARCHAR`` plus ``CHECK`` for the
closed set of dashboard kinds (no native enum, so adding a kind is a one-line migration).
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


class WidgetTemplate(Base):
    """A reusable widget definition of one tenant, seeded by ``wallboard tenant init``."""

    __tablename__ = "widget_templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    # Stable identifier of the template within its tenant (``agent-states``); widgets refer to it.
    key: Mapped[str] = mapped_column(sa.String(KEY_MAX))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    definition: Mapped[dict[str, Any]]
    # Bumped when the seeded definition changes, so ``tenant init`` can tell an update from a no-op.
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class Dashboard(Base):
    """A named page of widgets owned by a user; a wallboard is the same thing shown on a wall."""

    __tablename__ = "dashboards"
    __table_args__ = (sa.CheckConstraint(DASHBOARD_KIND_CHECK, name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId] = mapped_column(
        sa.String(TENANT_ID_MAX), sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
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

    id: Mapped[int] = mapped_column(primary_key=True)
    dashboard_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dashboards.id", ondelete="CASCADE"), index=True
    )
    # The template the widget was made from, if any; a key, not a foreign key, so a widget
    # survives its template being re-seeded or removed.
    template_key: Mapped[str | None] = mapped_column(sa.String(KEY_MAX))
    title: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    display_type: Mapped[str] = mapped_column(sa.String(DISPLAY_TYPE_MAX))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[dict[str, Any]] = mapped_column(default=dict)

    dashboard: Mapped[Dashboard] = relationship(back_populates="widgets", lazy="raise")
