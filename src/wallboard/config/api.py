"""HTTP routes of the configuration: CRUD of objects, bulk import and export, the change feed
(``/api/v1/config/{tenant}/...``, docs/configuration.md). Thin: parse, call the service, shape
the answer; the rules are in :mod:`wallboard.config.service`."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from wallboard.config.documents import DocumentFormat, parse_document, render_document
from wallboard.config.schemas import ChangeFeed, ConfigType, ImportResult, ObjectRead, ObjectUpdate
from wallboard.config.service import ConfigService, to_read
from wallboard.core.errors import InvalidInput, NotFound, PermissionDenied
from wallboard.core.ids import TenantId
from wallboard.db.models import ConfigObject, Tenant
from wallboard.db.tenants import check_tenant_id
from wallboard.ops.metrics import counter
from wallboard.web.deps import (
    CommitRoute,
    IfMatchDep,
    PolicyDep,
    SessionDep,
    SubjectDep,
    TenantDep,
    etag_of,
    web_state,
)
from wallboard.web.errors import ERROR_RESPONSES, FieldError
from wallboard.web.pagination import ListParams, list_params
from wallboard.web.policy import Subject
from wallboard.web.schemas import Page

router = APIRouter(
    prefix="/config/{tenant}",
    tags=["configuration"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)

MAX_WAIT_S = 30.0
"""Longest a change feed request waits for a change (``wait``)."""
FEED_POLL_S = 0.2
"""How often a waiting change feed request looks at the tenant's change number."""

IMPORTS = counter(
    "config",
    "imports",
    "Configuration imports over the API, by outcome: imported, or refused (a wrong document).",
    labels=("outcome",),
)
WRITES = counter(
    "config",
    "writes",
    "Configuration objects created, changed and deleted over the API, one by one.",
    labels=("operation",),
)

NamePath = Annotated[str, Path(description="The object's name (its id).", max_length=200)]
TypePath = Annotated[ConfigType, Path(description="The object's type.")]


def check_subject_tenant(subject: Subject, tenant: str) -> None:
    """Another tenant's configuration does not exist for a subject bound to a tenant; a kiosk
    link reads its wallboard only, never the configuration."""
    if subject.tenant is not None and subject.tenant != tenant:
        raise NotFound(f"tenant {tenant[:63]!r} does not exist", tenant=tenant[:63])
    if subject.kiosk_dashboard is not None:
        raise PermissionDenied("a kiosk link reads its wallboard only")


def config_service(
    session: SessionDep, policy: PolicyDep, subject: SubjectDep, tenant: TenantDep
) -> ConfigService:
    check_subject_tenant(subject, tenant)
    return ConfigService(session, tenant, policy=policy, subject=subject)


ServiceDep = Annotated[ConfigService, Depends(config_service)]


def _located(response: Response, tenant: str, row: ConfigObject) -> None:
    response.headers["ETag"] = etag_of(row.id, row.version)
    # Quoted: a name may hold any printable character, a header only ASCII.
    response.headers["Location"] = (
        f"/api/v1/config/{tenant}/objects/{row.type}/{urllib.parse.quote(row.name, safe='/')}"
    )


@router.get("/objects", summary="List the tenant's configuration objects")
async def list_config_objects(
    service: ServiceDep,
    params: Annotated[ListParams, Depends(list_params)],
    type: Annotated[
        list[ConfigType] | None,
        Query(max_length=9, description="Only objects of these types (repeat for several)."),
    ] = None,
    q: Annotated[
        str, Query(max_length=200, description="Part of the name or display name (any case).")
    ] = "",
) -> Page[ObjectRead]:
    """Sorting by name (default), type, displayName, updatedAt or changeNumber."""
    rows, pagination = await service.page(params, None if type is None else frozenset(type), q)
    return Page[ObjectRead](items=[to_read(row) for row in rows], pagination=pagination)


@router.post("/objects", status_code=status.HTTP_201_CREATED, summary="Create an object")
async def create_config_object(
    service: ServiceDep, body: dict[str, object], response: Response
) -> ObjectRead:
    """The body is an object: ``type``, ``name``, ``displayName``, ``folder``, ``attributes``
    (the type's, docs/configuration.md). 409 when it exists; 422 names the wrong field, also
    a reference to an object that does not exist."""
    row = await service.create(body)
    WRITES.labels("create").inc()
    _located(response, service.tenant, row)
    return to_read(row)


@router.get("/objects/{type}/{name:path}", summary="Read an object")
async def get_config_object(
    service: ServiceDep, type: TypePath, name: NamePath, response: Response
) -> ObjectRead:
    row = await service.get(type, name)
    response.headers["ETag"] = etag_of(row.id, row.version)
    return to_read(row)


@router.patch("/objects/{type}/{name:path}", summary="Change an object (only the fields given)")
async def update_config_object(
    service: ServiceDep,
    type: TypePath,
    name: NamePath,
    body: ObjectUpdate,
    if_match: IfMatchDep,
    response: Response,
) -> ObjectRead:
    """``attributes`` given replaces all of them; 412 when If-Match (or ``version``) is stale."""
    row = await service.update(type, name, body, if_match=if_match)
    WRITES.labels("update").inc()
    response.headers["ETag"] = etag_of(row.id, row.version)
    return to_read(row)


@router.delete(
    "/objects/{type}/{name:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an object no other object names",
)
async def delete_config_object(
    service: ServiceDep, type: TypePath, name: NamePath, if_match: IfMatchDep
) -> None:
    await service.delete(type, name, if_match=if_match)
    WRITES.labels("delete").inc()


FormatQuery = Annotated[
    DocumentFormat | None,
    Query(description="yaml (default; JSON is read as YAML) or csv (docs/configuration.md)."),
]


@router.get(
    "/export",
    summary="Every object as a YAML or CSV document",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/yaml": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
async def export_config(service: ServiceDep, format: FormatQuery = None) -> Response:
    chosen = format or DocumentFormat.YAML
    text = render_document(await service.export(), chosen)
    media = "text/csv" if chosen is DocumentFormat.CSV else "application/yaml"
    filename = f"{service.tenant}-configuration.{chosen.value}"
    return Response(
        text,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/import",
    summary="Create or replace the objects of a YAML or CSV document, all or nothing",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def import_config(
    service: ServiceDep, request: Request, format: FormatQuery = None
) -> ImportResult:
    """The format is ``format``, else text/csv bodies are CSV and others YAML (or JSON).
    Nothing is written unless every object is valid: a 422 names the object (``objects.3``
    of YAML, ``line 4`` of CSV) and its field."""
    service.check_may_change()
    if format is None:
        content_type = request.headers.get("content-type", "")
        format = DocumentFormat.CSV if content_type.startswith("text/csv") else DocumentFormat.YAML
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        IMPORTS.labels("refused").inc()
        raise FieldError(("body",), f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        result = await service.import_(parse_document(text, format, ("body",)))
    except FieldError:
        IMPORTS.labels("refused").inc()
        raise
    IMPORTS.labels("imported").inc()
    return result


@router.get("/changes", summary="What changed after a change number (long-polls with wait)")
async def config_changes(
    request: Request,
    policy: PolicyDep,
    subject: SubjectDep,
    tenant: Annotated[str, Path(description="The tenant's id (a slug).", max_length=63)],
    since: Annotated[int, Query(ge=0, description="The last change number the client has.")] = 0,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description=f"Seconds to wait for a change, at most {MAX_WAIT_S:g}.",
        ),
    ] = 0,
) -> ChangeFeed:
    """Objects written (as they are now) and deleted after ``since``, up to ``changeNumber``.
    With ``wait`` the answer is held until something changed or the time is up; the database
    is not held meanwhile (the tenant's number is looked at every 200 ms)."""
    check_subject_tenant(subject, tenant)
    database = web_state(request).database
    try:
        tenant_id = check_tenant_id(tenant)
    except InvalidInput:
        raise NotFound(f"tenant {tenant[:63]!r} does not exist", tenant=tenant[:63]) from None
    deadline = time.monotonic() + wait
    looked_at: int | None = None  # the tenant's counter when the feed was last found empty
    while True:
        async with database.sessions() as session:
            counter = await session.scalar(
                sa.select(Tenant.change_number).where(Tenant.id == tenant_id)
            )
            if counter is None:
                raise NotFound(f"tenant {tenant_id!r} does not exist", tenant=tenant_id)
            last = time.monotonic() >= deadline
            if counter != looked_at or last:
                # Only when the counter moved (or at the end) is the feed computed again.
                feed = await ConfigService(
                    session, TenantId(tenant_id), policy=policy, subject=subject
                ).changes(since)
                if feed.objects or feed.deletions or last:
                    return feed
                looked_at = counter
        await asyncio.sleep(min(FEED_POLL_S, max(0.0, deadline - time.monotonic())))
