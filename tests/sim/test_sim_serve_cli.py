"""``wallboard simulate --serve`` as a process: four wire sources plus health and metrics."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import httpx

from wallboard.core.codec import decode, encode
from wallboard.core.events import Event
from wallboard.core.protocol import Hello, Subscribe, Welcome

PORT_VARIABLES = (
    "WALLBOARD_METRICS_PORT",
    "WALLBOARD_VOICE_PORT",
    "WALLBOARD_VOICE_VQ_PORT",
    "WALLBOARD_INTERACTIONS_PORT",
    "WALLBOARD_INTERACTIONS_VQ_PORT",
)


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), 20)).decode()


async def test_serve_publishes_sources_and_reports_ready() -> None:
    env = {**os.environ, **dict.fromkeys(PORT_VARIABLES, "0")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallboard.cli",
        "simulate",
        "--serve",
        "--speed",
        "300",
        "--hours",
        "1",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        metrics_port = int(re.findall(r":(\d+)", await _line(process))[-1])
        sources = dict(re.findall(r"([a-z-]+) on 127\.0\.0\.1:(\d+)", await _line(process)))
        assert set(sources) == {"voice", "voice-vq", "interactions", "interactions-vq"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
        reader, writer = await asyncio.open_connection("127.0.0.1", int(sources["voice"]))
        try:
            writer.write(encode(Hello(client="test")))
            welcome = decode((await asyncio.wait_for(reader.readline(), 10)).rstrip(b"\n"))
            assert isinstance(welcome, Welcome)
            assert welcome.source == "voice"
            writer.write(encode(Subscribe(resume_from=0)))
            seqs: list[int] = []
            while len(seqs) < 20:
                message = decode((await asyncio.wait_for(reader.readline(), 10)).rstrip(b"\n"))
                if isinstance(message, Event):
                    assert message.source == "voice"
                    seqs.append(message.seq)
            assert seqs == list(range(1, 21)), "a resume from 0 replays from the first event"
        finally:
            writer.close()
            await writer.wait_closed()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as client:
            metrics = (await client.get("/metrics")).text
            assert "wallboard_wire_events_published_total" in metrics
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 20) in (0, -15)
