"""A widget's data read from the value store: which objects and statistics it shows (its
template's statistics on its objects, groups expanded with the object configuration), their
current values with freshness, and their interval history.

Everything read goes through the policy: the dashboard and the template through their readable
queries (anything unreadable is 404), the objects through ``readable_objects``.

Freshness. The store keeps no write time per value, only per batch: ``writtenAt`` is when the
collector wrote the version read (it writes only what changed, so an unchanged value is as
current as that batch). Whether a value may be behind is what the collector says of its source
streams: ``source.stale`` on object ``source/<stream>`` while a stream's values are not current
(``Collector.stale``). A statistic is fed by the streams of its media (voice: ``voice`` and
``voice-vq``; chat, email and work items: ``interactions`` and ``interactions-vq``; no media
filter: all four), so a cell is stale while one of those is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.clock import Clock
from wallboard.core.errors import NotFound, ResumeGap
from wallboard.core.events import Media
from wallboard.core.ids import TenantId
from wallboard.db.models import Widget
from wallboard.eventlog.interface import StreamName
from wallboard.live.hub import SOURCE_TYPE
from wallboard.stats.definitions import DisplayFormat, ObjectType, StatisticDefinition
from wallboard.stats.state import ObjectConfig
from wallboard.store.interface import ValueStore
from wallboard.store.values import ObjectValues, Value
from wallboard.web.dashboards.repository import DashboardRepository
from wallboard.web.errors import FieldError
from wallboard.web.objects.config import group_members
from wallboard.web.policy import AccessPolicy, Subject
from wallboard.web.statistics import standard_definitions
from wallboard.web.templates.repository import TemplateRepository
from wallboard.web.templates.schemas import TemplateStatistic
from wallboard.web.templates.service import fields_of
from wallboard.web.values.schemas import (
    Cell,
    Column,
    GroupSelection,
    Point,
    Row,
    Series,
    SourceState,
    WidgetHistory,
    WidgetValues,
)
from wallboard.web.widgets.schemas import ObjectSelection
from wallboard.web.widgets.service import readable_selections

STALE_STATISTIC = "source.stale"
ALL_STREAMS = frozenset(stream.value for stream in StreamName)
_STREAMS_OF_MEDIA = {
    Media.VOICE: frozenset({StreamName.VOICE.value, StreamName.VOICE_VQ.value}),
    Media.CHAT: frozenset({StreamName.INTERACTIONS.value, StreamName.INTERACTIONS_VQ.value}),
    Media.EMAIL: frozenset({StreamName.INTERACTIONS.value, StreamName.INTERACTIONS_VQ.value}),
    Media.WORKITEM: frozenset({StreamName.INTERACTIONS.value, StreamName.INTERACTIONS_VQ.value}),
}

MAX_SERIES = 2_000
"""Series (object and statistic pairs) one history request may read."""

CONCURRENT_READS = 16
"""Store reads of one request in flight at once (each may hold a Redis connection)."""

R = TypeVar("R")


async def gather_bounded(work: Iterable[Awaitable[R]], limit: int = CONCURRENT_READS) -> list[R]:
    """Await every item, at most ``limit`` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[R]) -> R:
        async with gate:
            return await item

    return list(await asyncio.gather(*(one(item) for item in work)))


@dataclasses.dataclass(frozen=True)
class Statistic:
    column: Column
    streams: frozenset[str]


@dataclasses.dataclass
class WidgetData:
    """What a widget shows: its statistics on its objects (``open_types``: types it shows
    every object of, known from the store's snapshot)."""

    dashboard: str
    widget: str
    template_uid: str | None
    statistics: list[Statistic]
    objects: list[tuple[str, str]]
    open_types: list[str]
    unexpanded: list[GroupSelection]


def to_json(value: Value) -> Any:
    """A stored value as the live channel sends it (``Since`` as ``{"since": ms}``)."""
    return msgspec.to_builtins(value)


def _definition(statistic: TemplateStatistic) -> StatisticDefinition | None:
    if statistic.ref is not None:
        return standard_definitions().by_id.get(statistic.ref)
    try:
        return msgspec.convert(statistic.definition, type=StatisticDefinition, strict=False)
    except msgspec.ValidationError:
        return None  # checked when the template was saved; read conservatively if not


def _statistic(statistic: TemplateStatistic) -> Statistic:
    definition = _definition(statistic)
    media = definition.filter.media if definition is not None else ()
    streams = frozenset().union(*(_STREAMS_OF_MEDIA[m] for m in media)) if media else ALL_STREAMS
    fmt = statistic.format or (definition.format if definition else DisplayFormat.NUMBER)
    return Statistic(
        Column(statistic=statistic.key, alias=statistic.alias or statistic.key, format=fmt),
        streams,
    )


def _selected(
    selections: Iterable[ObjectSelection], types: Sequence[str], config: ObjectConfig | None
) -> tuple[list[tuple[str, str]], list[str], list[GroupSelection]]:
    """The objects named (groups expanded), the types shown whole (no selection: every object
    of the template's types, as the collector opens them), the groups that cannot be expanded."""
    objects: dict[tuple[str, str], None] = {}
    unexpanded = []
    chosen = list(selections)
    for selection in chosen:
        kind = selection.type.value
        if selection.group is None:
            objects.update(((kind, object_id), None) for object_id in selection.ids or ())
            continue
        members = group_members(config, kind, selection.group)
        if members is None:
            unexpanded.append(GroupSelection(type=selection.type, group=selection.group))
        else:
            objects.update(((kind, member), None) for member in members)
    open_types = [] if chosen else list(types)
    return list(objects), open_types, unexpanded


async def widget_data(
    session: AsyncSession,
    policy: AccessPolicy,
    subject: Subject,
    tenant: TenantId,
    dashboard_uid: str,
    widget_uid: str,
    config: ObjectConfig | None,
) -> WidgetData:
    """The widget's statistics and objects; NotFound when the dashboard, the widget or its
    template is not there or not readable."""
    dashboard = await DashboardRepository(session, policy, subject, tenant).get(dashboard_uid)
    if dashboard is None:
        raise NotFound(f"dashboard {dashboard_uid!r} does not exist", uid=dashboard_uid)
    widget: Widget | None = next((w for w in dashboard.widgets if w.uid == widget_uid), None)
    if widget is None:
        raise NotFound(
            f"widget {widget_uid!r} does not exist on dashboard {dashboard_uid!r}", uid=widget_uid
        )
    data = WidgetData(dashboard.uid, widget.uid, widget.template_key, [], [], [], [])
    if widget.template_key is None:
        return data  # static text or iframe: no statistics
    template = await TemplateRepository(session, policy, subject, tenant).get(widget.template_key)
    if template is None:
        raise NotFound(
            f"template {widget.template_key!r} of widget {widget_uid!r} does not exist",
            uid=widget.template_key,
        )
    fields = fields_of(template)
    data.statistics = [_statistic(statistic) for statistic in fields.statistics]
    # A group the subject may not see is not expanded (nor named in ``unexpanded``).
    selections = readable_selections(
        widget.objects, lambda objects: policy.readable_objects(subject, tenant, objects)
    )
    data.objects, data.open_types, data.unexpanded = _selected(
        selections, [t.value for t in fields.object_types], config
    )
    return data


def _stale_sources(sources: Mapping[str, ObjectValues]) -> list[SourceState]:
    out = []
    for stream, values in sorted(sources.items()):
        raw = to_json(values.get(STALE_STATISTIC))
        if raw is None:
            continue
        since = raw.get("since") if isinstance(raw, dict) else None
        reason = raw.get("reason") if isinstance(raw, dict) else None
        out.append(
            SourceState(
                stream=stream,
                since=since if isinstance(since, int) else None,
                reason=str(reason) if reason is not None else "stale",
            )
        )
    return out


async def _written_ms(store: ValueStore, tenant: TenantId, version: int) -> int | None:
    """When the batch of ``version`` was written (None: no batch yet, or no longer kept)."""
    if version <= 0:
        return None
    try:
        batches = await store.changes_since(tenant, version - 1, limit=1)
    except ResumeGap:
        return None
    return batches[0].written_ms if batches and batches[0].version == version else None


async def read_values(
    store: ValueStore,
    data: WidgetData,
    tenant: TenantId,
    policy: AccessPolicy,
    subject: Subject,
    clock: Clock,
) -> WidgetValues:
    """The widget's values now: a row per object the subject may see, a cell per statistic."""
    read_at = clock.now_ms()
    objects = list(data.objects)
    by_object: dict[tuple[str, str], ObjectValues] = {}
    if data.open_types:
        snapshot = await store.snapshot(tenant)
        version = snapshot.version
        for object_type in data.open_types:
            for object_id, values in sorted(snapshot.values.get(object_type, {}).items()):
                objects.append((object_type, object_id))
                by_object[(object_type, object_id)] = values
    else:
        # The version first: the values read after it are at least as new.
        version = await store.current_version(tenant)
    objects = policy.readable_objects(subject, tenant, dict.fromkeys(objects))
    missing = [key for key in objects if key not in by_object]
    streams = sorted(ALL_STREAMS)
    fetched = await gather_bounded(
        [
            *(store.get_object(tenant, kind, object_id) for kind, object_id in missing),
            *(store.get_object(tenant, SOURCE_TYPE, stream) for stream in streams),
        ]
    )
    by_object.update(zip(missing, fetched[: len(missing)], strict=True))
    stale = _stale_sources(dict(zip(streams, fetched[len(missing) :], strict=True)))
    stale_since = {source.stream: source.since for source in stale}
    rows = []
    for object_type, object_id in objects:
        values = by_object.get((object_type, object_id), {})
        cells = {}
        for statistic in data.statistics:
            feeding = [stale_since[s] for s in statistic.streams if s in stale_since]
            known = [since for since in feeding if since is not None]
            cells[statistic.column.statistic] = Cell(
                value=to_json(values.get(statistic.column.statistic)),
                stale=bool(feeding),
                stale_since=min(known) if known else None,
            )
        rows.append(Row(type=ObjectType(object_type), id=object_id, values=cells))
    return WidgetValues(
        dashboard=data.dashboard,
        widget=data.widget,
        template_uid=data.template_uid,
        version=version,
        written_at=await _written_ms(store, tenant, version),
        read_at=read_at,
        columns=[statistic.column for statistic in data.statistics],
        rows=rows,
        stale_sources=stale,
        unexpanded_groups=data.unexpanded,
    )


async def read_history(
    store: ValueStore,
    data: WidgetData,
    tenant: TenantId,
    policy: AccessPolicy,
    subject: Subject,
    *,
    start_ms: int,
    end_ms: int,
    limit: int,
    statistics: frozenset[str] | None,
) -> WidgetHistory:
    """Each (object, statistic) series' intervals starting in ``[start_ms, end_ms)``, at most
    the newest ``limit`` of each. Objects shown whole are those with current values."""
    objects = list(data.objects)
    if data.open_types:
        snapshot = await store.snapshot(tenant)
        for object_type in data.open_types:
            objects += [(object_type, i) for i in sorted(snapshot.values.get(object_type, {}))]
    objects = policy.readable_objects(subject, tenant, dict.fromkeys(objects))
    chosen = [
        s.column for s in data.statistics if statistics is None or s.column.statistic in statistics
    ]
    if statistics is not None:
        unknown = sorted(statistics - {s.column.statistic for s in data.statistics})
        if unknown:
            raise FieldError(
                ("query", "statistic"),
                f"{', '.join(unknown)}: not a statistic of the widget's template",
            )
    pairs = [(key, column) for key in objects for column in chosen]
    if len(pairs) > MAX_SERIES:
        raise FieldError(
            ("query", "statistic"),
            f"the widget has {len(pairs)} series (object and statistic pairs), more than {MAX_SERIES}: "
            "name the statistics wanted",
        )
    found = await gather_bounded(
        store.read_intervals(tenant, column.statistic, key[0], key[1], start_ms, end_ms)
        for key, column in pairs
    )
    series = [
        Series(
            type=ObjectType(key[0]),
            id=key[1],
            statistic=column.statistic,
            points=[Point(start=p.start_ms, value=to_json(p.value)) for p in points[-limit:]],
            truncated=len(points) > limit,
        )
        for (key, column), points in zip(pairs, found, strict=True)
    ]
    return WidgetHistory(
        dashboard=data.dashboard,
        widget=data.widget,
        template_uid=data.template_uid,
        from_=start_ms,
        to=end_ms,
        columns=chosen,
        series=series,
        unexpanded_groups=data.unexpanded,
    )
