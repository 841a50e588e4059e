"""The wire settings in a serving process: ``simulate --serve`` beyond loopback, and secured."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import re
import resource
import ssl
import sys
from pathlib import Path

from wallboard.core.codec import decode, encode
from wallboard.core.events import Event
from wallboard.core.protocol import Error, Hello, Subscribe, Welcome
from wallboard.settings import PREFIX, Settings
from wallboard.wire.security import client_tls

FREE_PORTS = {
    PREFIX + f.name.upper(): "0" for f in dataclasses.fields(Settings) if f.name.endswith("_port")
}
"""Every port setting at 0: the process picks free ports and prints them."""
PROCESS_TIMEOUT = 60.0
TOKEN = "globex-reader-5e1f0c2d9a8b7c6d"


def _open_files_limit(soft: int, hard: int | None) -> None:
    """Start the child with a low open-files limit (the shell's ``ulimit -Sn``/``-Hn``)."""
    if hard is None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def _serve(
    host: str, env: dict[str, str], open_files: tuple[int, int | None] | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallboard.cli",
        "simulate",
        "--serve",
        "--speed",
        "600",
        "--host",
        host,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **FREE_PORTS, **env},
        preexec_fn=None
        if open_files is None
        else functools.partial(_open_files_limit, *open_files),
    )


async def _voice_port(process: asyncio.subprocess.Process) -> int:
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), PROCESS_TIMEOUT)).decode()
        assert line, "the simulator stopped"
        if found := re.search(r"voice on [^,]*:(\d+)", line):
            return int(found.group(1))


async def _stop(process: asyncio.subprocess.Process) -> str:
    """Stop the process; its standard error."""
    if process.returncode is None:
        process.terminate()
    assert process.stderr is not None
    stderr = await asyncio.wait_for(process.stderr.read(), PROCESS_TIMEOUT)
    await asyncio.wait_for(process.wait(), PROCESS_TIMEOUT)
    return stderr.decode()


async def test_serving_beyond_loopback_without_tls_or_tokens_warns() -> None:
    # Nothing connects to it. A hard open-files limit below the cap is worth a warning too.
    process = await _serve("0.0.0.0", {}, open_files=(256, 256))
    try:
        await _voice_port(process)
    finally:
        stderr = await _stop(process)
    assert "the voice wire server listens on 0.0.0.0 beyond loopback without TLS" in stderr
    assert "and authentication (WALLBOARD_WIRE_TOKENS_FILE)" in stderr
    assert "the open-files limit (256) is below the 1000 clients" in stderr
    assert "Traceback" not in stderr


async def test_a_secured_simulator_serves_a_token_its_tenant_over_tls(
    tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = tls_files
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN} globex\n")
    env = {
        "WALLBOARD_WIRE_TLS_CERT": str(cert),
        "WALLBOARD_WIRE_TLS_KEY": str(key),
        "WALLBOARD_WIRE_TOKENS_FILE": str(tokens),
    }
    process = await _serve("127.0.0.1", env)
    try:
        port = await _voice_port(process)
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls(cert))
        try:
            writer.write(encode(Hello(client="test", token=TOKEN)))
            welcome = decode((await asyncio.wait_for(reader.readline(), 10)).rstrip(b"\n"))
            assert isinstance(welcome, Welcome)
            writer.write(encode(Subscribe(resume_from=0)))  # no tenant named: the token's
            tenants: list[str] = []
            while len(tenants) < 30:  # the demo's two tenants interleave: acme would show
                message = decode((await asyncio.wait_for(reader.readline(), 10)).rstrip(b"\n"))
                if isinstance(message, Event):
                    tenants.append(message.tenant)
            assert set(tenants) == {"globex"}
        finally:
            writer.close()
            # The server may still be sending: TLS calls data after our close_notify an error.
            with contextlib.suppress(ssl.SSLError, ConnectionError):
                await writer.wait_closed()
    finally:
        stderr = await _stop(process)
    assert "beyond loopback" not in stderr
    assert "Traceback" not in stderr


async def test_a_burst_of_connections_is_answered_in_full() -> None:
    """A burst well past the cap, on a process started with a low open-files limit: each
    connection gets a welcome or server_full at once; none waits unanswered in the queue."""
    cap, burst = 300, 900
    process = await _serve(
        "127.0.0.1",
        {"WALLBOARD_WIRE_MAX_CLIENTS": str(cap), "WALLBOARD_WIRE_BACKLOG": str(burst)},
        open_files=(256, None),  # the server raises the soft limit as far as it needs
    )
    try:
        port = await _voice_port(process)
        opened: list[asyncio.StreamWriter] = []

        async def one() -> str:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            opened.append(writer)  # held open until every answer is in
            writer.write(encode(Hello(client="burst")))
            answer = decode((await reader.readline()).rstrip(b"\n"))
            return answer.code if isinstance(answer, Error) else type(answer).__name__

        try:
            async with asyncio.timeout(PROCESS_TIMEOUT):
                answers = await asyncio.gather(*(one() for _ in range(burst)))
        finally:
            for writer in opened:
                writer.close()
        assert answers.count("Welcome") == cap
        assert answers.count("server_full") == burst - cap
    finally:
        stderr = await _stop(process)
    assert "Traceback" not in stderr
