"""The demo: a well-run simulated day, computed live at its own simulated time through the event
log, the collector and the value store, on a board that opens busy and fits the terminal."""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import io
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import httpx
import pytest
import websockets
from rich.console import Console
from typer.testing import CliRunner

from cli_process import assert_refused, wallboard
from server_process import free_port
from wallboard.cli import app
from wallboard.core.clock import FakeClock
from wallboard.core.events import Event, Media
from wallboard.demo import MORNING_HOURS, DemoRun, board_objects, object_configs, run_demo
from wallboard.eventlog.interface import StreamName
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.engine import Engine
from wallboard.sim.live import advance
from wallboard.stats import AgentStatusValue, StatisticsEngine, Value, standard_library
from wallboard.store.values import Since, TenantValues
from wallboard.terminal_board import (
    DIGITAL_COLUMNS,
    GROUP_COLUMNS,
    QUEUE_COLUMNS,
    Column,
    ValueReader,
    discovered_objects,
    engine_values,
    format_value,
    open_board_statistics,
    render_board,
    stored_values,
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


class DemoProcess:
    """``wallboard demo`` as its own process, on a port of its own, in a folder of its own."""

    def __init__(self, port: int, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "demo", "--speed", "60", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: Queue[str | None] = Queue()
        self.stdout: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._errors = threading.Thread(target=self._read_errors, daemon=True)
        self._errors.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        self.errors.extend(self.process.stderr)

    def wait_for_line(self, start: str, within: float = 60) -> str:
        deadline = time.monotonic() + within
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except Empty:
                raise AssertionError(f"no line starting {start!r}: {self.stdout}") from None
            if line is None:
                raise AssertionError(f"the demo ended: {self.stdout}")
            self.stdout.append(line)
            if line.startswith(start):
                return line

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; its exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        while (line := self.lines.get(timeout=5)) is not None:
            self.stdout.append(line)
        self._errors.join(timeout=5)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()
        return code


async def _next(ws: Any, kind: str, within: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        message: dict[str, Any] = json.loads(
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        )
        if message["type"] == kind:
            return message


async def _status_until(client: httpx.AsyncClient, done: Any, what: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(150):
        answer = await client.get("/api/v1/status")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if done(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the status never showed {what}: {body}")


def demo_logins(line: str) -> dict[str, str]:
    """The printed users and their passwords (``log in as admin / PW (administrator) or …``)."""
    return dict(re.findall(r"(\w+) / (\S+) \(", line))


async def _check_the_served_demo(base: str, password: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/api/v1/tenants/acme/dashboards")).status_code == 401
        login = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": password}
        )
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrfToken"]
        listed = await client.get("/api/v1/tenants/acme/dashboards")
        assert listed.status_code == 200, listed.text
        uids = {item["uid"] for item in listed.json()["items"]}
        assert {"demo-dashboard", "demo-wallboard"} <= uids, uids
        # The demo's users are acme's: globex is another tenant, not found.
        assert (await client.get("/api/v1/tenants/globex/dashboards")).status_code == 404

        ws_url = base.replace("http://", "ws://") + "api/v1/live"
        cookie = f"wallboard_session={client.cookies['wallboard_session']}"
        async with websockets.connect(ws_url, additional_headers={"Cookie": cookie}) as ws:
            await _next(ws, "hello")
            subscribe = {"id": 1, "type": "subscribe", "tenant": "acme"}
            await ws.send(json.dumps({**subscribe, "dashboard": "demo-dashboard"}))
            assert (await _next(ws, "result"))["ok"] is True
            snapshot = {tuple(v[:3]): v[3] for v in (await _next(ws, "snapshot"))["values"]}
            offered = snapshot.get(("queue", "retail", "queue.offered"))
            assert isinstance(offered, int), "the dashboard's widgets show the simulated queues"
            assert offered > 100, "the morning's calls are there from the start"
            assert any(key[0] == "agent" for key in snapshot), "and its agents"
            changes = await _next(ws, "changes")
            assert changes["changes"], "values move as the simulated day goes on"

        def fresh(body: dict[str, Any]) -> bool:
            sources = {s["stream"]: s for s in body["sources"]}
            return (
                bool(body["collectors"])
                and body["collectors"][0]["reporting"]
                and sources.get("voice", {}).get("newestEventMs") is not None
            )

        status = await _status_until(client, fresh, "fresh sources")
        assert status["status"] == "ok", status
        assert not [s for s in status["sources"] if s["stale"]], status
        opened = status["statisticsOpen"]
        assert opened > 0

        # A widget whose statistics no widget showed before opens them within seconds.
        created = await client.post(
            "/api/v1/tenants/acme/dashboards",
            json={
                "uid": "mail",
                "name": "Mail",
                "widgets": [
                    {
                        "title": "Email",
                        "templateUid": "email-queue-activity",
                        "displayType": "grid",
                    }
                ],
            },
        )
        assert created.status_code == 201, created.text
        await _status_until(
            client, lambda b: b["statisticsOpen"] > opened, "the new widget's statistics open"
        )
        await _check_the_demo_configuration(client)


async def _check_the_demo_configuration(client: httpx.AsyncClient) -> None:
    """The demo's configuration was imported through the config service, and is followed: an
    agent added to a team through the API is in the object search within a second."""
    config = "/api/v1/config/acme"
    access = (await client.get(f"{config}/objects", params={"type": "access_group"})).json()
    grants = {o["name"]: o["attributes"] for o in access["items"]}
    assert grants["everything"]["all_objects"] is True
    assert grants["everything"]["members"] == ["admin"]
    assert grants["floor-retail-supervisors"]["members"] == ["supervisor"]
    assert grants["floor-retail-supervisors"]["folders"] == ["floor-retail"]
    folders = (await client.get(f"{config}/objects", params={"type": "folder"})).json()
    assert [o["name"] for o in folders["items"]] == ["floor-digital", "floor-loans", "floor-retail"]
    team = await client.get(f"{config}/objects/agent_group/retail")
    assert len(team.json()["attributes"]["agents"]) == 28
    created = await client.post(
        f"{config}/objects",
        json={"type": "agent", "name": "retail-new", "folder": "floor-retail"},
    )
    assert created.status_code == 201, created.text
    agents = [*team.json()["attributes"]["agents"], "retail-new"]
    changed = await client.patch(
        f"{config}/objects/agent_group/retail",
        json={"attributes": {"agents": agents}},
        headers={"If-Match": team.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    written = time.monotonic()
    while True:
        found = await client.get(
            "/api/v1/tenants/acme/objects", params={"type": "agent", "q": "retail-new"}
        )
        if [o["configured"] for o in found.json()["items"]] == [True]:
            break
        assert time.monotonic() - written < 1.0, found.text
        await asyncio.sleep(0.05)


def test_the_demo_serves_the_web_app_with_live_values_and_fresh_sources(tmp_path: Path) -> None:
    port = free_port()
    demo = DemoProcess(port, tmp_path)
    try:
        line = demo.wait_for_line("Wallboard is running:")
        base = f"http://127.0.0.1:{port}/"
        # It opens straight into the populated demo dashboard.
        assert (
            line.strip() == f"Wallboard is running: {base}#/dashboards/demo-dashboard?tenant=acme"
        )
        logins = demo_logins(demo.wait_for_line("  log in as"))
        assert set(logins) == {"admin", "supervisor"}, logins
        asyncio.run(_check_the_served_demo(base, logins["admin"]))
        taken = wallboard("demo", "--port", str(port), cwd=tmp_path, timeout=60)
        assert_refused(taken, f"127.0.0.1:{port}", "--port")
    finally:
        code = demo.stop()
    stderr = "".join(demo.errors)
    assert code == 0, (demo.stdout, stderr)
    assert "Traceback" not in stderr, stderr
    assert demo.stdout[-1].strip() == "stopped"
    assert list(tmp_path.iterdir()) == [], "the temporary metadata database is gone"


def _row(frame: list[str], section: str, name: str) -> list[str]:
    """The cells of the row naming ``name`` (after its tenant, or alone) in a section."""
    start = next(i for i, line in enumerate(frame) if line.startswith(section))
    for line in frame[start + 2 :]:
        cells = line.split()
        if name in cells[:2]:
            return cells[cells.index(name) + 1 :]
    raise AssertionError(f"no row for {name} in {section}")


def test_demo_at_60x_in_an_80x24_terminal_opens_busy_fits_and_shows_no_negative_time() -> None:
    frames = run_in_terminal(
        ["demo", "--board", "--port", "0", "--speed", "60", "--duration", "3"], 80, 24
    )
    assert len(frames) >= 2
    printed, frames[0] = frames[0][:4], frames[0][4:]
    assert printed[0].startswith("Wallboard is running: http://127.0.0.1:"), printed
    for frame in frames:
        assert len(frame) <= 24, "\n".join(frame)
        assert all(len(line) <= 80 for line in frame), "\n".join(frame)
        negative = [line for line in frame if NEGATIVE_TIME.search(line)]
        assert not negative, "a duration read before its events happened:\n" + "\n".join(negative)
    first = frames[0]
    board = "\n".join(first)
    # The simulated day is today: the board opens at the wall clock's now, its morning done.
    opened = re.search(r"simulated \w{3} (\d\d):(\d\d)", board)
    assert opened is not None, board
    now = dt.datetime.now(dt.UTC)
    apart = (now.hour * 60 + now.minute - int(opened[1]) * 60 - int(opened[2])) % 1440
    assert min(apart, 1440 - apart) <= 3, f"the board opens at {opened[0]}, not near {now:%H:%M}"
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


def _stored(run: DemoRun) -> ValueReader:
    """The values the demo's collector wrote to the store, as the board reads them."""
    return stored_values(run.values, run.now_ms)


async def test_the_board_opens_on_the_simulated_morning() -> None:
    run = await _morning()
    scenario = builtin_scenario("demo")
    assert run.now_ms == int(scenario.start.timestamp() * 1000) + MORNING_HOURS * 3_600_000
    values = _stored(run)
    waiting_or_talking = 0
    for tenant, queue in (("acme", "retail"), ("globex", "support")):
        offered = values(tenant, "queue", queue, "queue.offered")
        assert isinstance(offered, int)
        assert offered > 100
    for tenant, group in (("acme", "retail"), ("globex", "support")):
        talking = values(tenant, "agent_group", group, "group.agents_talking")
        assert isinstance(talking, int)
        waiting_or_talking += talking
    assert waiting_or_talking > 5


RANK = {stream.value: i for i, stream in enumerate(StreamName)}


def _replayed(seed: int, now_ms: int) -> tuple[StatisticsEngine, int]:
    """The same simulated events up to ``now_ms`` straight into an engine, in the order the
    collector merges the log's streams (time, then stream); and how many there were."""
    scenario = builtin_scenario("demo")
    events: list[Event] = []
    advance(Engine(scenario, seed), now_ms, events.append)
    engine = StatisticsEngine(standard_library())
    for tenant, objects in object_configs(scenario).items():
        engine.set_objects(tenant, objects, ts_ms=0)
    open_board_statistics(engine, board_objects(scenario))
    for event in sorted(events, key=lambda e: (e.ts, RANK[e.source], e.seq)):
        engine.apply(event)
    return engine, len(events)


async def test_the_board_shows_what_the_collector_wrote_to_the_store() -> None:
    """Log → collector → store → board: the board equals one drawn from an engine fed the
    same events directly, read at the same simulated time, number for number."""
    clock = FakeClock()
    demo = asyncio.create_task(
        run_demo(
            clock=clock,
            console=Console(file=io.StringIO(), width=200),
            speed=600,
            duration=3,
            live=False,
        )
    )
    while not demo.done():  # three frames, ten simulated minutes apart
        await asyncio.sleep(0.01)
        await clock.advance(1)
    run = await demo
    engine, published = _replayed(1, run.now_ms)
    assert run.events == published
    objects = board_objects(builtin_scenario("demo"))
    from_store = _lines(render_board(_stored(run), objects, run.now_ms, width=200), 200, 500)
    direct = engine_values(engine, run.now_ms)
    from_engine = _lines(render_board(direct, objects, run.now_ms, width=200), 200, 500)
    assert from_store == from_engine
    agents = re.findall(r"\b(?:retail|loans|digital|support|chat)-\d{3}\b", "\n".join(from_store))
    assert len(agents) > 30, "the agents logged in are on the board"
    compared: list[Value] = []
    for tenant in objects:
        for queue in tenant.queues:
            for column in QUEUE_COLUMNS:
                stat = str(column.stat_id)
                stored = _stored(run)(tenant.tenant, "queue", queue, stat)
                assert stored == direct(tenant.tenant, "queue", queue, stat), (queue, stat)
                compared.append(stored)
    assert sum(1 for v in compared if v) > 12, "the values compared are not all empty"


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
    while not demo.done():
        await asyncio.sleep(0.01)
        await clock.advance(1)
    run = await demo
    scenario = builtin_scenario("demo")
    closing = dt.datetime(2026, 1, 5, 21, 30, tzinfo=dt.UTC)
    assert scenario.start.hour == 7
    assert run.now_ms == int(closing.timestamp() * 1000)
    assert "simulated Mon 21:30:00 UTC, the day is over" in out.getvalue()
    values = _stored(run)
    assert values("acme", "agent_group", "retail", "group.agents_logged_in") == 0
    offered = values("acme", "queue", "retail", "queue.offered")
    assert isinstance(offered, int)
    assert offered > 1000


def _lines(renderable: object, width: int, height: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, height=height, color_system=None).print(renderable)
    return out.getvalue().splitlines()


async def test_the_board_fits_80x24_and_says_what_it_left_out() -> None:
    run = await _morning()
    objects = board_objects(builtin_scenario("demo"))
    lines = _lines(render_board(_stored(run), objects, run.now_ms, "header", height=24), 80, 24)
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
        _lines(render_board(_stored(run), objects, run.now_ms, width=160, height=70), 160, 70)
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
    small = _lines(render_board(_stored(run), objects, run.now_ms, width=56, height=14), 56, 14)
    text = "\n".join(small)
    assert len(small) <= 14
    assert all(len(line) <= 56 for line in small)
    assert "not shown: " in text, "narrow: the columns left out are named"
    assert text.splitlines()[-1].startswith("Too small to show: ")
    assert "agents" in small[-1]
    tiny = _lines(render_board(_stored(run), objects, run.now_ms, "header", height=1), 80, 1)
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


def test_a_board_of_discovered_objects_reads_stored_values_as_the_engine_gives_them() -> None:
    """What ``wallboard run`` shows of a platform: objects found in the store's values, a
    duration kept as its start ticking to the reading time, agents all logged out."""
    logged_out = {"state": "logged_out", "reason": None, "since": 0, "media": "voice", "dnd": False}
    values: dict[str, TenantValues] = {
        "site": {
            "queue": {
                "sales": {"queue.offered": 4, "queue.longest_wait": Since(since_ms=1_000)},
                "web": {"queue.offered": 0, "queue.chats_entered": 2},
                "new": {"queue.offered": 0},
            },
            "agent": {"Agent/1001": {"agent.status": logged_out}},
        }
    }
    objects = [discovered_objects("site", values["site"])]
    assert objects[0].queues == ["new", "sales"]
    assert objects[0].digital_queues == [("web", Media.CHAT)]
    read = stored_values(values, 66_000)
    assert read("site", "queue", "sales", "queue.longest_wait") == 65_000
    assert read("site", "agent", "Agent/1001", "agent.status") == AgentStatusValue(
        state="logged_out", reason=None, since=0, media="voice", dnd=False
    )
    assert read("site", "queue", "gone", "queue.offered") is None
    board = _lines(render_board(read, objects, 66_000, "header", height=24), 80, 24)
    sales = next(line.split() for line in board if "sales" in line.split())
    assert sales[-9:-6] == ["N/A", "1:05", "4"], board
    assert any("web" in line.split()[:2] for line in board), board
