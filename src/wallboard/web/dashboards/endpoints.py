"""HTTP routes of dashboards, their export and import, and the user's launched dashboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from wallboard.web.dashboards.repository import DashboardRepository
from wallboard.web.dashboards.schemas import (
    DashboardCreate,
    DashboardExport,
    DashboardRead,
    DashboardUpdate,
    Launched,
)
from wallboard.web.dashboards.service import DashboardService, to_read
from wallboard.web.deps import (
    CommitRoute,
    IfMatchDep,
    PolicyDep,
    SessionDep,
    SubjectDep,
    TenantDep,
    etag_of,
)
from wallboard.web.errors import ERROR_RESPONSES
from wallboard.web.pagination import ListParams, list_params
from wallboard.web.schemas import Page, Uid
from wallboard.web.templates.repository import TemplateRepository
from wallboard.web.templates.service import TemplateService
from wallboard.web.widgets.service import WidgetService

router = APIRouter(
    prefix="/tenants/{tenant}",
    tags=["dashboards"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)

UidPath = Annotated[Uid, Path(description="The dashboard's uid.")]


def dashboard_service(
    session: SessionDep, policy: PolicyDep, subject: SubjectDep, tenant: TenantDep
) -> DashboardService:
    templates = TemplateRepository(session, policy, subject, tenant)
    dashboards = DashboardRepository(session, policy, subject, tenant)
    return DashboardService(
        dashboards,
        TemplateService(templates),
        WidgetService(session, templates, dashboards.readable_objects),
    )


DashboardServiceDep = Annotated[DashboardService, Depends(dashboard_service)]


def _located(
    response: Response, service: DashboardService, row_id: int, version: int, uid: str
) -> None:
    response.headers["ETag"] = etag_of(row_id, version)
    response.headers["Location"] = f"/api/v1/tenants/{service.tenant}/dashboards/{uid}"


@router.get("/dashboards", summary="List the dashboards and wallboards the caller may see")
async def list_dashboards(
    service: DashboardServiceDep, params: Annotated[ListParams, Depends(list_params)]
) -> Page[DashboardRead]:
    rows, pagination = await service.repository.page(params)
    return Page[DashboardRead](
        items=[to_read(row, service.repository.readable_objects) for row in rows],
        pagination=pagination,
    )


@router.post("/dashboards", status_code=status.HTTP_201_CREATED, summary="Create a dashboard")
async def create_dashboard(
    service: DashboardServiceDep, body: DashboardCreate, response: Response
) -> DashboardRead:
    dashboard = await service.create(body)
    _located(response, service, dashboard.id, dashboard.version, dashboard.uid)
    return to_read(dashboard, service.repository.readable_objects)


@router.get("/dashboards/{uid}", summary="Read a dashboard with its widgets")
async def get_dashboard(
    service: DashboardServiceDep, uid: UidPath, response: Response
) -> DashboardRead:
    dashboard = await service.get(uid)
    response.headers["ETag"] = etag_of(dashboard.id, dashboard.version)
    return to_read(dashboard, service.repository.readable_objects)


@router.patch("/dashboards/{uid}", summary="Change a dashboard's own fields")
async def update_dashboard(
    service: DashboardServiceDep,
    uid: UidPath,
    body: DashboardUpdate,
    if_match: IfMatchDep,
    response: Response,
) -> DashboardRead:
    dashboard = await service.update(uid, body, if_match=if_match)
    response.headers["ETag"] = etag_of(dashboard.id, dashboard.version)
    return to_read(dashboard, service.repository.readable_objects)


@router.delete(
    "/dashboards/{uid}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a dashboard"
)
async def delete_dashboard(
    service: DashboardServiceDep, uid: UidPath, if_match: IfMatchDep
) -> None:
    await service.delete(uid, if_match=if_match)


@router.get("/dashboards/{uid}/export", summary="A dashboard and its templates as portable JSON")
async def export_dashboard(service: DashboardServiceDep, uid: UidPath) -> DashboardExport:
    return await service.export(uid)


@router.post(
    "/dashboards/import",
    status_code=status.HTTP_201_CREATED,
    summary="Import an exported dashboard (201 created; 200 replaced with overwrite=true)",
    responses={200: {"model": DashboardRead, "description": "replaced"}},
)
async def import_dashboard(
    service: DashboardServiceDep,
    body: DashboardExport,
    response: Response,
    overwrite: Annotated[
        bool, Query(description="Replace a dashboard with the same uid instead of a 409.")
    ] = False,
) -> DashboardRead:
    dashboard, created = await service.import_(body, overwrite=overwrite)
    if not created:
        response.status_code = status.HTTP_200_OK
    _located(response, service, dashboard.id, dashboard.version, dashboard.uid)
    return to_read(dashboard, service.repository.readable_objects)


@router.get("/launched", summary="The dashboards the caller has launched, in order")
async def get_launched(service: DashboardServiceDep) -> Launched:
    return await service.launched()


@router.put("/launched", summary="Set the dashboards the caller has launched")
async def put_launched(service: DashboardServiceDep, body: Launched) -> Launched:
    return await service.set_launched(body)
