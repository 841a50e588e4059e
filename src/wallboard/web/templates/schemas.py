"""Request and response bodies of widget templates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from wallboard.stats.definitions import DisplayFormat, ObjectType
from wallboard.web.schemas import (
    SCHEMA_VERSION,
    ApiModel,
    DisplayType,
    Name,
    Text,
    Thresholds,
    Uid,
)

StatisticRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=100)
]
Alias = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class TemplateStatistic(ApiModel):
    """One statistic of a template: a standard one by id (``ref``), or a definition of the
    engine's model (``definition``, see docs/statistics.md), shown under ``alias`` in
    ``format`` (default: the definition's) and coloured by ``thresholds``."""

    ref: StatisticRef | None = None
    definition: dict[str, Any] | None = None
    alias: Alias = ""
    format: DisplayFormat | None = None
    thresholds: Thresholds | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TemplateStatistic:
        if (self.ref is None) == (self.definition is None):
            raise ValueError("give exactly one of ref (a standard statistic) or definition")
        return self

    @property
    def key(self) -> str:
        """The statistic's id: what widgets' columns and thresholds name."""
        if self.ref is not None:
            return self.ref
        assert self.definition is not None
        return str(self.definition.get("id", ""))


class TemplateFields(ApiModel):
    object_types: Annotated[list[ObjectType], Field(min_length=1, max_length=7)]
    statistics: Annotated[list[TemplateStatistic], Field(max_length=100)]
    default_display_type: DisplayType


class TemplateCreate(TemplateFields):
    """A new template; ``uid`` is generated when not given."""

    uid: Uid | None = None
    name: Name
    description: Text = ""


class TemplateUpdate(ApiModel):
    """A change to a template: only the fields given change. ``version``, if given, must be
    the current one (like If-Match)."""

    name: Name | None = None
    description: Text | None = None
    object_types: Annotated[list[ObjectType], Field(min_length=1, max_length=7)] | None = None
    statistics: Annotated[list[TemplateStatistic], Field(max_length=100)] | None = None
    default_display_type: DisplayType | None = None
    version: int | None = None


class TemplateRead(TemplateFields):
    uid: str
    name: str
    description: str
    version: int
    schema_version: int
    seed_version: int | None
    edited: bool
    change_number: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplateExport(ApiModel):
    """A template as portable JSON: re-importing it gives the same template."""

    schema_version: Annotated[int, Field(ge=1, le=SCHEMA_VERSION)]
    kind: Annotated[str, StringConstraints(pattern="^template$")] = "template"
    template: TemplateCreate
