"""What the collector opens, computed from the metadata: the statistics the widgets use.

The collector (its in-use set, ``wallboard.collector.inuse``) needs, per tenant, the statistics
shown and on which objects. Every widget made from a template is one :class:`Layout`: the
template's statistics, on the objects the widget names — or, for a type it selects by group or
not at all, on every object of that type (a group is expanded by the collector's configuration
once the config service exists; until then the superset is opened, which is correct, only
costlier). Creating a widget therefore opens its statistics, and deleting the last widget that
uses one closes it, as soon as the collector reloads.

To follow changes cheaply the collector polls :func:`layout_change_numbers` (one small query:
each tenant's change number, bumped by every write of its templates, dashboards and widgets)
and calls :func:`in_use_of` only when a number moved, e.g. once a second::

    seen = {}
    while True:
        async with database.sessions() as session:
            numbers = await layout_change_numbers(session)
            if numbers != seen:
                in_use = await in_use_of(session, collector_definitions)
                await collector.set_in_use(in_use)
                seen = numbers
        await asyncio.sleep(1)

Inline definitions of templates are not in the collector's definitions; :func:`definitions_of`
returns the standard library plus them, for a collector that computes them too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.collector.inuse import InUse, Layout
from wallboard.db.database import Database
from wallboard.db.models import Dashboard, Tenant, Widget, WidgetTemplate
from wallboard.stats import DefinitionSet, StatisticDefinition
from wallboard.web.statistics import merged_definitions, resolve_statistic
from wallboard.web.templates.service import fields_of
from wallboard.web.widgets.schemas import ObjectSelection
from wallboard.web.widgets.service import ObjectFilter, readable_selections

log = logging.getLogger(__name__)


async def layout_change_numbers(session: AsyncSession) -> dict[str, int]:
    """Each tenant's change number: when none moved, the layouts are what they were."""
    rows = await session.execute(sa.select(Tenant.id, Tenant.change_number))
    return {tenant: int(number) for tenant, number in rows.all()}


def _objects(selections: Iterable[ObjectSelection]) -> dict[str, frozenset[str]] | None:
    # Types given by explicit ids only are restricted; a type with a group selection stays
    # open on every object (see the module docstring). The groups themselves are named too.
    explicit: dict[str, set[str]] = {}
    open_types: set[str] = set()
    for selection in selections:
        if selection.group is not None:
            open_types.add(selection.type.value)
            group_type = "agent_group" if selection.type.value == "agent" else "queue_group"
            explicit.setdefault(group_type, set()).add(selection.group)
        else:
            explicit.setdefault(selection.type.value, set()).update(selection.ids or ())
    restricted = {t: frozenset(ids) for t, ids in explicit.items() if t not in open_types}
    return restricted or None


async def layouts_of(
    session: AsyncSession, tenant: str | None = None, readable: ObjectFilter | None = None
) -> list[Layout]:
    """One layout per widget with a template, of one tenant or of all, in a stable order.

    ``readable``: the widgets' selections as a reader sees them (the live channel's, for a
    subscriber: a forbidden group selects nothing rather than every object of its type)."""
    statement = (
        sa.select(Dashboard.tenant_id, Dashboard.uid, Widget, WidgetTemplate)
        .join(Widget, Widget.dashboard_id == Dashboard.id)
        .join(
            WidgetTemplate,
            sa.and_(
                WidgetTemplate.tenant_id == Dashboard.tenant_id,
                WidgetTemplate.key == Widget.template_key,
            ),
        )
        .order_by(Dashboard.tenant_id, Dashboard.uid, Widget.uid)
    )
    if tenant is not None:
        statement = statement.where(Dashboard.tenant_id == tenant)
    layouts = []
    for tenant_id, dashboard_uid, widget, template in (await session.execute(statement)).all():
        statistics = frozenset(s.key for s in fields_of(template).statistics)
        if not statistics:
            continue
        selections = (
            [ObjectSelection.model_validate(item) for item in widget.objects]
            if readable is None
            else readable_selections(widget.objects, readable)
        )
        layouts.append(
            Layout(
                tenant=tenant_id,
                statistics=statistics,
                objects=_objects(selections),
                name=f"{dashboard_uid}/{widget.uid}",
            )
        )
    return layouts


async def in_use_of(
    session: AsyncSession,
    definitions: DefinitionSet,
    *,
    tenant: str | None = None,
    always: tuple[str, ...] | None = None,
) -> InUse:
    """The collector's in-use set: the always-on statistics plus every widget's layout."""
    return InUse(definitions, always=always, layouts=tuple(await layouts_of(session, tenant)))


async def definitions_of(session: AsyncSession, tenant: str | None = None) -> DefinitionSet:
    """The standard library plus the inline definitions of the templates (of one tenant)."""
    statement = sa.select(WidgetTemplate).order_by(WidgetTemplate.tenant_id, WidgetTemplate.key)
    if tenant is not None:
        statement = statement.where(WidgetTemplate.tenant_id == tenant)
    inline: list[StatisticDefinition] = []
    for template in (await session.scalars(statement)).all():
        for index, statistic in enumerate(fields_of(template).statistics):
            if statistic.definition is not None:
                inline.append(resolve_statistic(None, statistic.definition, ("statistics", index)))
    return merged_definitions(inline)


class LayoutsFollower:
    """The collector's view of the layouts in the metadata database: :meth:`poll` returns the
    new in-use set when a tenant's change number moved since the last call, else None."""

    def __init__(self, database: Database, definitions: DefinitionSet) -> None:
        self._database = database
        self._definitions = definitions
        self._seen: dict[str, int] | None = None
        self.failing = False

    async def poll(self) -> InUse | None:
        """None also when the database does not answer (said once per outage): the set in
        force is kept."""
        try:
            async with self._database.sessions() as session:
                numbers = await layout_change_numbers(session)
                if numbers == self._seen:
                    changed = None
                else:
                    changed = await in_use_of(session, self._definitions)
        except Exception as exc:  # any database failure: keep what is open, try again
            if not self.failing:
                log.error("cannot read the layouts (%s); keeping the statistics open", exc)
            self.failing = True
            return None
        if self.failing:
            log.info("the layouts can be read again")
        self.failing = False
        self._seen = numbers
        return changed

    async def close(self) -> None:
        await self._database.close()
