"""HTTP route of the object search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from wallboard.stats.definitions import ObjectType
from wallboard.web.deps import CommitRoute, PolicyDep, SubjectDep, TenantDep, web_state
from wallboard.web.errors import ERROR_RESPONSES
from wallboard.web.objects.config import tenant_config
from wallboard.web.objects.schemas import KnownObject
from wallboard.web.objects.service import search_objects
from wallboard.web.pagination import ListParams
from wallboard.web.schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Page

router = APIRouter(
    prefix="/tenants/{tenant}",
    tags=["objects"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)


@router.get("/objects", summary="Search the objects a widget can show")
async def list_objects(
    request: Request,
    tenant: TenantDep,
    policy: PolicyDep,
    subject: SubjectDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    sorting: Annotated[
        str,
        Query(
            max_length=40,
            pattern=r"^-?[a-zA-Z]+$",
            description="Field to sort by (name, type); a leading - sorts descending.",
        ),
    ] = "name",
    q: Annotated[
        str, Query(max_length=200, description="Part of the object's name (any case).")
    ] = "",
    type: Annotated[
        list[ObjectType] | None,
        Query(max_length=7, description="Only objects of these types (repeat for several)."),
    ] = None,
) -> Page[KnownObject]:
    """Configured objects and objects with values in the store (docs/api.md); sorting by
    ``name`` (default) or ``type``. Without a value store only configured objects are known."""
    state = web_state(request)
    return await search_objects(
        tenant=tenant,
        store=state.store,
        config=tenant_config(state.objects, tenant),
        policy=policy,
        subject=subject,
        text=q,
        types=None if type is None else frozenset(t.value for t in type),
        params=ListParams(page=page, limit=limit, sorting=sorting),
    )
