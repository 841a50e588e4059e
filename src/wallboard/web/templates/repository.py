"""Every query of widget templates, built on the policy's readable statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.errors import Conflict
from wallboard.core.ids import TenantId
from wallboard.db.models import Dashboard, Widget, WidgetTemplate
from wallboard.web.pagination import ListParams, fetch_page, order_by
from wallboard.web.policy import AccessPolicy, Subject
from wallboard.web.schemas import Pagination


class TemplateRepository:
    def __init__(
        self, session: AsyncSession, policy: AccessPolicy, subject: Subject, tenant: TenantId
    ) -> None:
        self.session = session
        self.tenant = tenant
        self._policy = policy
        self._subject = subject

    @property
    def subject(self) -> Subject:
        return self._subject

    def check_write(self, kind: str, uid: str, **how: Any) -> None:
        """PermissionDenied unless the subject may write the item (the policy decides)."""
        self._policy.check_write(self._subject, self.tenant, kind, uid, **how)

    def readable(self) -> sa.Select[Any]:
        """The one query every read of templates starts from."""
        statement = sa.select(WidgetTemplate).where(WidgetTemplate.tenant_id == self.tenant)
        return self._policy.readable_templates(self._subject, self.tenant, statement)

    async def get(self, uid: str) -> WidgetTemplate | None:
        found: WidgetTemplate | None = await self.session.scalar(
            self.readable().where(WidgetTemplate.key == uid)
        )
        return found

    async def page(self, params: ListParams) -> tuple[Sequence[WidgetTemplate], Pagination]:
        columns = {
            "name": WidgetTemplate.name,
            "uid": WidgetTemplate.key,
            "updatedAt": WidgetTemplate.updated_at,
        }
        statement = self.readable().order_by(*order_by(params.sorting, columns, WidgetTemplate.id))
        return await fetch_page(self.session, statement, params)

    async def all(self) -> Sequence[WidgetTemplate]:
        """Every template of the tenant, readable or not (for rules that span them all)."""
        statement = sa.select(WidgetTemplate).where(WidgetTemplate.tenant_id == self.tenant)
        return (await self.session.scalars(statement.order_by(WidgetTemplate.key))).all()

    async def changed_since(
        self, since: int, upto: int, limit: int | None
    ) -> Sequence[WidgetTemplate]:
        statement = (
            self.readable()
            .where(WidgetTemplate.change_number > since, WidgetTemplate.change_number <= upto)
            .order_by(WidgetTemplate.change_number, WidgetTemplate.id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        return (await self.session.scalars(statement)).all()

    async def add(self, template: WidgetTemplate) -> None:
        self.session.add(template)
        await self.flush(template.key)

    async def flush(self, uid: str) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict(f"a template with uid {uid!r} exists already", uid=uid) from None

    async def delete(self, template: WidgetTemplate) -> None:
        await self.session.delete(template)
        await self.session.flush()

    async def dashboards_using(self, uid: str) -> list[str]:
        """Uids of the tenant's dashboards with a widget made from the template."""
        statement = (
            sa.select(Dashboard.uid)
            .join(Widget, Widget.dashboard_id == Dashboard.id)
            .where(Dashboard.tenant_id == self.tenant, Widget.template_key == uid)
            .distinct()
            .order_by(Dashboard.uid)
        )
        return list((await self.session.scalars(statement)).all())
