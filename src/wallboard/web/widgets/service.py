"""The rules of widgets: a template that exists, objects of its types, columns and thresholds
naming its statistics; every change bumps the dashboard's change number (not its version)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.errors import Conflict, NotFound
from wallboard.db.models import Dashboard, Widget, WidgetTemplate
from wallboard.identity.limits import check_widget_limit
from wallboard.web.changes import next_change_number
from wallboard.web.deps import check_preconditions
from wallboard.web.errors import FieldError, Loc
from wallboard.web.policy import WriteAction
from wallboard.web.schemas import DATA_FREE_DISPLAY_TYPES, DisplayType
from wallboard.web.templates.repository import TemplateRepository
from wallboard.web.templates.service import fields_of
from wallboard.web.widgets.schemas import (
    ObjectSelection,
    Position,
    WidgetCreate,
    WidgetOptions,
    WidgetRead,
    WidgetUpdate,
)

KIND = "widget"
CONTENT_FIELDS = frozenset({"template_uid", "objects"})
"""What a widget shows; the other fields only say how (edit-widget-display may change those)."""

ObjectFilter = Callable[[Iterable[tuple[str, str]]], list[tuple[str, str]]]
"""The objects of those given that the reader may see, in order (the policy's
``readable_objects`` for the request's subject: ``DashboardRepository.readable_objects``)."""

GROUP_TYPES = {"agent": "agent_group", "queue": "queue_group"}
"""The type of the group a group selection names, by the type it selects."""


def every_object(objects: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The filter that hides nothing: for the write paths, which must keep what a widget names
    even when the writer may not see all of it."""
    return list(objects)


def readable_selections(items: Iterable[Any], readable: ObjectFilter) -> list[ObjectSelection]:
    """A widget's stored object selections as the reader may see them: explicit ids narrowed
    to the visible ones; a group selection kept only when the group itself is visible, else
    shown as an empty selection of its type (its name is never sent). Selections are never
    dropped: an empty list means "every object of the template's types", which would widen
    what the widget shows."""
    out = []
    for item in items:
        selection = ObjectSelection.model_validate(item)
        kind = selection.type.value
        if selection.group is not None:
            if not readable([(GROUP_TYPES[kind], selection.group)]):
                selection = ObjectSelection(type=selection.type, ids=[])
        else:
            ids = selection.ids or []
            allowed = {object_id for _, object_id in readable((kind, i) for i in ids)}
            if len(allowed) != len(set(ids)):
                selection = ObjectSelection(
                    type=selection.type, ids=[i for i in ids if i in allowed]
                )
        out.append(selection)
    return out


def hidden_selections(items: Iterable[Any], readable: ObjectFilter) -> list[ObjectSelection]:
    """What of a widget's stored selections the reader may not see: the ids not visible, and
    the groups not visible — kept when the reader changes the widget's objects, since the
    reader could not have meant to remove what they were never shown."""
    out = []
    for item in items:
        selection = ObjectSelection.model_validate(item)
        kind = selection.type.value
        if selection.group is not None:
            if not readable([(GROUP_TYPES[kind], selection.group)]):
                out.append(selection)
            continue
        ids = selection.ids or []
        allowed = {object_id for _, object_id in readable((kind, i) for i in ids)}
        hidden = [i for i in ids if i not in allowed]
        if hidden:
            out.append(ObjectSelection(type=selection.type, ids=hidden))
    return out


def to_read(widget: Widget, readable: ObjectFilter) -> WidgetRead:
    """The widget as the reader sees it (objects narrowed by ``readable``)."""
    return WidgetRead(
        uid=widget.uid,
        title=widget.title,
        template_uid=widget.template_key,
        display_type=DisplayType(widget.display_type),
        objects=readable_selections(widget.objects, readable),
        options=WidgetOptions.model_validate(widget.options),
        position=Position.model_validate(widget.position),
        version=widget.version,
    )


def to_create(widget: Widget, readable: ObjectFilter) -> WidgetCreate:
    read = to_read(widget, readable)
    return WidgetCreate.model_validate(read.model_dump(exclude={"version"}))


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


async def check_widget(
    data: WidgetCreate, templates: TemplateRepository, loc: Loc
) -> WidgetTemplate | None:
    """The widget's template, after checking the widget against it (FieldError naming the
    path otherwise)."""
    options = data.options
    if data.display_type is DisplayType.STATIC_TEXT and options.text is None:
        raise FieldError((*loc, "options", "text"), "a static_text widget needs options.text")
    if data.display_type is DisplayType.IFRAME and options.url is None:
        raise FieldError((*loc, "options", "url"), "an iframe widget needs options.url")
    if data.template_uid is None:
        if data.display_type not in DATA_FREE_DISPLAY_TYPES:
            raise FieldError(
                (*loc, "templateUid"),
                f"a {data.display_type.value} widget shows a template's statistics: name one",
            )
        return None
    template = await templates.get(data.template_uid)
    if template is None:
        raise FieldError((*loc, "templateUid"), f"template {data.template_uid!r} does not exist")
    fields = fields_of(template)
    types = {t.value for t in fields.object_types}
    for index, selection in enumerate(data.objects):
        if selection.type.value not in types:
            raise FieldError(
                (*loc, "objects", index, "type"),
                f"template {template.key!r} shows {', '.join(sorted(types))}, "
                f"not {selection.type.value}",
            )
    known = {s.key for s in fields.statistics} | {s.alias for s in fields.statistics if s.alias}
    named: list[tuple[str, str | int, str]] = [
        ("columns", index, key) for index, key in enumerate(options.columns)
    ]
    named += [("thresholds", key, key) for key in options.thresholds]
    if options.sort is not None:
        named.append(("sort", "by", options.sort.by))
    for field, where, key in named:
        if key not in known:
            raise FieldError(
                (*loc, "options", field, where),
                f"{key!r} is not a statistic of template {template.key!r}",
            )
    return template


class WidgetService:
    def __init__(
        self,
        session: AsyncSession,
        templates: TemplateRepository,
        readable: ObjectFilter = every_object,
    ) -> None:
        """``readable``: the objects the writer may see (what a change of a widget's objects
        keeps of the others: :func:`hidden_selections`)."""
        self.session = session
        self.templates = templates
        self.readable = readable

    def find(self, dashboard: Dashboard, uid: str) -> Widget:
        for widget in dashboard.widgets:
            if widget.uid == uid:
                return widget
        raise NotFound(f"widget {uid!r} does not exist on dashboard {dashboard.uid!r}", uid=uid)

    async def _touch_dashboard(self, dashboard: Dashboard) -> None:
        dashboard.change_number = await next_change_number(self.session, dashboard.tenant_id)

    async def _flush(self, uid: str) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict(f"a widget with uid {uid!r} exists already", uid=uid) from None

    def build(self, data: WidgetCreate) -> Widget:
        return Widget(
            uid=data.uid or uuid.uuid4().hex,
            title=data.title,
            template_key=data.template_uid,
            display_type=data.display_type.value,
            objects=[_dump(item) for item in data.objects],
            options=_dump(data.options),
            position=_dump(data.position),
            version=1,
        )

    async def create(
        self, dashboard: Dashboard, data: WidgetCreate, loc: Loc = ("body",)
    ) -> Widget:
        self.templates.check_write(
            KIND,
            data.uid or "(new)",
            action=WriteAction.CREATE,
            owner=dashboard.owner,
            shared=dashboard.shared,
        )
        await check_widget_limit(
            self.session, self.templates.subject, dashboard.tenant_id, len(dashboard.widgets) + 1
        )
        await check_widget(data, self.templates, loc)
        widget = self.build(data)
        if any(existing.uid == widget.uid for existing in dashboard.widgets):
            raise Conflict(f"a widget with uid {widget.uid!r} exists already", uid=widget.uid)
        dashboard.widgets.append(widget)
        await self._touch_dashboard(dashboard)
        await self._flush(widget.uid)
        return widget

    async def update(
        self, dashboard: Dashboard, uid: str, data: WidgetUpdate, *, if_match: str | None
    ) -> Widget:
        widget = self.find(dashboard, uid)
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        self.templates.check_write(
            KIND,
            uid,
            action=WriteAction.CHANGE
            if changes.keys() & CONTENT_FIELDS
            else WriteAction.CHANGE_DISPLAY,
            owner=dashboard.owner,
            shared=dashboard.shared,
        )
        check_preconditions(
            row_id=widget.id, version=widget.version, if_match=if_match, body_version=data.version
        )
        # Unfiltered: a change by someone who sees part of the objects keeps the others.
        current = to_create(widget, every_object)
        update = {k: getattr(data, k) for k in changes}
        if data.objects:  # (none: every object, the hidden ones included)
            update["objects"] = [*data.objects, *hidden_selections(widget.objects, self.readable)]
        merged = current.model_copy(update=update)
        # Re-validate the whole: a change of one field may break a rule spanning several.
        merged = WidgetCreate.model_validate(merged.model_dump())
        await check_widget(merged, self.templates, ("body",))
        fresh = self.build(merged)
        for field in ("title", "template_key", "display_type", "objects", "options", "position"):
            setattr(widget, field, getattr(fresh, field))
        if changes:
            widget.version += 1
            await self._touch_dashboard(dashboard)
        await self._flush(uid)
        return widget

    async def delete(self, dashboard: Dashboard, uid: str, *, if_match: str | None) -> None:
        widget = self.find(dashboard, uid)
        self.templates.check_write(
            KIND, uid, action=WriteAction.DELETE, owner=dashboard.owner, shared=dashboard.shared
        )
        check_preconditions(row_id=widget.id, version=widget.version, if_match=if_match)
        dashboard.widgets.remove(widget)
        await self._touch_dashboard(dashboard)
        await self.session.flush()
