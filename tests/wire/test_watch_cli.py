"""``wallboard watch`` as a process, against a wire server on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wire_helpers import TIMEOUT, agent_ready, call_queued

from conftest import ServerFactory
from wallboard.cli import app
from wallboard.core.codec import decode
from wallboard.settings import Settings
from wallboard.wire.cli import format_event, parse_address
from wallboard.wire.server import WireServer

Watch = asyncio.subprocess.Process

PROCESS_TIMEOUT = 60.0
"""Starting the command imports much of Wallboard: slow on a busy machine."""


async def _start(*args: str, env: dict[str, str] | None = None) -> Watch:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallboard.cli",
        "watch",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
async def processes() -> AsyncIterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), TIMEOUT)


async def _line(process: Watch) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()


async def _ended(process: Watch) -> tuple[int, str]:
    """The exit code and standard error of a watch that must end by itself."""
    assert process.stderr is not None
    stderr = await asyncio.wait_for(process.stderr.read(), PROCESS_TIMEOUT)
    code = await asyncio.wait_for(process.wait(), TIMEOUT)
    return code, stderr.decode()


async def _subscribed(server: WireServer, process: Watch, count: int = 1) -> None:
    async with asyncio.timeout(PROCESS_TIMEOUT):
        while server.subscribed_clients < count:
            assert process.returncode is None, "watch ended before it subscribed"
            await asyncio.sleep(0.05)


async def test_watch_prints_the_events_it_subscribed_to(
    make_server: ServerFactory, processes: list[Watch]
) -> None:
    server = await make_server()
    readable = await _start(f"127.0.0.1:{server.port}", "--tenant", "acme", "--type", "call.")
    as_json = await _start(f"127.0.0.1:{server.port}", "--json")
    processes += [readable, as_json]
    await _subscribed(server, readable, 2)
    events = [
        call_queued(1, tenant="acme", queue="q-sales"),
        agent_ready(2, tenant="acme"),
        call_queued(3, tenant="globex"),
        call_queued(4, tenant="acme", queue="q-support"),
    ]
    for event in events:
        server.publish(event)
    assert await _line(readable) == (
        "2023-11-14 22:13:20.001Z acme voice#1 call.queued call=c1 queue=q-sales\n"
    )
    assert await _line(readable) == format_event(events[3]) + "\n"
    for event in events:
        assert decode((await _line(as_json)).encode().rstrip(b"\n")) == event
    assert readable.stderr is not None
    announced = await asyncio.wait_for(readable.stderr.readline(), TIMEOUT)
    assert f"subscribed to test (source voice) at 127.0.0.1:{server.port}" in announced.decode()


async def test_watch_says_why_the_server_closed_the_connection(
    make_server: ServerFactory, processes: list[Watch]
) -> None:
    """A watch that sends no heartbeat in time (its heartbeat interval is far longer than the
    server's) is told dead_peer, and says so."""
    server = await make_server(settings=Settings(heartbeat_seconds=0.5))
    silent = await _start(f"127.0.0.1:{server.port}", env={"WALLBOARD_HEARTBEAT_SECONDS": "1000"})
    processes.append(silent)
    code, stderr = await _ended(silent)
    assert code == 1
    assert "error: the server closed the connection: dead_peer: nothing received" in stderr
    assert "Traceback" not in stderr

    shut = await _start(f"127.0.0.1:{server.port}")
    processes.append(shut)
    await _subscribed(server, shut)
    await server.close()
    code, stderr = await _ended(shut)
    assert code == 1
    assert "error: the server closed the connection: unavailable: the server is shutting" in stderr


async def test_watch_with_a_token_over_tls(
    make_server: ServerFactory, processes: list[Watch], tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = tls_files
    tokens = tmp_path / "tokens"
    tokens.write_text("acme-token-0123456789 acme\n")
    settings = Settings(
        wire_tls_cert=str(cert), wire_tls_key=str(key), wire_tokens_file=str(tokens)
    )
    server = await make_server(settings=settings)
    address = f"127.0.0.1:{server.port}"
    allowed = await _start(address, "--ca", str(cert), env={"WIRE_TOKEN": "acme-token-0123456789"})
    processes.append(allowed)
    await _subscribed(server, allowed)
    server.publish(agent_ready(1, tenant="globex"))
    server.publish(agent_ready(2, tenant="acme"))
    assert await _line(allowed) == format_event(agent_ready(2, tenant="acme")) + "\n"

    # Three that are refused, run at once.
    refused, no_token, untrusted = (
        await _start(
            address, "--ca", str(cert), "--tenant", "globex", "--token", "acme-token-0123456789"
        ),
        await _start(address, "--ca", str(cert)),
        await _start(address, "--tls", env={"WIRE_TOKEN": "acme-token-0123456789"}),
    )
    processes.extend((refused, no_token, untrusted))
    code, stderr = await _ended(refused)
    assert (code, stderr.strip().splitlines()[-1]) == (
        1,
        "error: the server refused: forbidden: this token does not allow tenant 'globex'",
    )
    code, stderr = await _ended(no_token)
    assert code == 1
    assert "error: the server refused: unauthenticated:" in stderr
    code, stderr = await _ended(untrusted)
    assert code == 1
    assert "is not trusted" in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["localhost"], "is not HOST:PORT"),
        (["localhost:http"], "the port is a number"),
        (["::1:8000"], "in brackets"),
        (["127.0.0.1:8000", "--ca", "/nonexistent/ca.pem"], "cannot load the CA file"),
    ],
)
def test_watch_refuses_bad_arguments(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["watch", *argv])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_watch_reports_a_server_it_cannot_reach() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        result = CliRunner().invoke(app, ["watch", f"127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: connection to 127.0.0.1:{port} failed:")
    assert isinstance(result.exception, SystemExit)


def test_parse_address() -> None:
    assert parse_address("[::1]:8000") == ("::1", 8000)
    assert parse_address("wire.example.com:7120") == ("wire.example.com", 7120)
    with pytest.raises(ValueError, match="1 to 65535"):
        parse_address("h:0")


def test_an_unknown_event_type_is_printed_with_its_fields() -> None:
    event = decode(
        b'{"type":"agent.mood","tenant":"acme","source":"voice","seq":7,"id":"v-7",'
        b'"ts":1732780901000,"agent":"a 1","mood":{"level":3}}'
    )
    assert format_event(event) == (
        "2024-11-28 08:01:41.000Z acme voice#7 agent.mood agent='a 1' mood={\"level\":3}"
    )
