"""HTTP routes of widget templates (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

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
from wallboard.web.templates.schemas import (
    TemplateCreate,
    TemplateExport,
    TemplateRead,
    TemplateUpdate,
)
from wallboard.web.templates.service import TemplateService, to_export, to_read

router = APIRouter(
    prefix="/tenants/{tenant}/templates",
    tags=["templates"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)

UidPath = Annotated[Uid, Path(description="The template's uid.")]


def template_service(
    session: SessionDep, policy: PolicyDep, subject: SubjectDep, tenant: TenantDep
) -> TemplateService:
    return TemplateService(TemplateRepository(session, policy, subject, tenant))


ServiceDep = Annotated[TemplateService, Depends(template_service)]


def _located(response: Response, tenant: str, template_id: int, version: int, uid: str) -> None:
    response.headers["ETag"] = etag_of(template_id, version)
    response.headers["Location"] = f"/api/v1/tenants/{tenant}/templates/{uid}"


@router.get("", summary="List the tenant's templates")
async def list_templates(
    service: ServiceDep, params: Annotated[ListParams, Depends(list_params)]
) -> Page[TemplateRead]:
    rows, pagination = await service.repository.page(params)
    return Page[TemplateRead](items=[to_read(row) for row in rows], pagination=pagination)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a template")
async def create_template(
    service: ServiceDep, body: TemplateCreate, response: Response
) -> TemplateRead:
    template = await service.create(body)
    _located(response, service.tenant, template.id, template.version, template.key)
    return to_read(template)


@router.get("/{uid}", summary="Read a template")
async def get_template(service: ServiceDep, uid: UidPath, response: Response) -> TemplateRead:
    template = await service.get(uid)
    response.headers["ETag"] = etag_of(template.id, template.version)
    return to_read(template)


@router.patch("/{uid}", summary="Change a template (only the fields given)")
async def update_template(
    service: ServiceDep,
    uid: UidPath,
    body: TemplateUpdate,
    if_match: IfMatchDep,
    response: Response,
) -> TemplateRead:
    template = await service.update(uid, body, if_match=if_match)
    response.headers["ETag"] = etag_of(template.id, template.version)
    return to_read(template)


@router.delete(
    "/{uid}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an unused template"
)
async def delete_template(service: ServiceDep, uid: UidPath, if_match: IfMatchDep) -> None:
    await service.delete(uid, if_match=if_match)


@router.get("/{uid}/export", summary="A template as portable JSON")
async def export_template(service: ServiceDep, uid: UidPath) -> TemplateExport:
    return to_export(await service.get(uid))


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    summary="Import an exported template (201 created; 200 replaced with overwrite=true)",
    responses={200: {"model": TemplateRead, "description": "replaced"}},
)
async def import_template(
    service: ServiceDep,
    body: TemplateExport,
    response: Response,
    overwrite: Annotated[
        bool, Query(description="Replace a template with the same uid instead of a 409.")
    ] = False,
) -> TemplateRead:
    template, created = await service.import_(body, overwrite=overwrite)
    if not created:
        response.status_code = status.HTTP_200_OK
    _located(response, service.tenant, template.id, template.version, template.key)
    return to_read(template)
