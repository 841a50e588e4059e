"""Bodies of a widget's values and history.

Values are JSON as in the live channel (docs/live.md): numbers, strings, status and breakdown
objects, and ``{"since": <epoch ms>}`` for a duration that grows with the clock (the client
shows ``now - since``). A value the store does not hold is ``null`` — missing, never 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from wallboard.stats.definitions import DisplayFormat, ObjectType
from wallboard.web.schemas import ApiModel


class Column(ApiModel):
    """A statistic of the widget's template: its id, the alias it is shown under (the id when
    the template gives none) and its display format."""

    statistic: str
    alias: str
    format: DisplayFormat


class SourceState(ApiModel):
    """A source stream whose values are not current now (the collector's ``source.stale``):
    since when (epoch ms) and why."""

    stream: str
    since: int | None
    reason: str


class Cell(ApiModel):
    """One value and its freshness. ``stale``: a source stream that feeds the statistic is
    stale (``staleSince``: since when, epoch ms), so the value may be behind."""

    value: Any = None
    stale: bool = False
    stale_since: int | None = None


class Row(ApiModel):
    """One object of the widget and its values, statistic id → cell (every column present)."""

    type: ObjectType
    id: str
    values: dict[str, Cell]


class GroupSelection(ApiModel):
    type: ObjectType
    group: str


class WidgetValues(ApiModel):
    """A widget's current values.

    ``version`` is the value store's version the values are at least as new as (the live
    channel's snapshot version: a client may follow with changes above it); ``writtenAt`` is
    when the collector wrote that version (epoch ms; null when unknown), ``readAt`` when the
    server read the values. ``unexpandedGroups`` lists group selections whose members this
    server does not know (no object configuration names the group): they add no rows.
    """

    dashboard: str
    widget: str
    template_uid: str | None
    version: int
    written_at: int | None
    read_at: int
    columns: list[Column]
    rows: list[Row]
    stale_sources: list[SourceState]
    unexpanded_groups: list[GroupSelection]


class Point(ApiModel):
    """The value of one interval: ``start`` (epoch ms) and the value sampled at its end."""

    start: int
    value: Any = None


class Series(ApiModel):
    """One statistic of one object over time, oldest first; ``truncated``: more intervals
    lie in the range than the limit, and the oldest were left out."""

    type: ObjectType
    id: str
    statistic: str
    points: list[Point]
    truncated: bool


class WidgetHistory(ApiModel):
    """A widget's interval history in ``[from, to)`` (epoch ms)."""

    dashboard: str
    widget: str
    template_uid: str | None
    from_: int = Field(alias="from")
    to: int
    columns: list[Column]
    series: list[Series]
    unexpanded_groups: list[GroupSelection]
