"""Request and response bodies of dashboards, their export and each user's launched ones."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, JsonValue, StringConstraints

from wallboard.db.models import DashboardKind
from wallboard.web.schemas import SCHEMA_VERSION, ApiModel, Name, Text, Uid
from wallboard.web.templates.schemas import TemplateCreate
from wallboard.web.widgets.schemas import WidgetCreate, WidgetRead


class Rotation(ApiModel):
    """A wallboard's rotation: the dashboards shown in turn, each for ``intervalSeconds``."""

    interval_seconds: Annotated[int, Field(ge=5, le=86_400)] = 30
    dashboards: Annotated[list[Uid], Field(min_length=1, max_length=50)]


Layout = Annotated[dict[str, JsonValue], Field(max_length=50)]
"""Free settings of the page kept for the UI (theme, kiosk flags); widgets' places are theirs."""


class DashboardCreate(ApiModel):
    """A new dashboard, with its widgets; ``uid`` is generated when not given."""

    uid: Uid | None = None
    name: Name
    description: Text = ""
    kind: DashboardKind = DashboardKind.DASHBOARD
    shared: bool = False
    layout: Layout = Field(default_factory=dict)
    rotation: Rotation | None = None
    widgets: Annotated[list[WidgetCreate], Field(max_length=200)] = Field(default_factory=list)


class DashboardUpdate(ApiModel):
    """A change to a dashboard's own fields (widgets have their routes); ``version`` as for
    templates. ``rotation: null`` removes the rotation."""

    name: Name | None = None
    description: Text | None = None
    kind: DashboardKind | None = None
    shared: bool | None = None
    layout: Layout | None = None
    rotation: Rotation | None = None
    version: int | None = None


class DashboardRead(ApiModel):
    uid: str
    name: str
    description: str
    kind: DashboardKind
    owner: str
    shared: bool
    layout: dict[str, JsonValue]
    rotation: Rotation | None
    widgets: list[WidgetRead]
    version: int
    schema_version: int
    change_number: int
    created_at: dt.datetime
    updated_at: dt.datetime


class DashboardExport(ApiModel):
    """A dashboard as portable JSON with the templates its widgets use: importing it into any
    tenant gives the same dashboard (database ids are that installation's own)."""

    schema_version: Annotated[int, Field(ge=1, le=SCHEMA_VERSION)]
    kind: Annotated[str, StringConstraints(pattern="^dashboard$")] = "dashboard"
    dashboard: DashboardCreate
    templates: Annotated[list[TemplateCreate], Field(max_length=200)] = Field(default_factory=list)


class Launched(ApiModel):
    """The dashboards a user has launched (open), in order."""

    dashboards: Annotated[list[Uid], Field(max_length=50)]
