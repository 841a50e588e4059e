"""Change numbers: each tenant's counter, bumped once per writing transaction.

``next_change_number`` increments ``tenants.change_number`` with an ``UPDATE ... RETURNING``:
the row lock it takes (PostgreSQL) or the write lock (SQLite) is held to the commit, so writers
of one tenant commit in change-number order and a reader that first reads the counter, then the
rows up to it, never skips a change that commits later with a smaller number.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.ids import TenantId
from wallboard.db.models import DeletedItem, Tenant

_KEY = "wallboard_change_number"


async def next_change_number(session: AsyncSession, tenant: TenantId) -> int:
    """The change number of this transaction's writes to ``tenant`` (one per transaction)."""
    numbers: dict[str, int] = session.info.setdefault(_KEY, {})
    if tenant in numbers:
        return numbers[tenant]
    number = await session.scalar(
        sa.update(Tenant)
        .where(Tenant.id == tenant)
        .values(change_number=Tenant.change_number + 1)
        .returning(Tenant.change_number)
    )
    if number is None:
        raise LookupError(f"tenant {tenant!r} does not exist")
    numbers[tenant] = int(number)
    return int(number)


def forget_change_numbers(session: AsyncSession) -> None:
    """Call after a commit or rollback: the next transaction takes a number of its own."""
    session.info.pop(_KEY, None)


async def current_change_number(session: AsyncSession, tenant: TenantId) -> int:
    number = await session.scalar(sa.select(Tenant.change_number).where(Tenant.id == tenant))
    return int(number or 0)


async def record_deletion(session: AsyncSession, tenant: TenantId, kind: str, uid: str) -> None:
    """Keep a deleted item's uid under this transaction's change number, for sync."""
    number = await next_change_number(session, tenant)
    session.add(DeletedItem(tenant_id=tenant, kind=kind, uid=uid, change_number=number))
