"""The demo runs the simulated contact center through the engine and shows it on the board."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from wallboard.core.clock import SystemClock
from wallboard.demo import run_demo
from wallboard.terminal_board import QUEUE_COLUMNS, Column, format_value, style_for


async def test_demo_computes_live_statistics_and_prints_the_board() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    run = await run_demo(clock=SystemClock(), console=console, speed=600, duration=1.5, live=False)
    engine, now = run.engine, run.now_ms
    board = out.getvalue()
    for expected in ("acme — queues", "globex — agent groups", "retail", "support", "SL20"):
        assert expected in board
    assert run.events > 0
    offered = engine.value("acme", "queue", "retail", "queue.offered", now)
    assert isinstance(offered, int)
    assert offered > 0, "fifteen simulated minutes bring calls to the retail queue"
    assert f"{offered:,}" in board
    logged_in = engine.value("acme", "agent_group", "retail", "group.agents_logged_in", now)
    assert isinstance(logged_in, int)
    assert logged_in > 0


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (None, "integer", "N/A"),
        (0, "integer", "0"),
        (12_345, "integer", "12,345"),
        (65_400, "time", "1:05"),
        (3_725_000, "time", "1:02:05"),
        (87.46, "percent", "87.5%"),
        (0.0625, "ratio", "6.2%"),
    ],
)
def test_values_are_formatted_and_missing_is_not_zero(
    value: float | None, fmt: str, text: str
) -> None:
    assert format_value(value, fmt) == text


def test_thresholds_colour_values() -> None:
    waiting = QUEUE_COLUMNS[0]
    assert style_for(1, waiting) == "green"
    assert style_for(3, waiting) == "yellow"
    assert style_for(9, waiting) == "bold red"
    assert style_for(None, waiting) == ""
    service_level = Column(
        "queue.service_level", "SL", "percent", warn=80, alarm=70, higher_is_better=True
    )
    assert style_for(95.0, service_level) == "green"
    assert style_for(75.0, service_level) == "yellow"
    assert style_for(50.0, service_level) == "red"
