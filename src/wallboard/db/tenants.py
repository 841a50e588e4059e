"""Tenants in the metadata database: validation of their fields and the ``TenantRepository``.

A tenant id is a slug (lowercase letters, digits and inner hyphens, at most 63 characters) so it
can appear unchanged in URLs, Redis keys and Kubernetes names. Its time zone is an IANA name;
statistics per day and per interval are bucketed in it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.errors import InvalidInput
from wallboard.core.ids import TenantId
from wallboard.db.models import NAME_MAX, TENANT_ID_MAX, TIME_ZONE_MAX, Tenant

TENANT_ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def check_tenant_id(value: str) -> TenantId:
    """Return ``value`` as a TenantId, or raise InvalidInput saying why it is not a slug."""
    if not 1 <= len(value) <= TENANT_ID_MAX:
        raise InvalidInput(
            f"tenant id must be 1 to {TENANT_ID_MAX} characters, got {len(value)}",
            field="tenant_id",
            value=value[: TENANT_ID_MAX + 1],
        )
    if TENANT_ID_PATTERN.fullmatch(value) is None:
        raise InvalidInput(
            f"tenant id {value!r} is not a slug: use lowercase letters, digits and inner hyphens",
            field="tenant_id",
            value=value,
        )
    return TenantId(value)


@functools.cache
def _iana_time_zones() -> frozenset[str]:
    # Scanned once: membership is both faster and safer than opening arbitrary paths as zones.
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str) -> str:
    """Return ``value`` if it names an IANA time zone (``Europe/Paris``), else raise InvalidInput."""
    if value not in _iana_time_zones():
        raise InvalidInput(
            f"time zone {value[:TIME_ZONE_MAX]!r} is not an IANA time zone name "
            "(e.g. Europe/Paris, America/New_York, UTC)",
            field="time_zone",
            value=value[:TIME_ZONE_MAX],
        )
    return value


def check_display_name(value: str) -> str:
    """Return the stripped display name; InvalidInput if empty, too long or with control codes."""
    stripped = value.strip()
    if not 1 <= len(stripped) <= NAME_MAX:
        raise InvalidInput(
            f"display name must be 1 to {NAME_MAX} characters, got {len(stripped)}",
            field="display_name",
        )
    # Control characters (NUL above all, which PostgreSQL text cannot hold) and unpaired
    # surrogates (not encodable) have no place in a name shown on a screen.
    for char in stripped:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidInput(
                f"display name contains the control character U+{ord(char):04X}",
                field="display_name",
            )
    return stripped


class TenantCreation(NamedTuple):
    """The tenant as stored, and whether this call created it (False: it existed already)."""

    tenant: Tenant
    created: bool


class TenantRepository:
    """Tenant rows, read and written through one session; the caller commits.

    ``create_if_missing`` is idempotent and safe against a concurrent creator: the insert is
    ``ON CONFLICT DO NOTHING``, so two processes creating the same tenant both succeed and see
    one row.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create_if_missing(
        self, tenant_id: str, *, display_name: str, time_zone: str
    ) -> TenantCreation:
        """Create the tenant unless one with this id exists; an existing one is left unchanged."""
        values = {
            "id": check_tenant_id(tenant_id),
            "display_name": check_display_name(display_name),
            "time_zone": check_time_zone(time_zone),
        }
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(Tenant)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Tenant.id])
            .returning(Tenant.id)
        )
        inserted = (await self._session.execute(statement)).scalar_one_or_none()
        tenant = await self.get(values["id"])
        if tenant is None:
            # Inserted or found a moment ago in this transaction: only a concurrent delete of a
            # row we did not insert can get here.
            raise RuntimeError(f"tenant {tenant_id!r} vanished while being created")
        return TenantCreation(tenant=tenant, created=inserted is not None)

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, or None."""
        return await self._session.get(Tenant, tenant_id, populate_existing=True)

    async def list(self) -> Sequence[Tenant]:
        """Every tenant, ordered by id."""
        result = await self._session.scalars(sa.select(Tenant).order_by(Tenant.id))
        return result.all()
