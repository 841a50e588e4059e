"""Incremental sync: what changed in a tenant after a change number (``GET .../sync?since=N``).

The tenant's counter is read first and only rows up to it are returned, so a change that
commits during the read is picked up by the next sync rather than skipped (see
``wallboard.web.changes``). A page that stops early stops after a whole change number: rows
written together are never split across pages.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query

from wallboard.db.models import DeletedItem
from wallboard.web.changes import current_change_number
from wallboard.web.dashboards.endpoints import DashboardServiceDep
from wallboard.web.dashboards.schemas import DashboardRead
from wallboard.web.dashboards.service import to_read as dashboard_read
from wallboard.web.deps import CommitRoute
from wallboard.web.errors import ERROR_RESPONSES
from wallboard.web.schemas import ApiModel
from wallboard.web.templates.schemas import TemplateRead
from wallboard.web.templates.service import to_read as template_read

router = APIRouter(
    prefix="/tenants/{tenant}", tags=["sync"], route_class=CommitRoute, responses=ERROR_RESPONSES
)

MAX_SYNC_ITEMS = 500


class Deleted(ApiModel):
    kind: str
    uid: str
    change_number: int


class Changes(ApiModel):
    """Changes after ``since``: ask again with ``since=next``; ``complete`` is false when more
    were left for the next call."""

    since: int
    next: int
    complete: bool
    templates: list[TemplateRead]
    dashboards: list[DashboardRead]
    deleted: list[Deleted]


@router.get("/sync", summary="Templates and dashboards changed or deleted after a change number")
async def sync(
    service: DashboardServiceDep,
    since: Annotated[
        int, Query(ge=0, le=2**62, description="The last change number seen; 0: all.")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_SYNC_ITEMS, description="Items per kind at most.")
    ] = 100,
) -> Changes:
    session = service.repository.session
    tenant = service.tenant
    upto = await current_change_number(session, tenant)
    templates_repo = service.templates.repository

    async def deleted(low: int, high: int, count: int | None) -> list[DeletedItem]:
        statement = (
            sa.select(DeletedItem)
            .where(
                DeletedItem.tenant_id == tenant,
                DeletedItem.change_number > low,
                DeletedItem.change_number <= high,
            )
            .order_by(DeletedItem.change_number, DeletedItem.id)
        )
        if count is not None:
            statement = statement.limit(count)
        return list((await session.scalars(statement)).all())

    templates = list(await templates_repo.changed_since(since, upto, limit))
    dashboards = list(await service.repository.changed_since(since, upto, limit))
    deletions = await deleted(since, upto, limit)
    saturated = [
        rows[-1].change_number for rows in (templates, dashboards, deletions) if len(rows) == limit
    ]
    complete = not saturated
    next_number = upto
    if saturated:
        # Stop after the lowest change number some kind may not have returned whole, and read
        # every row of that number so that a transaction's writes stay together.
        next_number = min(saturated)
        templates = [t for t in templates if t.change_number < next_number]
        templates += await templates_repo.changed_since(next_number - 1, next_number, None)
        dashboards = [d for d in dashboards if d.change_number < next_number]
        dashboards += await service.repository.changed_since(next_number - 1, next_number, None)
        deletions = [d for d in deletions if d.change_number < next_number]
        deletions += await deleted(next_number - 1, next_number, None)
        complete = next_number == upto
    return Changes(
        since=since,
        next=next_number,
        complete=complete,
        templates=[template_read(t) for t in templates],
        dashboards=[dashboard_read(d, service.repository.readable_objects) for d in dashboards],
        deleted=[Deleted(kind=d.kind, uid=d.uid, change_number=d.change_number) for d in deletions],
    )
