"""The rules of dashboards: rotation only on wallboards and only through existing dashboards,
the owner is who created it, optimistic concurrency, change numbers, export and import."""

from __future__ import annotations

import uuid

from wallboard.core.errors import Conflict, NotFound
from wallboard.core.ids import TenantId
from wallboard.db.models import Dashboard, DashboardKind
from wallboard.identity.limits import check_dashboard_limit, check_widget_limit
from wallboard.web.changes import next_change_number, record_deletion
from wallboard.web.dashboards.repository import DashboardRepository
from wallboard.web.dashboards.schemas import (
    DashboardCreate,
    DashboardExport,
    DashboardRead,
    DashboardUpdate,
    Launched,
    Rotation,
)
from wallboard.web.deps import check_preconditions
from wallboard.web.errors import FieldError, Loc
from wallboard.web.policy import WriteAction
from wallboard.web.schemas import SCHEMA_VERSION
from wallboard.web.templates.service import TemplateService, to_export
from wallboard.web.widgets.service import ObjectFilter, WidgetService, check_widget, to_create
from wallboard.web.widgets.service import to_read as widget_read

KIND = "dashboard"


def to_read(dashboard: Dashboard, readable: ObjectFilter) -> DashboardRead:
    """The dashboard as the reader sees it: its widgets' objects narrowed by ``readable``."""
    return DashboardRead(
        uid=dashboard.uid,
        name=dashboard.name,
        description=dashboard.description,
        kind=dashboard.kind,
        owner=dashboard.owner,
        shared=dashboard.shared,
        layout=dashboard.layout,
        rotation=Rotation.model_validate(dashboard.rotation) if dashboard.rotation else None,
        widgets=[widget_read(widget, readable) for widget in dashboard.widgets],
        version=dashboard.version,
        schema_version=dashboard.schema_version,
        change_number=dashboard.change_number,
        created_at=dashboard.created_at,
        updated_at=dashboard.updated_at,
    )


def to_create_body(dashboard: Dashboard, readable: ObjectFilter) -> DashboardCreate:
    read = to_read(dashboard, readable)
    return DashboardCreate(
        uid=read.uid,
        name=read.name,
        description=read.description,
        kind=read.kind,
        shared=read.shared,
        layout=read.layout,
        rotation=read.rotation,
        widgets=[to_create(widget, readable) for widget in dashboard.widgets],
    )


class DashboardService:
    def __init__(
        self, repository: DashboardRepository, templates: TemplateService, widgets: WidgetService
    ) -> None:
        self.repository = repository
        self.templates = templates
        self.widgets = widgets

    @property
    def tenant(self) -> TenantId:
        return self.repository.tenant

    async def get(self, uid: str) -> Dashboard:
        dashboard = await self.repository.get(uid)
        if dashboard is None:
            raise NotFound(f"dashboard {uid!r} does not exist in tenant {self.tenant!r}", uid=uid)
        return dashboard

    async def _check_rotation(
        self, kind: DashboardKind, rotation: Rotation | None, own_uid: str, loc: Loc
    ) -> None:
        if rotation is None:
            return
        if kind is not DashboardKind.WALLBOARD:
            raise FieldError((*loc, "rotation"), "only a wallboard rotates")
        others = [uid for uid in rotation.dashboards if uid != own_uid]
        found = await self.repository.existing_uids(others)
        for index, uid in enumerate(rotation.dashboards):
            if uid != own_uid and uid not in found:
                raise FieldError(
                    (*loc, "rotation", "dashboards", index), f"dashboard {uid!r} does not exist"
                )

    async def create(self, data: DashboardCreate, loc: Loc = ("body",)) -> Dashboard:
        uid = data.uid or uuid.uuid4().hex
        self.repository.check_write(
            KIND, uid, action=WriteAction.CREATE, shared=data.shared, sharing=data.shared
        )
        session, subject = self.repository.session, self.repository.subject
        await check_dashboard_limit(session, subject, self.tenant)
        await check_widget_limit(session, subject, self.tenant, len(data.widgets))
        if data.widgets:
            self.repository.check_write("widget", uid, action=WriteAction.CREATE)
        await self._check_rotation(data.kind, data.rotation, uid, loc)
        seen: set[str] = set()
        for index, widget in enumerate(data.widgets):
            await check_widget(widget, self.templates.repository, (*loc, "widgets", index))
            if widget.uid is not None and widget.uid in seen:
                raise FieldError((*loc, "widgets", index, "uid"), f"uid {widget.uid!r} twice")
            if widget.uid is not None:
                seen.add(widget.uid)
        if await self.repository.existing_uids([uid]):
            raise Conflict(f"a dashboard with uid {uid!r} exists already", uid=uid)
        dashboard = Dashboard(
            tenant_id=self.tenant,
            uid=uid,
            name=data.name,
            description=data.description,
            kind=data.kind,
            owner=self.repository.subject.user,
            shared=data.shared,
            layout=dict(data.layout),
            rotation=data.rotation.model_dump(mode="json", by_alias=True)
            if data.rotation
            else None,
            version=1,
            schema_version=SCHEMA_VERSION,
            change_number=await next_change_number(self.repository.session, self.tenant),
            widgets=[self.widgets.build(widget) for widget in data.widgets],
        )
        await self.repository.add(dashboard)
        return dashboard

    async def update(self, uid: str, data: DashboardUpdate, *, if_match: str | None) -> Dashboard:
        dashboard = await self.get(uid)
        self.repository.check_write(
            KIND,
            uid,
            owner=dashboard.owner,
            shared=dashboard.shared,
            sharing=data.shared is not None and data.shared != dashboard.shared,
        )
        check_preconditions(
            row_id=dashboard.id,
            version=dashboard.version,
            if_match=if_match,
            body_version=data.version,
        )
        changes = data.model_fields_set - {"version"}
        kind = data.kind if data.kind is not None else dashboard.kind
        rotation = (
            data.rotation
            if "rotation" in changes
            else (Rotation.model_validate(dashboard.rotation) if dashboard.rotation else None)
        )
        await self._check_rotation(kind, rotation, uid, ("body",))
        if data.name is not None:
            dashboard.name = data.name
        if data.description is not None:
            dashboard.description = data.description
        if data.shared is not None:
            dashboard.shared = data.shared
        if data.layout is not None:
            dashboard.layout = dict(data.layout)
        dashboard.kind = kind
        dashboard.rotation = rotation.model_dump(mode="json", by_alias=True) if rotation else None
        if changes:
            dashboard.version += 1
            dashboard.schema_version = SCHEMA_VERSION
            dashboard.change_number = await next_change_number(self.repository.session, self.tenant)
        await self.repository.flush(uid)
        return dashboard

    async def delete(self, uid: str, *, if_match: str | None) -> None:
        dashboard = await self.get(uid)
        self.repository.check_write(
            KIND, uid, action=WriteAction.DELETE, owner=dashboard.owner, shared=dashboard.shared
        )
        check_preconditions(row_id=dashboard.id, version=dashboard.version, if_match=if_match)
        await record_deletion(self.repository.session, self.tenant, KIND, uid)
        await self.repository.delete(dashboard)

    async def export(self, uid: str) -> DashboardExport:
        dashboard = await self.get(uid)
        keys = sorted({w.template_key for w in dashboard.widgets if w.template_key is not None})
        templates = []
        for key in keys:
            template = await self.templates.repository.get(key)
            if template is not None:
                templates.append(to_export(template).template)
        return DashboardExport(
            schema_version=SCHEMA_VERSION,
            # What the exporter may see only: an export is a read.
            dashboard=to_create_body(dashboard, self.repository.readable_objects),
            templates=templates,
        )

    async def import_(
        self, document: DashboardExport, *, overwrite: bool
    ) -> tuple[Dashboard, bool]:
        """Create the exported dashboard (and the templates it uses that the tenant lacks;
        those it has are kept as they are); with ``overwrite``, replace a dashboard of the same
        uid. Returns the dashboard and whether none of its uid existed.

        Whether the caller may create it is checked first: someone who may not gets 403,
        never a conflict or a template error that tells what exists."""
        data = document.dashboard
        self.repository.check_write(
            KIND,
            data.uid or "(new)",
            action=WriteAction.CREATE,
            shared=data.shared,
            sharing=data.shared,
        )
        for index, template in enumerate(document.templates):
            if template.uid is None or await self.templates.repository.get(template.uid) is None:
                await self.templates.create(template, loc=("body", "templates", index))
        data = document.dashboard
        replaced = False
        if data.uid is not None:
            existing = await self.repository.get(data.uid)
            if existing is not None:
                if not overwrite:
                    raise Conflict(
                        f"a dashboard with uid {data.uid!r} exists already; "
                        "import with overwrite=true to replace it",
                        uid=data.uid,
                    )
                self.repository.check_write(
                    KIND,
                    data.uid,
                    action=WriteAction.DELETE,
                    owner=existing.owner,
                    shared=existing.shared,
                )
                await self.repository.delete(existing)
                replaced = True
        return await self.create(data, loc=("body", "dashboard")), not replaced

    async def launched(self) -> Launched:
        return Launched(dashboards=await self.repository.launched())

    async def set_launched(self, data: Launched) -> Launched:
        self.repository.check_write("launched", self.repository.subject.user)
        dashboards = []
        for index, uid in enumerate(data.dashboards):
            dashboard = await self.repository.get(uid)
            if dashboard is None:
                raise FieldError(("body", "dashboards", index), f"dashboard {uid!r} does not exist")
            if dashboard not in dashboards:
                dashboards.append(dashboard)
        await self.repository.set_launched(dashboards)
        return Launched(dashboards=[d.uid for d in dashboards])
