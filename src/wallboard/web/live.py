"""The live channel in the web tier: subscriptions to a dashboard or a widget resolved from the
metadata (what its widgets show), through the access policy like every read, and narrowed to
the objects the subject may see.

Permissions change while connections stay open: :class:`VisibilityWatch` polls the version of
the stored permissions of each tenant that has connections (one read per tenant every
``period_s``, whatever the number of connections); when it moves, each connection of that
tenant reads its user's visible objects again and, when they differ, resolves its
subscriptions again and sends each a fresh snapshot (:class:`SubjectAccess`). A revoked object
therefore leaves the screens within about a second of the configuration change (the
permissions service's recompute plus this poll).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import sqlalchemy as sa

from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.db.models import Dashboard
from wallboard.live.channel import (
    ConnectionAccess,
    LiveError,
    Resolver,
    Subscribe,
    explicit_targets,
)
from wallboard.live.hub import Target
from wallboard.web.layouts import layouts_of
from wallboard.web.policy import AccessPolicy, Subject, Visibility

log = logging.getLogger(__name__)

WATCH_PERIOD_S = 0.25


class VersionedVisibility(Visibility, Protocol):
    """A :class:`Visibility` that also says when a tenant's permissions last changed
    (``wallboard.permissions.visibility.StoredVisibility``)."""

    async def version(self, tenant: TenantId) -> int:
        """Moves whenever someone's visible objects in ``tenant`` may have changed."""
        ...


class _Watched:
    def __init__(self) -> None:
        self.version: int | None = None
        self.changed = asyncio.Event()
        self.connections = 0
        self.task: asyncio.Task[None] | None = None


class VisibilityWatch:
    """Polls the permissions version of the tenants that have live connections."""

    def __init__(self, visibility: VersionedVisibility, period_s: float = WATCH_PERIOD_S) -> None:
        self.visibility = visibility
        self.period_s = period_s
        self._tenants: dict[TenantId, _Watched] = {}

    async def follow(self, tenant: TenantId) -> AsyncIterator[int]:
        """Yields the tenant's permissions version at once, then each time it moves."""
        watched = self._tenants.get(tenant)
        if watched is None:
            watched = self._tenants[tenant] = _Watched()
            watched.task = asyncio.create_task(self._poll(tenant, watched))
        watched.connections += 1
        try:
            seen: int | None = None
            while True:
                while watched.version is None or watched.version == seen:
                    await watched.changed.wait()
                seen = watched.version
                yield seen
        finally:
            watched.connections -= 1
            if not watched.connections and self._tenants.get(tenant) is watched:
                del self._tenants[tenant]
                if watched.task is not None:
                    watched.task.cancel()

    async def _poll(self, tenant: TenantId, watched: _Watched) -> None:
        failing = False
        while True:
            try:
                version = await self.visibility.version(tenant)
                failing = False
            except Unavailable as exc:
                if not failing:
                    log.warning("live: cannot read the permissions version: %s", exc.message)
                failing = True
            except Exception:  # a bug: logged with its traceback; the poll goes on
                log.exception("live: reading the permissions version of %s failed", tenant)
            else:
                if version != watched.version:
                    watched.version = version
                    event, watched.changed = watched.changed, asyncio.Event()
                    event.set()
            await asyncio.sleep(self.period_s)


class SubjectAccess:
    """What one live connection may watch: the subject's dashboards and visible objects, kept
    current with its permissions (:meth:`changes`)."""

    def __init__(
        self,
        database: Database,
        policy: AccessPolicy,
        subject: Subject,
        watch: VisibilityWatch | None = None,
    ) -> None:
        self.database = database
        self.policy = policy
        self.subject = subject
        self.watch = watch

    async def resolve(self, request: Subscribe) -> Target:
        subject = self.subject
        if (
            subject.tenant is not None
            and request.tenant is not None
            and request.tenant != subject.tenant
        ):
            raise LiveError("not_found", f"no tenant {request.tenant!r}")
        target = await metadata_targets(self.database, self.policy, subject)(request)
        return dataclasses.replace(target, visible=subject.visible_objects)

    async def changes(self) -> AsyncIterator[None]:
        """Yields when the subject's visible objects changed (never for a subject of every
        tenant, or without a watch)."""
        subject = self.subject
        if self.watch is None or subject.tenant is None or subject.anonymous:
            return
        tenant, user = subject.tenant, subject.user
        # The first version yielded is read after the subject was made: a change in between
        # is caught by reading the visible objects again at once.
        async for _ in self.watch.follow(tenant):
            try:
                visible = await self.watch.visibility.visible_objects(tenant, user)
            except Unavailable as exc:
                log.warning("live: cannot read the visible objects of a user: %s", exc.message)
                continue
            if visible != self.subject.visible_objects:
                self.subject = dataclasses.replace(self.subject, visible_objects=visible)
                yield None

    def connection_access(self) -> ConnectionAccess:
        return ConnectionAccess(self.resolve, self.changes)


def metadata_targets(database: Database, policy: AccessPolicy, subject: Subject) -> Resolver:
    """Resolve ``{"tenant", "dashboard"[, "widget"]}`` to what those widgets show; explicit
    subscriptions (objects and statistics) as :func:`explicit_targets` does."""

    async def resolve(request: Subscribe) -> Target:
        if subject.tenant is not None and request.tenant != subject.tenant:
            # Another tenant's (or none named): nothing there, as on the REST paths.
            raise LiveError("not_found", f"no tenant {request.tenant!r}")
        if request.dashboard is None:
            if subject.kiosk_dashboard is not None:
                raise LiveError("not_found", "a kiosk link shows its wallboard only")
            if request.widget is not None:
                raise LiveError("invalid", "widget: needs its dashboard")
            return await explicit_targets(request)
        if request.tenant is None:
            raise LiveError("invalid", "tenant: required")
        tenant = TenantId(request.tenant)
        async with database.sessions() as session:
            statement = policy.readable_dashboards(
                subject,
                tenant,
                sa.select(Dashboard.id).where(
                    Dashboard.tenant_id == tenant, Dashboard.uid == request.dashboard
                ),
            )
            if (await session.execute(statement)).first() is None:
                raise LiveError("not_found", f"no dashboard {request.dashboard!r} in {tenant}")
            layouts = await layouts_of(
                session, tenant, lambda objects: policy.readable_objects(subject, tenant, objects)
            )
        name = f"{request.dashboard}/"
        chosen = tuple(
            layout
            for layout in layouts
            if layout.name.startswith(name)
            and (request.widget is None or layout.name == name + request.widget)
        )
        if request.widget is not None and not chosen:
            raise LiveError(
                "not_found", f"no widget {request.widget!r} showing statistics on that dashboard"
            )
        return Target(tenant, layouts=chosen)

    return resolve
