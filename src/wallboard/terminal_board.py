"""A live wallboard in the terminal: queue and agent-group statistics, thresholds coloured.

It reads values from a :class:`~wallboard.stats.StatisticsEngine` and renders them with rich;
it is what ``wallboard demo`` shows until the web UI exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from wallboard.stats import StatisticsEngine, Value


@dataclass(frozen=True)
class Column:
    """One statistic shown as a column, with how to format it and when to colour it."""

    stat_id: str
    title: str
    format: str  # "integer", "time", "percent" (0-100) or "ratio" (0-1 shown as %)
    warn: float | None = None
    alarm: float | None = None
    higher_is_better: bool = False


QUEUE_COLUMNS: tuple[Column, ...] = (
    Column("queue.calls_waiting", "Wait", "integer", warn=3, alarm=6),
    Column("queue.longest_wait", "Longest", "time", warn=30_000, alarm=60_000),
    Column("queue.offered", "Offer", "integer"),
    Column("queue.answered", "Answ", "integer"),
    Column("queue.abandoned", "Aband", "integer"),
    Column("queue.abandon_rate", "Ab %", "ratio", warn=0.05, alarm=0.10),
    Column("queue.service_level", "SL20", "percent", warn=80, alarm=70, higher_is_better=True),
    Column("queue.asa", "ASA", "time", warn=20_000, alarm=40_000),
    Column("queue.average_handle_time", "AHT", "time"),
)

GROUP_COLUMNS: tuple[Column, ...] = (
    Column("group.agents_logged_in", "In", "integer"),
    Column("group.agents_ready", "Ready", "integer"),
    Column("group.agents_talking", "Talk", "integer"),
    Column("group.agents_acw", "ACW", "integer"),
    Column("group.agents_not_ready", "NR", "integer"),
    Column("group.longest_not_ready", "Max NR", "time", warn=600_000, alarm=900_000),
    Column("group.calls_handled", "Hndl", "integer"),
    Column("group.aht", "AHT", "time"),
)

BOARD_STATISTICS: tuple[tuple[str, tuple[Column, ...]], ...] = (
    ("queue", QUEUE_COLUMNS),
    ("agent_group", GROUP_COLUMNS),
)


def format_value(value: Value, fmt: str) -> str:
    """Render a value; missing is "N/A", never 0."""
    if value is None:
        return "N/A"
    if isinstance(value, dict):  # a breakdown, e.g. not-ready time by reason
        return ", ".join(f"{key} {format_value(part, fmt)}" for key, part in sorted(value.items()))
    if not isinstance(value, int | float):
        return str(value.state)
    if fmt == "time":
        seconds = round(value / 1000)
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    if fmt == "percent":
        return f"{value:.1f}%"
    if fmt == "ratio":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}"


def style_for(value: Value, column: Column) -> str:
    """Green, yellow or red by the column's thresholds; no colour without them."""
    if not isinstance(value, int | float) or column.warn is None or column.alarm is None:
        return ""
    if column.higher_is_better:
        return "red" if value < column.alarm else "yellow" if value < column.warn else "green"
    return "bold red" if value >= column.alarm else "yellow" if value >= column.warn else "green"


@dataclass(frozen=True)
class BoardObjects:
    """The objects of one tenant shown on the board."""

    tenant: str
    queues: Sequence[str]
    agent_groups: Sequence[str]


def open_board_statistics(engine: StatisticsEngine, objects: Sequence[BoardObjects]) -> None:
    """Open every statistic the board shows, so the engine computes them."""
    for tenant in objects:
        for object_type, columns in BOARD_STATISTICS:
            ids = tenant.queues if object_type == "queue" else tenant.agent_groups
            for object_id in ids:
                for column in columns:
                    engine.open(tenant.tenant, object_type, object_id, column.stat_id)


def _table(
    engine: StatisticsEngine,
    tenant: str,
    object_type: str,
    ids: Sequence[str],
    columns: Sequence[Column],
    title: str,
    now_ms: int,
) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column(object_type.replace("_", " ").title(), style="bold", no_wrap=True, min_width=8)
    for column in columns:
        # Percentages need "100.0%" whole; other columns may shrink on a narrow terminal.
        wide = 6 if column.format in ("percent", "ratio") else None
        table.add_column(column.title, justify="right", min_width=wide)
    for object_id in ids:
        cells: list[RenderableType] = [object_id]
        for column in columns:
            value = engine.value(tenant, object_type, object_id, column.stat_id, now_ms)
            cells.append(Text(format_value(value, column.format), style=style_for(value, column)))
        table.add_row(*cells)
    return table


def render_board(
    engine: StatisticsEngine, objects: Sequence[BoardObjects], now_ms: int, header: str = ""
) -> RenderableType:
    """The whole board at ``now_ms``: for each tenant, its queues and its agent groups."""
    parts: list[RenderableType] = []
    if header:
        parts.append(Text(header, style="dim"))
    for tenant in objects:
        if tenant.queues:
            parts.append(
                _table(
                    engine,
                    tenant.tenant,
                    "queue",
                    tenant.queues,
                    QUEUE_COLUMNS,
                    f"{tenant.tenant} — queues (today)",
                    now_ms,
                )
            )
        if tenant.agent_groups:
            parts.append(
                _table(
                    engine,
                    tenant.tenant,
                    "agent_group",
                    tenant.agent_groups,
                    GROUP_COLUMNS,
                    f"{tenant.tenant} — agent groups",
                    now_ms,
                )
            )
    return Group(*parts)
