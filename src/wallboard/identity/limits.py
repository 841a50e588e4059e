"""Usage limits: dashboards a user may own and widgets a dashboard may hold.

A limit is set for a tenant (``access_group`` None) and may be set for access groups; a user in
one or more limited access groups gets the most generous of their limits, else the tenant's;
no limit at all: unlimited. Users with exceed-limits are not limited.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.ids import TenantId
from wallboard.db.models import ConfigObject, Dashboard, UsageLimit
from wallboard.identity.errors import LimitReached
from wallboard.web.policy import Privilege, Subject


async def limits_of(
    session: AsyncSession, tenant: TenantId, user: str
) -> tuple[int | None, int | None]:
    """``(dashboards per user, widgets per dashboard)`` for ``user``; None: unlimited."""
    rows = (
        await session.scalars(sa.select(UsageLimit).where(UsageLimit.tenant_id == tenant))
    ).all()
    if not rows:
        return None, None
    groups = {row.access_group for row in rows if row.access_group is not None}
    member_of: set[str] = set()
    if groups:
        found = await session.execute(
            sa.select(ConfigObject.name, ConfigObject.attributes).where(
                ConfigObject.tenant_id == tenant,
                ConfigObject.type == "access_group",
                ConfigObject.name.in_(sorted(groups)),
            )
        )
        for name, attributes in found.all():
            members = attributes.get("members") if isinstance(attributes, dict) else None
            if isinstance(members, list) and user in members:
                member_of.add(name)
    chosen = [row for row in rows if row.access_group in member_of] or [
        row for row in rows if row.access_group is None
    ]

    def most(values: list[int | None]) -> int | None:
        return None if not values or None in values else max(v for v in values if v is not None)

    return (
        most([row.dashboards_per_user for row in chosen]),
        most([row.widgets_per_dashboard for row in chosen]),
    )


async def check_dashboard_limit(session: AsyncSession, subject: Subject, tenant: TenantId) -> None:
    """LimitReached when the subject owns as many dashboards as it may (before a new one)."""
    if subject.may(Privilege.EXCEED_LIMITS):
        return
    limit, _ = await limits_of(session, tenant, subject.user)
    if limit is None:
        return
    owned = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Dashboard)
        .where(Dashboard.tenant_id == tenant, Dashboard.owner == subject.user)
    )
    if int(owned or 0) >= limit:
        raise LimitReached(
            f"{subject.user!r} owns {owned} dashboards, the limit is {limit}",
            limit=limit,
        )


async def check_widget_limit(
    session: AsyncSession, subject: Subject, tenant: TenantId, widgets: int
) -> None:
    """LimitReached when a dashboard would hold more than ``widgets`` allowed."""
    if subject.may(Privilege.EXCEED_LIMITS):
        return
    _, limit = await limits_of(session, tenant, subject.user)
    if limit is not None and widgets > limit:
        raise LimitReached(
            f"a dashboard holds at most {limit} widgets (this one would hold {widgets})",
            limit=limit,
        )
