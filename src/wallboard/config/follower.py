"""Following the configuration live: :class:`ConfigFollower` keeps each tenant's
:class:`ObjectConfig` current from the metadata database, for the collector (group members of
its statistics) and the web tier (group expansion, object search).

Every :data:`POLL_S` it reads the tenants' change counters (one row per tenant); for a tenant
whose counter moved, the newest change number of its configuration objects and deletions (an
index lookup of ``(tenant_id, change_number)``); and it reloads only the tenants whose
configuration number moved. So an agent created through the API counts in its groups within a
fraction of a second, and a dashboard edit (which moves the tenant's counter too) reloads
nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.config.objects import object_config
from wallboard.config.service import load_tenant_objects
from wallboard.db.database import Database
from wallboard.db.models import ConfigDeletion, ConfigObject, Tenant
from wallboard.stats.state import ObjectConfig

log = logging.getLogger(__name__)

POLL_S = 0.2
"""How often the change numbers are looked at: a change is followed within about this long."""

Apply = Callable[[str, ObjectConfig], Awaitable[None] | None]


async def config_change_numbers(
    session: AsyncSession, tenants: Sequence[str] | None = None
) -> dict[str, int]:
    """Per tenant with configuration (now or once: deletions count), its newest change number;
    of ``tenants`` only (one index lookup each), or of every tenant (None)."""
    numbers: dict[str, int] = {}
    for table in (ConfigObject, ConfigDeletion):
        found: list[tuple[str, int | None]]
        if tenants is None:
            rows = await session.execute(
                sa.select(table.tenant_id, sa.func.max(table.change_number)).group_by(
                    table.tenant_id
                )
            )
            found = [(str(tenant), number) for tenant, number in rows.all()]
        else:
            found = [
                (
                    tenant,
                    await session.scalar(
                        sa.select(sa.func.max(table.change_number)).where(table.tenant_id == tenant)
                    ),
                )
                for tenant in tenants
            ]
        for tenant, number in found:
            if number is not None:
                numbers[tenant] = max(numbers.get(tenant, 0), int(number))
    return numbers


async def load_object_configs(
    session: AsyncSession, tenants: list[str] | None = None
) -> dict[str, ObjectConfig]:
    """The engine's configuration of ``tenants`` (every tenant with configuration: None)."""
    if tenants is None:
        tenants = sorted(await config_change_numbers(session))
    return {tenant: object_config(await load_tenant_objects(session, tenant)) for tenant in tenants}


class ConfigFollower:
    """``objects``: each tenant's configuration, kept current by :meth:`poll` (or :meth:`run`).

    A tenant the database has no configuration for keeps its ``fallback`` one (the
    ``WALLBOARD_COLLECTOR_OBJECTS`` file); once it has, the database's is the one in force.
    ``objects`` is the same dict throughout, so a reader handed it once (the web app) follows.
    """

    def __init__(
        self,
        database: Database,
        *,
        fallback: Mapping[str, ObjectConfig] | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self._database = database
        self._fallback = dict(fallback or {})
        self._counters: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        """Per tenant with configuration, the newest change number of it loaded."""
        self.poll_s = poll_s
        self.objects: dict[str, ObjectConfig] = dict(self._fallback)
        self.failing = False

    async def poll(self) -> dict[str, ObjectConfig]:
        """Reload what changed since the last call; returns the tenants whose configuration
        changed (empty also when the database does not answer: said once per outage).

        First the tenants' counters (a tiny table; every write of a tenant moves its
        counter), then, for the tenants whose counter moved, the newest number of their
        configuration (an index lookup each): a dashboard edit costs no reload."""
        try:
            async with self._database.sessions() as session:
                counters: dict[str, int] = {
                    str(tenant): int(number)
                    for tenant, number in (
                        await session.execute(sa.select(Tenant.id, Tenant.change_number))
                    ).all()
                }
                moved = sorted(t for t, n in counters.items() if self._counters.get(t) != n)
                numbers = await config_change_numbers(session, moved) if moved else {}
                stale = sorted(t for t, n in numbers.items() if self._seen.get(t) != n)
                loaded = await load_object_configs(session, stale) if stale else {}
        except Exception as exc:  # any database failure: keep what is in force, try again
            if not self.failing:
                log.error("cannot read the configuration (%s); keeping the one in force", exc)
            self.failing = True
            return {}
        if self.failing:
            log.info("the configuration can be read again")
        self.failing = False
        changed: dict[str, ObjectConfig] = {}
        for tenant in set(self._seen) - set(counters):  # the tenant was removed
            changed[tenant] = self._fallback.get(tenant, ObjectConfig())
            del self._seen[tenant]
        changed.update(loaded)
        self._counters = counters
        self._seen.update(numbers)
        for tenant, config in list(changed.items()):
            if self.objects.get(tenant) == config:
                del changed[tenant]
            else:
                self.objects[tenant] = config
        return changed

    async def run(self, apply: Apply | None = None) -> None:
        """Poll until cancelled, calling ``apply(tenant, config)`` for every change."""
        while True:
            for tenant, config in (await self.poll()).items():
                if apply is None:
                    continue
                try:
                    result = apply(tenant, config)
                    if inspect.isawaitable(result):
                        await result
                except Exception:  # a bug of the receiver: logged, the follower goes on
                    log.exception("applying the configuration of tenant %s failed", tenant)
            await asyncio.sleep(self.poll_s)

    async def close(self) -> None:
        await self._database.close()
