"""Following the configuration and recomputing the visible sets of the tenants that changed.

Every ``poll_s`` (200 ms) the follower reads each tenant's change number (one small query);
for a tenant whose number moved it reads the tenant's configuration rows, computes the grants
(:func:`~wallboard.permissions.grants.compute_grants`) and writes them under that number. A
configuration change is therefore visible in the store within ``poll_s`` plus one computation —
well under a second for thousands of objects.

Several replicas may run: each computes and writes independently, and the store keeps only a
write whose version is above what it holds, so the result is the same as with one. A replica
first compares the stored version with the number it read and skips a tenant another replica
has already computed (no double work in the common case; correctness never depends on it).
Every ``resync_s`` the follower forgets what it has seen, so a Redis that lost its data is
filled again without a configuration change.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Mapping

from prometheus_client import REGISTRY, CollectorRegistry
from sqlalchemy.exc import SQLAlchemyError

from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.ops.metrics import counter, gauge, histogram
from wallboard.permissions.grants import compute_grants
from wallboard.permissions.source import change_numbers, tenant_rows
from wallboard.permissions.store import MemoryPermissionsStore, PermissionsStore
from wallboard.permissions.visibility import StoredVisibility

log = logging.getLogger(__name__)

POLL_S = 0.2
RESYNC_S = 10.0


class PermissionsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.recompute = histogram(
            "permissions",
            "recompute",
            "Time to read a tenant's configuration, compute and store its visible sets.",
            registry=registry,
        )
        self.recomputes = counter(
            "permissions", "recomputes", "Tenants recomputed and written.", registry=registry
        )
        self.skipped = counter(
            "permissions",
            "skipped",
            "Tenants found already computed at their change number (another replica's work).",
            registry=registry,
        )
        self.users = gauge(
            "permissions",
            "users",
            "Users listed by an access group, over the tenants this process computed last.",
            registry=registry,
        )
        self.version = gauge(
            "permissions",
            "last_version",
            "Change number of the last visible sets this process wrote.",
            registry=registry,
        )
        self.invalid = counter(
            "permissions",
            "invalid_grants",
            "Access group attributes that could not be read and granted nothing.",
            registry=registry,
        )
        self.errors = counter(
            "permissions",
            "errors",
            "Polls or recomputations that failed (database or Redis away).",
            registry=registry,
        )


class PermissionsFollower:
    """Recomputes the tenants whose configuration changed; :meth:`poll` once, or :meth:`run`."""

    def __init__(
        self,
        database: Database,
        store: PermissionsStore,
        *,
        poll_s: float = POLL_S,
        resync_s: float = RESYNC_S,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.database = database
        self.store = store
        self.poll_s = poll_s
        self.resync_s = resync_s
        self.metrics = PermissionsMetrics(registry)
        self.seen: dict[TenantId, int] = {}
        self.users: dict[TenantId, int] = {}
        self.last_version = 0
        self.polled = asyncio.Event()
        """Set after the first poll that reached every tenant (readiness)."""
        self.failing = False
        self._resync_at = time.monotonic() + resync_s

    async def poll(self) -> list[TenantId]:
        """Recompute every tenant whose change number moved; the tenants written."""
        if time.monotonic() >= self._resync_at:
            self.seen.clear()
            self._resync_at = time.monotonic() + self.resync_s
        async with self.database.sessions() as session:
            numbers = await change_numbers(session)
        written = []
        for tenant, number in sorted(numbers.items()):
            if self.seen.get(tenant) == number:
                continue
            if await self.recompute(tenant, number):
                written.append(tenant)
        for gone in set(self.seen) - set(numbers):
            del self.seen[gone]
            self.users.pop(gone, None)
        self.metrics.users.set(sum(self.users.values()))
        self.polled.set()
        return written

    async def recompute(self, tenant: TenantId, number: int | None = None) -> bool:
        """Compute and store the tenant's sets, unless they are stored at ``number`` already."""
        if number is not None and (await self.store.version(tenant) or -1) >= number:
            self.seen[tenant] = number
            self.metrics.skipped.inc()
            return False
        started = time.perf_counter()
        async with self.database.sessions() as session:
            version, rows = await tenant_rows(session, tenant)
        grants = compute_grants(rows)
        for problem in grants.problems:
            log.warning("permissions of %s: %s", tenant, problem)
        self.metrics.invalid.inc(len(grants.problems))
        written = await self.store.write(tenant, version, grants.users)
        self.metrics.recompute.observe(time.perf_counter() - started)
        self.seen[tenant] = version
        self.users[tenant] = len(grants.users)
        if written:
            self.metrics.recomputes.inc()
            self.last_version = version
            self.metrics.version.set(version)
            # Debug: a busy configuration recomputes often (the metrics count it).
            log.debug(
                "permissions of %s recomputed at change %d: %d users",
                tenant,
                version,
                len(grants.users),
            )
        return written

    async def run(self) -> None:
        """Poll until cancelled; a database or Redis outage is logged once and retried."""
        while True:
            try:
                await self.poll()
                if self.failing:
                    log.info("permissions: the database and the store answer again")
                self.failing = False
            except (Unavailable, SQLAlchemyError, OSError) as exc:
                self._failed(exc)
            except Exception:  # a bug: logged with its traceback and counted, never fatal
                self.metrics.errors.inc()
                log.exception("permissions: recomputing failed")
            await asyncio.sleep(self.poll_s)

    def _failed(self, exc: Exception) -> None:
        self.metrics.errors.inc()
        if not self.failing:
            log.error("permissions: cannot recompute (%s); retrying", exc)
        self.failing = True

    def status(self) -> Mapping[str, object]:
        return {
            "tenants": dict(self.seen),
            "users": dict(self.users),
            "lastVersion": self.last_version,
            "failing": self.failing,
        }


@dataclasses.dataclass(frozen=True)
class InProcessPermissions:
    """The permissions of a one-process run: the store, the visibility over it, the follower."""

    store: PermissionsStore
    visibility: StoredVisibility
    follower: PermissionsFollower


@contextlib.asynccontextmanager
async def permissions_in_process(
    database: Database,
    store: PermissionsStore | None = None,
    *,
    registry: CollectorRegistry = REGISTRY,
) -> AsyncIterator[InProcessPermissions]:
    """What ``wallboard serve permissions`` does, inside this process (the demo): every tenant
    computed once before the block starts (so the first request finds its permissions), then
    followed until the block ends. The memory store by default."""
    chosen = store if store is not None else MemoryPermissionsStore()
    follower = PermissionsFollower(database, chosen, registry=registry)
    await follower.poll()
    task = asyncio.create_task(follower.run(), name="permissions")
    try:
        yield InProcessPermissions(chosen, StoredVisibility(chosen), follower)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
