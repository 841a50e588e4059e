"""Reading what the permissions are computed from: the tenants' change numbers and their
configuration rows, straight from the ``tenants`` and ``config_objects`` tables.

Every configuration write bumps its tenant's change number in the writing transaction
(``wallboard.web.changes``), so a tenant whose number did not move has the grants it had. The
number is read *before* the rows: the rows read are at least as new as the number, so a result
stored under that number never misses a change up to it (it may hold a later one, whose own
number the next poll sees and recomputes).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.ids import TenantId
from wallboard.db.models import ConfigObject, Tenant
from wallboard.permissions.grants import ACCESS_GROUP, FOLDER, ConfigRow


async def change_numbers(session: AsyncSession) -> dict[TenantId, int]:
    """Each tenant's change number (one small query: what the follower polls)."""
    rows = await session.execute(sa.select(Tenant.id, Tenant.change_number))
    return {TenantId(tenant): int(number) for tenant, number in rows.all()}


async def tenant_rows(session: AsyncSession, tenant: TenantId) -> tuple[int, list[ConfigRow]]:
    """The tenant's change number, then the rows the grants need: every object's type, name
    and folder, and the attributes of access groups and folders (those of agents and queues
    are not read: they do not grant anything)."""
    number = await session.scalar(sa.select(Tenant.change_number).where(Tenant.id == tenant))
    granting = ConfigObject.type.in_((ACCESS_GROUP, FOLDER))
    statement = sa.select(
        ConfigObject.type,
        ConfigObject.name,
        ConfigObject.folder,
        sa.case((granting, ConfigObject.attributes), else_=sa.null()),
    ).where(ConfigObject.tenant_id == tenant)
    rows = [
        ConfigRow(kind, name, folder, attributes if isinstance(attributes, dict) else {})
        for kind, name, folder, attributes in (await session.execute(statement)).all()
    ]
    return int(number or 0), rows
