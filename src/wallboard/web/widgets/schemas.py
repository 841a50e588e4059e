"""Request and response bodies of widgets."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from wallboard.stats.definitions import ObjectType
from wallboard.web.schemas import ApiModel, DisplayType, Name, Text, Thresholds, Uid

ObjectIdText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
StatisticKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ObjectSelection(ApiModel):
    """Objects of one type: the ``ids`` named, or the members of ``group`` (an agent group for
    agents, a queue group for queues), expanded when the widget is shown."""

    type: ObjectType
    ids: Annotated[list[ObjectIdText], Field(max_length=1000)] | None = None
    group: ObjectIdText | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ObjectSelection:
        if (self.ids is None) == (self.group is None):
            raise ValueError("give exactly one of ids or group")
        if self.group is not None and self.type not in (ObjectType.AGENT, ObjectType.QUEUE):
            raise ValueError(
                "a group selects agents (of an agent group) or queues (of a queue group)"
            )
        return self


class Position(ApiModel):
    """Place on the dashboard's grid of 24 columns."""

    x: Annotated[int, Field(ge=0, le=23)] = 0
    y: Annotated[int, Field(ge=0, le=10_000)] = 0
    w: Annotated[int, Field(ge=1, le=24)] = 6
    h: Annotated[int, Field(ge=1, le=200)] = 4

    @model_validator(mode="after")
    def _inside(self) -> Position:
        if self.x + self.w > 24:
            raise ValueError("x + w must be at most 24 (the grid's columns)")
        return self


class Sort(ApiModel):
    by: StatisticKey
    descending: bool = False


class WidgetOptions(ApiModel):
    """How the widget shows its data. ``columns`` and the keys of ``thresholds`` name statistics
    of its template (by id or alias); thresholds here override the template's."""

    columns: Annotated[list[StatisticKey], Field(max_length=100)] = Field(default_factory=list)
    sort: Sort | None = None
    thresholds: Annotated[dict[StatisticKey, Thresholds], Field(max_length=100)] = Field(
        default_factory=dict
    )
    refresh: Literal["live", "interval"] = "live"
    refresh_seconds: Annotated[int, Field(ge=1, le=3600)] | None = None
    size: Literal["small", "medium", "large", "fill"] | None = None
    text: Text | None = None
    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s]+$")] | None = (
        None
    )

    @model_validator(mode="after")
    def _refresh(self) -> WidgetOptions:
        if self.refresh == "interval" and self.refresh_seconds is None:
            raise ValueError("refresh interval needs refreshSeconds")
        return self


class WidgetCreate(ApiModel):
    """A new widget; ``uid`` is generated when not given."""

    uid: Uid | None = None
    title: Name
    template_uid: Uid | None = None
    display_type: DisplayType
    objects: Annotated[list[ObjectSelection], Field(max_length=100)] = Field(default_factory=list)
    options: WidgetOptions = WidgetOptions()
    position: Position = Position()


class WidgetUpdate(ApiModel):
    """A change to a widget: only the fields given change; ``version`` as for templates."""

    title: Name | None = None
    template_uid: Uid | None = None
    display_type: DisplayType | None = None
    objects: Annotated[list[ObjectSelection], Field(max_length=100)] | None = None
    options: WidgetOptions | None = None
    position: Position | None = None
    version: int | None = None


class WidgetRead(ApiModel):
    uid: str
    title: str
    template_uid: str | None
    display_type: DisplayType
    objects: list[ObjectSelection]
    options: WidgetOptions
    position: Position
    version: int
