"""Every query of dashboards (with their widgets) and launched dashboards, on the policy's
readable statement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.errors import Conflict
from wallboard.core.ids import TenantId
from wallboard.db.models import Dashboard, LaunchedDashboard
from wallboard.web.pagination import ListParams, fetch_page, order_by
from wallboard.web.policy import AccessPolicy, Subject
from wallboard.web.schemas import Pagination


class DashboardRepository:
    def __init__(
        self, session: AsyncSession, policy: AccessPolicy, subject: Subject, tenant: TenantId
    ) -> None:
        self.session = session
        self.tenant = tenant
        self.subject = subject
        self._policy = policy

    def check_write(self, kind: str, uid: str, **how: Any) -> None:
        """PermissionDenied unless the subject may write the item (the policy decides)."""
        self._policy.check_write(self.subject, self.tenant, kind, uid, **how)

    def readable_objects(self, objects: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The objects of those given that the subject may see (what widget definitions show)."""
        return self._policy.readable_objects(self.subject, self.tenant, objects)

    def readable(self) -> sa.Select[Any]:
        """The one query every read of dashboards starts from."""
        statement = sa.select(Dashboard).where(Dashboard.tenant_id == self.tenant)
        return self._policy.readable_dashboards(self.subject, self.tenant, statement)

    async def get(self, uid: str) -> Dashboard | None:
        found: Dashboard | None = await self.session.scalar(
            self.readable().where(Dashboard.uid == uid)
        )
        return found

    async def page(self, params: ListParams) -> tuple[Sequence[Dashboard], Pagination]:
        columns = {"name": Dashboard.name, "uid": Dashboard.uid, "updatedAt": Dashboard.updated_at}
        statement = self.readable().order_by(*order_by(params.sorting, columns, Dashboard.id))
        return await fetch_page(self.session, statement, params)

    async def changed_since(self, since: int, upto: int, limit: int | None) -> Sequence[Dashboard]:
        statement = (
            self.readable()
            .where(Dashboard.change_number > since, Dashboard.change_number <= upto)
            .order_by(Dashboard.change_number, Dashboard.id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        return (await self.session.scalars(statement)).all()

    async def existing_uids(self, uids: Sequence[str]) -> set[str]:
        statement = sa.select(Dashboard.uid).where(
            Dashboard.tenant_id == self.tenant, Dashboard.uid.in_(list(uids))
        )
        return set((await self.session.scalars(statement)).all())

    async def add(self, dashboard: Dashboard) -> None:
        self.session.add(dashboard)
        await self.flush(dashboard.uid)

    async def flush(self, uid: str) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict(f"a dashboard with uid {uid!r} exists already", uid=uid) from None

    async def delete(self, dashboard: Dashboard) -> None:
        await self.session.delete(dashboard)
        await self.session.flush()

    async def launched(self) -> list[str]:
        statement = (
            self.readable()
            .with_only_columns(Dashboard.uid)
            .join(LaunchedDashboard, LaunchedDashboard.dashboard_id == Dashboard.id)
            .where(
                LaunchedDashboard.tenant_id == self.tenant,
                LaunchedDashboard.user == self.subject.user,
            )
            .order_by(LaunchedDashboard.position)
        )
        return list((await self.session.scalars(statement)).all())

    async def set_launched(self, dashboards: Sequence[Dashboard]) -> None:
        await self.session.execute(
            sa.delete(LaunchedDashboard).where(
                LaunchedDashboard.tenant_id == self.tenant,
                LaunchedDashboard.user == self.subject.user,
            )
        )
        for position, dashboard in enumerate(dashboards):
            self.session.add(
                LaunchedDashboard(
                    tenant_id=self.tenant,
                    user=self.subject.user,
                    dashboard_id=dashboard.id,
                    position=position,
                )
            )
        await self.session.flush()
