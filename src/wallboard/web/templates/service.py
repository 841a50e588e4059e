"""The rules of widget templates: valid statistics, optimistic concurrency, change numbers,
the "edited" mark that keeps ``tenant init --mode update`` off a user's changes."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from wallboard.core.errors import Conflict, NotFound
from wallboard.core.ids import TenantId
from wallboard.db.models import WidgetTemplate
from wallboard.web.changes import next_change_number, record_deletion
from wallboard.web.deps import check_preconditions
from wallboard.web.errors import FieldError, Loc
from wallboard.web.policy import WriteAction
from wallboard.web.schemas import SCHEMA_VERSION
from wallboard.web.statistics import resolve_statistic
from wallboard.web.templates.repository import TemplateRepository
from wallboard.web.templates.schemas import (
    TemplateCreate,
    TemplateExport,
    TemplateFields,
    TemplateRead,
    TemplateStatistic,
    TemplateUpdate,
)

KIND = "template"


def new_uid() -> str:
    return uuid.uuid4().hex


def check_statistics(
    statistics: list[TemplateStatistic], object_types: list[str], loc: Loc
) -> None:
    """Each statistic resolves to a definition measuring one of the template's object types,
    and appears once."""
    seen: set[str] = set()
    for index, statistic in enumerate(statistics):
        where = (*loc, "statistics", index)
        definition = resolve_statistic(statistic.ref, statistic.definition, where)
        field = "ref" if statistic.ref is not None else "definition"
        if definition.object.value not in object_types:
            raise FieldError(
                (*where, field),
                f"{definition.id} measures {definition.object.value}, which is not among the "
                f"template's objectTypes ({', '.join(object_types)})",
            )
        if definition.id in seen:
            raise FieldError((*where, field), f"{definition.id} appears twice")
        seen.add(definition.id)


def _definition_document(fields: TemplateFields) -> dict[str, Any]:
    only = set(TemplateFields.model_fields)
    return fields.model_dump(mode="json", by_alias=True, exclude_none=True, include=only)


def fields_of(template: WidgetTemplate) -> TemplateFields:
    return TemplateFields.model_validate(template.definition)


def to_read(template: WidgetTemplate) -> TemplateRead:
    fields = fields_of(template)
    return TemplateRead(
        uid=template.key,
        name=template.name,
        description=template.description,
        object_types=fields.object_types,
        statistics=fields.statistics,
        default_display_type=fields.default_display_type,
        version=template.version,
        schema_version=template.schema_version,
        seed_version=template.seed_version,
        edited=template.edited,
        change_number=template.change_number,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


def to_export(template: WidgetTemplate) -> TemplateExport:
    fields = fields_of(template)
    return TemplateExport(
        schema_version=SCHEMA_VERSION,
        template=TemplateCreate(
            uid=template.key,
            name=template.name,
            description=template.description,
            object_types=fields.object_types,
            statistics=fields.statistics,
            default_display_type=fields.default_display_type,
        ),
    )


class TemplateService:
    def __init__(self, repository: TemplateRepository) -> None:
        self.repository = repository

    @property
    def tenant(self) -> TenantId:
        return self.repository.tenant

    async def get(self, uid: str) -> WidgetTemplate:
        template = await self.repository.get(uid)
        if template is None:
            raise NotFound(f"template {uid!r} does not exist in tenant {self.tenant!r}", uid=uid)
        return template

    async def _check_inline_ids(self, fields: TemplateFields, uid: str, loc: Loc) -> None:
        # The collector computes one definition per id for the whole tenant: two templates
        # may share an inline statistic only if they define it the same way.
        mine = {
            s.key: (index, s.definition)
            for index, s in enumerate(fields.statistics)
            if s.definition is not None
        }
        if not mine:
            return
        for other in await self.repository.all():
            if other.key == uid:
                continue
            for statistic in fields_of(other).statistics:
                if statistic.definition is None or statistic.key not in mine:
                    continue
                index, definition = mine[statistic.key]
                if msgspec.json.encode(definition, order="sorted") != msgspec.json.encode(
                    statistic.definition, order="sorted"
                ):
                    raise FieldError(
                        (*loc, "statistics", index, "definition", "id"),
                        f"{statistic.key} is defined differently by template {other.key!r}",
                    )

    async def _check(self, fields: TemplateFields, uid: str, loc: Loc) -> None:
        check_statistics(fields.statistics, [t.value for t in fields.object_types], loc)
        await self._check_inline_ids(fields, uid, loc)

    async def create(
        self, data: TemplateCreate, *, seed_version: int | None = None, loc: Loc = ("body",)
    ) -> WidgetTemplate:
        uid = data.uid or new_uid()
        self.repository.check_write(KIND, uid, action=WriteAction.CREATE)
        await self._check(data, uid, loc)
        template = WidgetTemplate(
            tenant_id=self.tenant,
            key=uid,
            name=data.name,
            description=data.description,
            definition=_definition_document(data),
            version=1,
            schema_version=SCHEMA_VERSION,
            seed_version=seed_version,
            edited=False,
            change_number=await next_change_number(self.repository.session, self.tenant),
        )
        if await self.repository.get(uid) is not None:
            raise Conflict(f"a template with uid {uid!r} exists already", uid=uid)
        await self.repository.add(template)
        return template

    async def update(
        self, uid: str, data: TemplateUpdate, *, if_match: str | None
    ) -> WidgetTemplate:
        template = await self.get(uid)
        self.repository.check_write(KIND, uid)
        check_preconditions(
            row_id=template.id,
            version=template.version,
            if_match=if_match,
            body_version=data.version,
        )
        current = fields_of(template)
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        fields = TemplateFields(
            object_types=data.object_types
            if data.object_types is not None
            else current.object_types,
            statistics=data.statistics if data.statistics is not None else current.statistics,
            default_display_type=data.default_display_type or current.default_display_type,
        )
        await self._check(fields, uid, ("body",))
        if data.name is not None:
            template.name = data.name
        if data.description is not None:
            template.description = data.description
        template.definition = _definition_document(fields)
        if changes:
            await self._touch(template, edited=True)
        return template

    async def replace(
        self,
        template: WidgetTemplate,
        data: TemplateCreate,
        *,
        edited: bool,
        seed_version: int | None = None,
        loc: Loc = ("body",),
    ) -> None:
        """Overwrite a template's content (import with overwrite, seeding an update)."""
        self.repository.check_write(KIND, template.key)
        await self._check(data, template.key, loc)
        template.name = data.name
        template.description = data.description
        template.definition = _definition_document(data)
        if seed_version is not None:
            template.seed_version = seed_version
        await self._touch(template, edited=edited)

    async def _touch(self, template: WidgetTemplate, *, edited: bool) -> None:
        template.version += 1
        template.schema_version = SCHEMA_VERSION
        template.edited = edited and template.seed_version is not None
        template.change_number = await next_change_number(self.repository.session, self.tenant)
        await self.repository.flush(template.key)

    async def delete(self, uid: str, *, if_match: str | None) -> None:
        template = await self.get(uid)
        self.repository.check_write(KIND, uid, action=WriteAction.DELETE)
        check_preconditions(row_id=template.id, version=template.version, if_match=if_match)
        using = await self.repository.dashboards_using(uid)
        if using:
            raise Conflict(
                f"template {uid!r} is used by widgets of the dashboards {', '.join(using[:10])}; "
                "delete or change those widgets first",
                dashboards=using[:10],
            )
        await record_deletion(self.repository.session, self.tenant, KIND, uid)
        await self.repository.delete(template)

    async def import_(
        self, document: TemplateExport, *, overwrite: bool
    ) -> tuple[WidgetTemplate, bool]:
        """Create the exported template, or with ``overwrite`` replace the one with its uid;
        returns it and whether it was created. Whether the caller may is checked first: someone
        who may not gets 403, never a conflict that tells what exists."""
        data = document.template
        loc = ("body", "template")
        self.repository.check_write(KIND, data.uid or "(new)", action=WriteAction.CREATE)
        if data.uid is not None:
            existing = await self.repository.get(data.uid)
            if existing is not None:
                if not overwrite:
                    raise Conflict(
                        f"a template with uid {data.uid!r} exists already; "
                        "import with overwrite=true to replace it",
                        uid=data.uid,
                    )
                await self.replace(existing, data, edited=True, loc=loc)
                return existing, False
        return await self.create(data, loc=loc), True
