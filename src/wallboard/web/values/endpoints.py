"""HTTP routes of a widget's data: current values, history, CSV export."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import StringConstraints

from wallboard.core.clock import SystemClock
from wallboard.web.deps import (
    CommitRoute,
    PolicyDep,
    SessionDep,
    StoreDep,
    SubjectDep,
    TenantDep,
    web_state,
)
from wallboard.web.errors import ERROR_RESPONSES, FieldError
from wallboard.web.objects.config import tenant_config
from wallboard.web.schemas import Uid
from wallboard.web.values.csv_export import values_csv
from wallboard.web.values.schemas import WidgetHistory, WidgetValues
from wallboard.web.values.service import WidgetData, read_history, read_values, widget_data

router = APIRouter(
    prefix="/tenants/{tenant}/dashboards/{dashboard}/widgets/{uid}",
    tags=["widget data"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)

DashboardPath = Annotated[Uid, Path(description="The dashboard's uid.")]
UidPath = Annotated[Uid, Path(description="The widget's uid.")]

DAY_MS = 24 * 3600 * 1000
MAX_RANGE_MS = 31 * DAY_MS
MAX_MS = 10**15
_CLOCK = SystemClock()


async def _widget(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    subject: SubjectDep,
    tenant: TenantDep,
    dashboard: str,
    uid: str,
) -> WidgetData:
    config = tenant_config(web_state(request).objects, tenant)
    return await widget_data(session, policy, subject, tenant, dashboard, uid, config)


@router.get("/values", summary="A widget's current values, with their freshness")
async def get_values(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    subject: SubjectDep,
    tenant: TenantDep,
    store: StoreDep,
    dashboard: DashboardPath,
    uid: UidPath,
) -> WidgetValues:
    data = await _widget(request, session, policy, subject, tenant, dashboard, uid)
    return await read_values(store, data, tenant, policy, subject, _CLOCK)


@router.get(
    "/values.csv",
    summary="A widget's current values as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def get_values_csv(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    subject: SubjectDep,
    tenant: TenantDep,
    store: StoreDep,
    dashboard: DashboardPath,
    uid: UidPath,
) -> Response:
    data = await _widget(request, session, policy, subject, tenant, dashboard, uid)
    values = await read_values(store, data, tenant, policy, subject, _CLOCK)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{dashboard}-{uid}")
    return Response(
        values_csv(values),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/history", summary="A widget's interval history, for trend charts")
async def get_history(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    subject: SubjectDep,
    tenant: TenantDep,
    store: StoreDep,
    dashboard: DashboardPath,
    uid: UidPath,
    from_: Annotated[
        int | None,
        Query(
            alias="from",
            ge=0,
            le=MAX_MS,
            description="Intervals starting at or after this (epoch ms); default: a day "
            "before `to`.",
        ),
    ] = None,
    to: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_MS,
            description="Intervals starting before this (epoch ms); default: now.",
        ),
    ] = None,
    limit: Annotated[
        int,
        Query(ge=1, le=3000, description="Intervals per series at most (the newest are kept)."),
    ] = 96,
    statistic: Annotated[
        list[Annotated[str, StringConstraints(max_length=100)]] | None,
        Query(max_length=100, description="Only these statistics (repeat for several)."),
    ] = None,
) -> WidgetHistory:
    end = to if to is not None else _CLOCK.now_ms()
    start = from_ if from_ is not None else max(0, end - DAY_MS)
    if start >= end:
        raise FieldError(("query", "from"), f"from ({start}) must be before to ({end})")
    if end - start > MAX_RANGE_MS:
        raise FieldError(("query", "from"), "the range is at most 31 days")
    data = await _widget(request, session, policy, subject, tenant, dashboard, uid)
    return await read_history(
        store,
        data,
        tenant,
        policy,
        subject,
        start_ms=start,
        end_ms=end,
        limit=limit,
        statistics=None if statistic is None else frozenset(statistic),
    )
