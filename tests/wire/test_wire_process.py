"""The wire settings in a serving process: ``simulate --serve`` beyond loopback, and secured."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
from pathlib import Path

from wallboard.core.codec import decode, encode
from wallboard.core.events import Event
from wallboard.core.protocol import Hello, Subscribe, Welcome
from wallboard.settings import PREFIX, Settings
from wallboard.wire.security import client_tls

FREE_PORTS = {
    PREFIX + f.name.upper(): "0" for f in dataclasses.fields(Settings) if f.name.endswith("_port")
}
"""Every port setting at 0: the process picks free ports and prints them."""
PROCESS_TIMEOUT = 60.0
TOKEN = "globex-reader-5e1f0c2d9a8b7c6d"


async def _serve(host: str, env: dict[str, str]) -> asyncio.subprocess.Process:
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
    process = await _serve("0.0.0.0", {})  # the case under test; nothing connects to it
    try:
        await _voice_port(process)
    finally:
        stderr = await _stop(process)
    assert "the voice wire server listens on 0.0.0.0 beyond loopback without TLS" in stderr
    assert "and authentication (WALLBOARD_WIRE_TOKENS_FILE)" in stderr
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
            await writer.wait_closed()
    finally:
        stderr = await _stop(process)
    assert "beyond loopback" not in stderr
