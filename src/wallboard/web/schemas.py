"""What every domain's schemas share: camelCase JSON, portable ids, pages, thresholds."""

from __future__ import annotations

import enum
import math
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from wallboard.db.models import NAME_MAX, UID_MAX

SCHEMA_VERSION = 1
"""The version of the portable JSON this code writes; documents of older versions are migrated
on load, newer ones refused."""


class ApiModel(BaseModel):
    """Base of every request and response body: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


Uid = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", min_length=1, max_length=UID_MAX),
]
"""A portable identifier a client may choose: letters, digits, ``.``, ``_`` and ``-``."""


def _printable(value: str) -> str:
    # Control characters (NUL above all, which PostgreSQL text cannot hold) and lone surrogates
    # (not encodable) have no place in a name shown on a screen.
    for char in value:
        if (ord(char) < 32 and char not in "\t\n") or 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"contains the control character U+{ord(char):04X}")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(_printable),
]
Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_printable)]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Finite = Annotated[float, AfterValidator(_finite), Field(ge=-1e15, le=1e15)]


class Thresholds(ApiModel):
    """When a value turns amber (warning) and red (critical); ``above``: higher is worse."""

    warning: Finite | None = None
    critical: Finite | None = None
    direction: Literal["above", "below"] = "above"

    @model_validator(mode="after")
    def _check_order(self) -> Thresholds:
        if self.warning is None or self.critical is None:
            return self
        worse = (
            self.critical >= self.warning
            if self.direction == "above"
            else (self.critical <= self.warning)
        )
        if not worse:
            raise ValueError(
                f"critical must be {'at or above' if self.direction == 'above' else 'at or below'}"
                " warning"
            )
        return self


T = TypeVar("T")


class Pagination(ApiModel):
    total_count: int
    max_page: int


class Page(ApiModel, Generic[T]):
    """One page of a list: its items and how many there are in all."""

    items: list[T]
    pagination: Pagination


DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_PAGE = 100_000


class DisplayType(enum.StrEnum):
    """How a widget shows its statistics."""

    KPI = "kpi"
    LIST = "list"
    GRID = "grid"
    DONUT = "donut"
    BAR = "bar"
    LINE = "line"
    ALERT_LIST = "alert_list"
    STATIC_TEXT = "static_text"
    IFRAME = "iframe"


DATA_FREE_DISPLAY_TYPES = frozenset({DisplayType.STATIC_TEXT, DisplayType.IFRAME})
"""Display types that show no statistic (no template needed)."""
