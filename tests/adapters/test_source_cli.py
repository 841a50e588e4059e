"""``wallboard source asterisk-queue-log`` as a process: a followed file served on the wire."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
from pathlib import Path

import httpx
import pytest

from cli_process import assert_refused, wallboard
from wallboard.core.codec import decode, encode
from wallboard.core.events import CallQueued, Event
from wallboard.core.protocol import Hello, Subscribe, Welcome

SCENARIOS = Path(__file__).parent.parent / "fixtures" / "adapters" / "queue_log_scenarios.log"


async def _event(reader: asyncio.StreamReader) -> Event:
    while True:
        message = decode((await asyncio.wait_for(reader.readline(), 10)).rstrip(b"\n"))
        if isinstance(message, Event):
            return message


async def _follow(log: Path) -> asyncio.subprocess.Process:
    """``wallboard source asterisk-queue-log LOG`` on free ports, polling quickly."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wallboard.cli", "source", "asterisk-queue-log", str(log),
        "--tenant", "t1", "--port", "0", "--metrics-port", "0", "--poll-interval", "0.05",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _first_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), 20)).decode()


async def test_queue_log_source_serves_the_file_and_what_is_appended(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    shutil.copy(SCENARIOS, log)
    process = await _follow(log)
    try:
        line = await _first_line(process)
        wire_port, http_port = map(int, re.findall(r"127\.0\.0\.1:(\d+)", line))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            assert (await client.get("/readyz")).status_code == 200
        reader, writer = await asyncio.open_connection("127.0.0.1", wire_port)
        try:
            writer.write(encode(Hello(client="test")))
            welcome = decode((await asyncio.wait_for(reader.readline(), 10)).rstrip(b"\n"))
            assert isinstance(welcome, Welcome)
            assert welcome.seq == 43, "the file's 44 records, read before serving, are 43 events"
            writer.write(encode(Subscribe(resume_from=0)))
            seqs = [(await _event(reader)).seq for _ in range(43)]
            assert seqs == list(range(1, 44))
            with log.open("a") as appended:
                appended.write("1700000999|1700000999.1|support|NONE|ENTERQUEUE||5551999|1\n")
            live = await _event(reader)
            assert isinstance(live, CallQueued)
            assert (live.seq, live.call, live.queue) == (44, "1700000999.1", "support")
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr.decode()
    assert '"events": 44' in stderr.decode()


async def _ready(client: httpx.AsyncClient, expected: int) -> None:
    for _ in range(200):
        if (await client.get("/readyz")).status_code == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz never answered {expected}")


async def test_a_missing_queue_log_is_not_ready_and_says_why(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    process = await _follow(log)
    try:
        line = await _first_line(process)
        _, http_port = map(int, re.findall(r"127\.0\.0\.1:(\d+)", line))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            missing = await client.get("/readyz")
            assert missing.status_code == 503, missing.text
            assert "queue_log" in missing.text
            shutil.copy(SCENARIOS, log)
            await _ready(client, 200)
            log.chmod(0)
            log.rename(tmp_path / "queue_log.1")  # rotated away; the new one is unreadable
            (tmp_path / "queue_log").write_bytes(b"")
            (tmp_path / "queue_log").chmod(0)
            if os.geteuid() != 0:  # root reads anything
                await _ready(client, 503)
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr.decode()
    logged = stderr.decode()
    assert f"queue_log {log} cannot be read: No such file or directory" in logged
    assert "Traceback" not in logged


async def test_an_unusable_table_url_exits_2_at_once() -> None:
    for url in ("garbage", "postgresql+nosuchdriver://u:secret@h/db"):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wallboard.cli", "source", "asterisk-queue-log",
            "--table-url", url, "--tenant", "t1", "--port", "0", "--metrics-port", "-1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        shown = stderr.decode()
        assert process.returncode == 2, shown
        assert shown.startswith("error: --table-url"), shown
        assert "secret" not in shown
        assert "Traceback" not in shown


async def test_a_wire_port_in_use_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wallboard.cli", "source", "asterisk-queue-log",
            str(SCENARIOS), "--tenant", "t1", "--port", str(port), "--metrics-port", "-1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    shown = stderr.decode()
    assert process.returncode == 2, shown
    assert f"error: cannot serve asterisk on 127.0.0.1:{port}" in shown
    assert "Traceback" not in shown


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--poll-interval", "nan"], "--poll-interval"),
        (["--poll-interval", "-1"], "--poll-interval"),
        (["--port", "99999"], "--port"),
        (["--metrics-port", "-7"], "--metrics-port"),
    ],
)
def test_an_out_of_range_option_is_refused_by_name(options: list[str], named: str) -> None:
    result = wallboard(
        "source", "asterisk-queue-log", SCENARIOS, "--tenant", "t1", "--metrics-port", "-1",
        *options,
    )  # fmt: skip
    assert_refused(result, named)
