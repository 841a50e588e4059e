"""A widget's values as CSV: a header row (``type``, ``id``, then each statistic's alias), one
row per object, the same values as the JSON answer.

A cell is the value's JSON text — numbers and booleans as JSON writes them, a duration's start
as ``{"since": ms}``, status and breakdown objects as JSON — except that a string is written as
itself; a missing value is an empty cell. Text a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``: ids, aliases
and strings come from users and sources. Numbers are written as they are (a negative number is
not a formula).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from wallboard.web.values.schemas import WidgetValues

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(value: Any) -> str:
    """The CSV text of one JSON value (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return _safe(value)
    return _safe(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def values_csv(values: WidgetValues) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["type", "id", *(_safe(column.alias) for column in values.columns)])
    for row in values.rows:
        writer.writerow(
            [
                row.type.value,
                _safe(row.id),
                *(cell_text(row.values[c.statistic].value) for c in values.columns),
            ]
        )
    return out.getvalue()
