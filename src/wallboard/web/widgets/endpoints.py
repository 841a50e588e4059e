"""HTTP routes of a dashboard's widgets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from wallboard.web.dashboards.endpoints import DashboardServiceDep
from wallboard.web.deps import CommitRoute, IfMatchDep, etag_of
from wallboard.web.errors import ERROR_RESPONSES
from wallboard.web.schemas import Uid
from wallboard.web.widgets.schemas import WidgetCreate, WidgetRead, WidgetUpdate
from wallboard.web.widgets.service import to_read

router = APIRouter(
    prefix="/tenants/{tenant}/dashboards/{dashboard}/widgets",
    tags=["widgets"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)

DashboardPath = Annotated[Uid, Path(description="The dashboard's uid.")]
UidPath = Annotated[Uid, Path(description="The widget's uid.")]


@router.get("", summary="The dashboard's widgets")
async def list_widgets(service: DashboardServiceDep, dashboard: DashboardPath) -> list[WidgetRead]:
    readable = service.repository.readable_objects
    return [to_read(widget, readable) for widget in (await service.get(dashboard)).widgets]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a widget")
async def create_widget(
    service: DashboardServiceDep, dashboard: DashboardPath, body: WidgetCreate, response: Response
) -> WidgetRead:
    board = await service.get(dashboard)
    widget = await service.widgets.create(board, body)
    response.headers["ETag"] = etag_of(widget.id, widget.version)
    response.headers["Location"] = (
        f"/api/v1/tenants/{service.tenant}/dashboards/{board.uid}/widgets/{widget.uid}"
    )
    return to_read(widget, service.repository.readable_objects)


@router.get("/{uid}", summary="Read a widget")
async def get_widget(
    service: DashboardServiceDep, dashboard: DashboardPath, uid: UidPath, response: Response
) -> WidgetRead:
    widget = service.widgets.find(await service.get(dashboard), uid)
    response.headers["ETag"] = etag_of(widget.id, widget.version)
    return to_read(widget, service.repository.readable_objects)


@router.patch("/{uid}", summary="Change a widget (only the fields given)")
async def update_widget(
    service: DashboardServiceDep,
    dashboard: DashboardPath,
    uid: UidPath,
    body: WidgetUpdate,
    if_match: IfMatchDep,
    response: Response,
) -> WidgetRead:
    board = await service.get(dashboard)
    widget = await service.widgets.update(board, uid, body, if_match=if_match)
    response.headers["ETag"] = etag_of(widget.id, widget.version)
    return to_read(widget, service.repository.readable_objects)


@router.delete("/{uid}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a widget")
async def delete_widget(
    service: DashboardServiceDep, dashboard: DashboardPath, uid: UidPath, if_match: IfMatchDep
) -> None:
    await service.widgets.delete(await service.get(dashboard), uid, if_match=if_match)
