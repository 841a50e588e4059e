"""``wallboard run``: a real platform's events, live, through the in-process log and the collector
into the memory store and onto the board, in one process, as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from ami_peer import next_action
from cli_process import assert_refused, wallboard
from wallboard.adapters.asterisk_ami import AmiMessage, AmiParser
from wallboard.stats import standard_library
from wallboard.stats.definitions import Category

FIXTURES = Path(__file__).parent / "fixtures" / "adapters"
SCENARIOS = FIXTURES / "queue_log_scenarios.log"
QUEUE_STATUS = FIXTURES / "panoramisk__tests__fixtures__queue_status.yaml"
"""A real Asterisk manager's answer to QueueStatus: six members of one queue, one paused."""
COUNTS = {d.id for d in standard_library() if d.category is Category.TOTAL_NUMBER}
"""Statistics that do not change as time passes (within a day): the live values must equal
an offline replay's, whenever each was read."""


class Running:
    """``wallboard run …`` as its own process, its stdout read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, *args: str | Path) -> Running:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wallboard.cli", "run", *map(str, args),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def line_starting(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), 30)
            if not raw:
                _, stderr = await self.process.communicate()
                raise AssertionError(f"no line {prefix!r}; {self.lines}; {stderr.decode()}")
            self.lines.append(raw.decode())
            if raw.decode().startswith(prefix):
                return raw.decode()

    def port(self, line: str, what: str) -> int:
        found = re.search(rf"{what} http://127\.0\.0\.1:(\d+)", line)
        assert found is not None, line
        return int(found[1])

    async def stop(self) -> tuple[str, str]:
        """SIGINT, as Ctrl-C: the process writes its last values and exits 0."""
        self.process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        shown = stderr.decode()
        assert self.process.returncode == 0, shown
        assert "Traceback" not in shown, shown
        return "".join(self.lines) + stdout.decode(), shown


async def applied_events(metrics_port: int, at_least: int) -> None:
    """Wait until the collector has applied ``at_least`` events (its own metric says so)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as client:
        for _ in range(400):
            text = (await client.get("/metrics")).text
            found = re.search(r"^wallboard_collector_events_total (\S+)$", text, re.M)
            if found and float(found[1]) >= at_least:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the collector did not apply {at_least} events:\n{text}")


def replayed(tenant: str, platform: str, file: Path, tmp_path: Path) -> dict[str, object]:
    """What ``wallboard import`` then ``wallboard stats`` make of the same file, now."""
    events = tmp_path / "events.jsonl"
    imported = wallboard("import", platform, file, "--tenant", tenant, "--out", events)
    assert imported.returncode == 0, imported.stderr
    at = str(int(time.time() * 1000))
    stats = wallboard("stats", "--events", events, "--at", at)
    assert stats.returncode == 0, stats.stderr
    result: dict[str, object] = json.loads(stats.stdout)[tenant]
    return result


def assert_same_counts(live: Mapping[str, object], offline: Mapping[str, object]) -> int:
    """Every count of the offline replay is in the live values, equal; how many were."""
    compared = 0
    for object_type, objects in offline.items():
        assert isinstance(objects, dict)
        for object_id, stats in objects.items():
            for stat_id, value in stats.items():
                if stat_id in COUNTS and value is not None:
                    got = live[object_type][object_id].get(stat_id)  # type: ignore[index]
                    assert got == value, (object_type, object_id, stat_id)
                    compared += 1
    return compared


def retimed(lines: list[str], last: int) -> list[str]:
    """queue_log lines moved in time, keeping their spacing, so the last is at ``last``."""
    shift = last - int(lines[-1].split("|", 1)[0])
    return [f"{int(line.split('|', 1)[0]) + shift}|{line.split('|', 1)[1]}" for line in lines]


async def test_a_followed_queue_log_is_computed_live_as_an_offline_replay(tmp_path: Path) -> None:
    """The recorded queue_log scenario, its first half there at start and its second half
    (with a line of garbage) appended while ``wallboard run`` follows it."""
    recorded = SCENARIOS.read_text().splitlines()
    half = len(recorded) // 2
    now = int(time.time())
    queue_log = tmp_path / "queue_log"
    queue_log.write_text("\n".join(retimed(recorded[:half], now - 5)) + "\n")
    values = tmp_path / "values.json"
    run = await Running.start(
        "--source", "asterisk-queue-log", queue_log, "--tenant", "site",
        "--poll-interval", "0.05", "--metrics-port", "0",
        "--once", "--values", values,
    )  # fmt: skip
    try:
        metrics = run.port(await run.line_starting("running "), "metrics")
        caught_up = await run.line_starting("caught up: ")
        backlog = int(re.findall(r"\d+", caught_up)[0])
        assert backlog > 10
        await applied_events(metrics, backlog)
        with queue_log.open("a") as appended:
            # Live lines carry the second they are written in, as Asterisk writes them.
            written = int(time.time())
            later = [f"{written}|{line.split('|', 1)[1]}" for line in recorded[half:]]
            appended.write("this is no queue_log line\n")
            appended.write("\n".join(later) + "\n")
        total = backlog + len(later)  # each line of the second half is at least one event
        await applied_events(metrics, total - 5)
        await asyncio.sleep(4.5)  # the lateness (3 s for queue_log's whole seconds), a flush
    finally:
        board, summary = await run.stop()
    live = json.loads(values.read_bytes())["site"]
    offline = replayed("site", "asterisk-queue-log", queue_log, tmp_path)
    assert assert_same_counts(live, offline) > 50
    queues = offline["queue"]
    assert isinstance(queues, dict)
    support = queues["support"]
    assert support["queue.offered"] > 3
    cells = next(c for line in board.splitlines() if "support" in (c := line.split())[:2])
    _wait, _longest, offered, answered = cells[cells.index("support") + 1 :][:4]
    assert (int(offered), int(answered)) == (support["queue.offered"], support["queue.answered"])
    counted = json.loads(summary.strip().splitlines()[-1])
    assert sum(counted["bad"].values()) == 1, counted
    assert counted["anomalies"] == {"site": {}}, "nothing came too late or twice"


def taskrouter(event_type: str, ts_ms: int, **fields: str) -> dict[str, str]:
    return {
        "EventType": event_type,
        "Sid": f"EV{ts_ms}{event_type}{fields.get('TaskSid', '')}",
        "Timestamp": str(ts_ms // 1000),
        "TimestampMs": str(ts_ms),
        "AccountSid": "AC1",
        "WorkspaceSid": "WS1",
        **fields,
    }


async def test_twilio_callbacks_posted_over_http_are_computed_live(tmp_path: Path) -> None:
    values = tmp_path / "values.json"
    run = await Running.start(
        "--source", "twilio", "--tenant", "cloud", "--insecure-no-auth", "--http-port", "0",
        "--metrics-port", "0", "--lateness", "2", "--once", "--values", values,
    )  # fmt: skip
    voice = {"TaskChannelUniqueName": "voice", "TaskQueueName": "Support"}
    worker = {"WorkerSid": "WK1", "WorkerName": "alice"}
    start = int(time.time() * 1000)
    posts = [
        taskrouter("worker.activity.update", start, WorkerActivityName="Available", **worker),
        taskrouter("task-queue.entered", start + 10, TaskSid="WT1", **voice),
        taskrouter("reservation.created", start + 20, TaskSid="WT1", **voice, **worker),
        taskrouter("reservation.accepted", start + 30, TaskSid="WT1", **voice, **worker),
        taskrouter("task-queue.entered", start + 40, TaskSid="WT2", **voice),
        taskrouter(
            "task.canceled", start + 50, TaskSid="WT2", TaskCanceledReason="hangup", **voice
        ),
        taskrouter("task.wrapup", start + 60, TaskSid="WT1", **voice, **worker),
    ]
    try:
        line = await run.line_starting("running ")
        webhook, metrics = run.port(line, "webhook"), run.port(line, "metrics")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{webhook}") as client:
            for form in posts:
                posted = await client.post(
                    "/twilio/taskrouter/events",
                    content=urlencode(form),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                assert posted.status_code == 204, posted.text
            refused = await client.post(
                "/twilio/taskrouter/events",
                content=b"EventType=task-queue.entered&Sid=EVbad",  # no task, no time
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert refused.status_code == 204, "a bad callback is counted and skipped"
        await applied_events(metrics, 6)
        await asyncio.sleep(3.5)  # the lateness, and a flush
    finally:
        _, summary = await run.stop()
    callbacks = tmp_path / "callbacks.txt"
    callbacks.write_text("".join(urlencode(form) + "\n" for form in posts))
    live = json.loads(values.read_bytes())["cloud"]
    offline = replayed("cloud", "twilio", callbacks, tmp_path)
    assert assert_same_counts(live, offline) > 10
    support = live["queue"]["Support"]
    assert (support["queue.offered"], support["queue.answered"]) == (2, 1)
    assert support["queue.abandoned"] == 1
    counted = json.loads(summary.strip().splitlines()[-1])
    assert sum(counted["bad"].values()) == 1, counted


class RecordedAmi:
    """An Asterisk manager that greets, accepts the login and answers QueueStatus with the
    recorded reply, then stays quiet until hung up."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = AmiParser()

        async def action() -> AmiMessage:
            return await next_action(reader, parser, self.actions)

        try:
            writer.write(b"Asterisk Call Manager/5.0.1\r\n")
            login = await action()
            accepted = (("Response", "Success"), ("ActionID", login.action_id or ""))
            writer.write(AmiMessage(accepted).to_bytes())
            status = await action()
            recorded = QUEUE_STATUS.read_text().replace(
                "action/transaction_uid/1/1", status.action_id or ""
            )
            writer.write(recorded.replace("\n", "\r\n").encode())
            await writer.drain()
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()


async def test_an_asterisk_manager_is_followed_live(tmp_path: Path) -> None:
    """The recorded QueueStatus reply: its members, logged in and ready or paused, are on the
    store as ``wallboard import`` and ``wallboard stats`` make them of the same capture."""
    peer = RecordedAmi()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    values = tmp_path / "values.json"
    try:
        run = await Running.start(
            "--source", "asterisk-ami", f"127.0.0.1:{port}", "--tenant", "pbx",
            "--username", "wallboard", "--secret", "s3cret", "--lateness", "1",
            "--metrics-port", "0", "--once", "--values", values,
        )  # fmt: skip
        metrics = run.port(await run.line_starting("running "), "metrics")
        await applied_events(metrics, 12)  # a login and a state per member
        await asyncio.sleep(2.5)  # the lateness, and a flush
        board, _ = await run.stop()
    finally:
        server.close()
    assert peer.actions[:2] == ["Login", "QueueStatus"]
    live = json.loads(values.read_bytes())["pbx"]
    offline = replayed("pbx", "asterisk-ami", QUEUE_STATUS, tmp_path)
    states = {d.id for d in standard_library() if d.category is Category.CURRENT_NUMBER}
    tenant_live, tenant_offline = live["tenant"]["pbx"], offline["tenant"]["pbx"]  # type: ignore[index]
    compared = {s: tenant_offline[s] for s in states if tenant_offline.get(s) is not None}
    assert {s: tenant_live.get(s) for s in compared} == compared
    assert (compared["tenant.agents_logged_in"], compared["tenant.agents_not_ready"]) == (6, 1)
    paused = next(line for line in board.splitlines() if "Agent/999" in line)
    assert "not_ready" in paused, board


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--source", "asterisk-queue", "--tenant", "t"], ["asterisk-queue", "asterisk-queue-log"]),
        (["--source", "asterisk-queue-log", "/no/such/queue_log", "--tenant", "t"],
         ["/no/such/queue_log"]),
        (["--source", "asterisk-ami", "pbx:99999", "--tenant", "t", "--username", "u",
          "--secret", "s"], ["pbx:99999", "HOST[:PORT]"]),
        (["--source", "asterisk-ami", "127.0.0.1:{closed}", "--tenant", "t", "--username", "u",
          "--secret", "s"], ["cannot reach asterisk-ami at 127.0.0.1:{closed}"]),
        (["--source", "freeswitch", "127.0.0.1:{closed}", "--tenant", "t", "--password", "p"],
         ["cannot reach freeswitch at 127.0.0.1:{closed}"]),
        (["--source", "asterisk-ami", "127.0.0.1", "--tenant", "t"], ["--username"]),
        (["--source", "twilio", "--tenant", "t"], ["auth"]),
        (["--source", "twilio", "--tenant", "a{b}", "--insecure-no-auth"], ["--tenant 'a{b}'"]),
        (["--source", "twilio", "--tenant", "~run", "--insecure-no-auth"], ["reserved"]),
        (["--source", "twilio", "somewhere", "--tenant", "t", "--insecure-no-auth"],
         ["HTTP"]),
    ],
)  # fmt: skip
def test_a_wrong_source_or_an_unreachable_host_exits_2_naming_it(
    args: list[str], words: list[str]
) -> None:
    closed = str(_closed_port())
    result = wallboard(
        "run",
        *(a.replace("{closed}", closed) for a in args),
        "--metrics-port",
        "-1",
        env={"AMI_SECRET": "", "ESL_PASSWORD": "", "TWILIO_AUTH_TOKEN": ""},
    )
    assert_refused(result, *(w.replace("{closed}", closed) for w in words))
