"""The demo: a well-run simulated day, computed live at its own simulated time, on a board that
opens busy and fits the terminal."""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from wallboard.cli import app
from wallboard.core.clock import FakeClock
from wallboard.demo import MORNING_HOURS, DemoRun, board_objects, run_demo
from wallboard.sim.builtin import builtin_scenario
from wallboard.stats import standard_library
from wallboard.terminal_board import (
    DIGITAL_COLUMNS,
    GROUP_COLUMNS,
    QUEUE_COLUMNS,
    Column,
    format_value,
    render_board,
    style_for,
)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
REDRAW = re.compile(r"(?:\x1b\[2K\x1b\[1A)+\x1b\[2K")
"""How rich's live display goes back up to draw the next frame."""
NEGATIVE_TIME = re.compile(r"(?:^|\s)-\d+:\d\d")
QUEUE_NAMES = ("retail", "loans", "support", "acme-chat", "acme-email", "globex-chat")


def run_in_terminal(argv: list[str], columns: int, lines: int) -> list[list[str]]:
    """Run ``wallboard`` in a pseudo-terminal of this size; the frames it drew, as lines."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        [sys.executable, "-m", "wallboard.cli", *argv],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal is gone: the process has ended
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, output.decode(errors="replace")
    frames = REDRAW.split(output.decode())
    # The last frame ends with the newline that leaves the display.
    return [ANSI.sub("", frame).rstrip("\r\n").split("\r\n") for frame in frames]


def _row(frame: list[str], section: str, name: str) -> list[str]:
    """The cells of the row naming ``name`` (after its tenant, or alone) in a section."""
    start = next(i for i, line in enumerate(frame) if line.startswith(section))
    for line in frame[start + 2 :]:
        cells = line.split()
        if name in cells[:2]:
            return cells[cells.index(name) + 1 :]
    raise AssertionError(f"no row for {name} in {section}")


def test_demo_at_60x_in_an_80x24_terminal_opens_busy_fits_and_shows_no_negative_time() -> None:
    frames = run_in_terminal(["demo", "--speed", "60", "--duration", "3"], 80, 24)
    assert len(frames) >= 2
    for frame in frames:
        assert len(frame) <= 24, "\n".join(frame)
        assert all(len(line) <= 80 for line in frame), "\n".join(frame)
        negative = [line for line in frame if NEGATIVE_TIME.search(line)]
        assert not negative, "a duration read before its events happened:\n" + "\n".join(negative)
    first = frames[0]
    board = "\n".join(first)
    assert "simulated Mon 10:00" in board, "the board opens mid-morning of the demo's day"
    for name in QUEUE_NAMES:
        assert name in board
    assert re.search(r"^Agents \(\d+ of \d+ shown", board, re.M), "what is left out is said"
    offered = int(_row(first, "Voice queues", "retail")[2].replace(",", ""))
    assert offered > 100, "the morning's calls are on the board from the first frame"
    logged_in = int(_row(first, "Agent groups", "support")[0])
    assert logged_in > 10


async def _morning() -> DemoRun:
    return await run_demo(
        clock=FakeClock(),
        console=Console(file=io.StringIO(), width=200),
        speed=600,
        duration=0,
        live=False,
    )


async def test_the_board_opens_on_the_simulated_morning() -> None:
    run = await _morning()
    scenario = builtin_scenario("demo")
    assert run.now_ms == int(scenario.start.timestamp() * 1000) + MORNING_HOURS * 3_600_000
    engine, now = run.engine, run.now_ms
    waiting_or_talking = 0
    for tenant, queue in (("acme", "retail"), ("globex", "support")):
        offered = engine.value(tenant, "queue", queue, "queue.offered", now)
        assert isinstance(offered, int)
        assert offered > 100
    for tenant, group in (("acme", "retail"), ("globex", "support")):
        talking = engine.value(tenant, "agent_group", group, "group.agents_talking", now)
        assert isinstance(talking, int)
        waiting_or_talking += talking
    assert waiting_or_talking > 5


async def test_the_board_stops_at_the_end_of_the_simulated_day() -> None:
    """The simulator has no next day's shifts: past the day, calls would come to no agent."""
    clock = FakeClock()
    out = io.StringIO()
    demo = asyncio.create_task(
        run_demo(
            clock=clock,
            console=Console(file=out, width=120),
            speed=3600,
            duration=15,
            live=False,
        )
    )
    for _ in range(15):
        await asyncio.sleep(0)
        await clock.advance(1)
    run = await demo
    scenario = builtin_scenario("demo")
    closing = dt.datetime(2026, 1, 5, 21, 30, tzinfo=dt.UTC)
    assert scenario.start.hour == 7
    assert run.now_ms == int(closing.timestamp() * 1000)
    assert "simulated Mon 21:30:00 UTC, the day is over" in out.getvalue()
    logged_in = run.engine.value(
        "acme", "agent_group", "retail", "group.agents_logged_in", run.now_ms
    )
    assert logged_in == 0
    offered = run.engine.value("acme", "queue", "retail", "queue.offered", run.now_ms)
    assert isinstance(offered, int)
    assert offered > 1000


def _lines(renderable: object, width: int, height: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, height=height, color_system=None).print(renderable)
    return out.getvalue().splitlines()


async def test_the_board_fits_80x24_and_says_what_it_left_out() -> None:
    run = await _morning()
    objects = board_objects(builtin_scenario("demo"))
    lines = _lines(render_board(run.engine, objects, run.now_ms, "header", height=24), 80, 24)
    board = "\n".join(lines)
    assert len(lines) <= 24
    assert all(len(line) <= 80 for line in lines)
    for name in (*QUEUE_NAMES, "digital", "chat"):
        assert name in board
    for title in ("SL20", "SL60", "Max NR", "Agent", "State", "Reason", "Time"):
        assert title in board
    shown = re.search(r"Agents \((\d+) of (\d+) shown", board)
    assert shown is not None, board
    assert 0 < int(shown[1]) < int(shown[2])
    assert "not_ready" in board or "talking" in board


async def test_a_larger_terminal_shows_everything_and_a_smaller_one_says_what_is_missing() -> None:
    run = await _morning()
    objects = board_objects(builtin_scenario("demo"))
    agents = sum(len(t.agents) for t in objects)
    big = "\n".join(
        _lines(render_board(run.engine, objects, run.now_ms, width=160, height=70), 160, 70)
    )
    assert "not shown" not in big
    assert " shown" not in big.split("Agents", 1)[1].split("\n")[0]
    assert "AHT" in big
    assert "ASA" in big
    logged_in = sum(
        1
        for line in big.splitlines()
        for word in line.split()
        if re.fullmatch(r"(retail|loans|digital|support|chat)-\d{3}", word)
    )
    logged_out = int(re.search(r"(\d+) logged out", big)[1])  # type: ignore[index]
    assert logged_in + logged_out == agents
    small = _lines(render_board(run.engine, objects, run.now_ms, width=56, height=14), 56, 14)
    text = "\n".join(small)
    assert len(small) <= 14
    assert all(len(line) <= 56 for line in small)
    assert "not shown: " in text, "narrow: the columns left out are named"
    assert text.splitlines()[-1].startswith("Too small to show: ")
    assert "agents" in small[-1]
    tiny = _lines(render_board(run.engine, objects, run.now_ms, "header", height=1), 80, 1)
    assert len(tiny) == 1
    assert tiny[0].startswith("Too small to show: voice queues")


def test_the_demo_day_is_a_well_run_center_with_a_busy_spell(tmp_path: Path) -> None:
    """A whole simulated day, replayed by ``wallboard stats`` as a user would check it."""
    runner = CliRunner()
    simulated = runner.invoke(
        app,
        ["simulate", "--scenario", "demo", "--seed", "1", "--hours", "24", "--out", str(tmp_path)],
    )
    assert simulated.exit_code == 0, simulated.output
    replayed = runner.invoke(app, ["stats", "--events", str(tmp_path / "events.jsonl")])
    assert replayed.exit_code == 0, replayed.output
    values = json.loads(replayed.stdout)
    offered = abandoned = 0
    for tenant, queue in (("acme", "retail"), ("acme", "loans"), ("globex", "support")):
        stats = values[tenant]["queue"][queue]
        offered += stats["queue.offered"]
        abandoned += stats["queue.abandoned"]
        assert 80 <= stats["queue.service_level"] <= 99, (queue, stats["queue.service_level"])
        assert stats["queue.abandoned"] <= 0.05 * stats["queue.offered"], queue
    assert 0.002 <= abandoned / offered <= 0.04, "some callers give up, not one in five"
    for tenant, queue in (("acme", "acme-chat"), ("globex", "globex-chat")):
        stats = values[tenant]["queue"][queue]
        assert stats["queue.chats_abandoned"] <= 0.1 * stats["queue.chats_entered"], queue
        assert 70 <= stats["queue.chat_service_level"] <= 99, queue
    email = values["acme"]["queue"]["acme-email"]
    assert email["queue.emails_entered"] > 100
    assert email["queue.emails_handled"] == email["queue.emails_entered"], "every email answered"


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (None, "integer", "N/A"),
        (0, "integer", "0"),
        (12_345, "integer", "12,345"),
        (65_400, "time", "1:05"),
        (3_725_000, "time", "1:02:05"),
        (87.46, "percent", "87.5%"),
        (6.25, "percent", "6.2%"),
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


def test_board_columns_show_each_statistic_in_its_own_unit() -> None:
    # Every percentage the engine gives is 0-100: the board formats a column as the standard
    # library says, and colours by thresholds on that scale.
    library = standard_library()
    for column in (*QUEUE_COLUMNS, *DIGITAL_COLUMNS, *GROUP_COLUMNS):
        stat_ids = [column.stat_id] if isinstance(column.stat_id, str) else column.stat_id.values()
        for stat_id in stat_ids:
            assert column.format == library[stat_id].format.value, stat_id
        if column.format == "percent" and column.warn is not None:
            assert column.warn > 1, column.stat_id
