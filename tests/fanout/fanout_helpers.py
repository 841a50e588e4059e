"""Helpers of the fanout tests: a deterministic source, the fanout, a NATS server of our own."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from wallboard.core.codec import decode_event
from wallboard.eventlog.interface import HEARTBEAT_TENANT, StreamName
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings

SOURCE = Path(__file__).with_name("source_process.py")
WAIT = 60.0  # a loaded 2-core machine starts a Python process slowly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Processes:
    """Every process a test starts, killed at its end; each writes its stderr to a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.tmp_path / f"{name}.err").open("ab") as err:
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(proc)
        return proc

    def stderr(self, name: str) -> str:
        return (self.tmp_path / f"{name}.err").read_text()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


class Site:
    """A stream prefix of this test's own on a NATS server, the source and the fanout."""

    def __init__(self, nats_url: str, processes: Processes) -> None:
        self.nats_url = nats_url
        self.prefix = f"wbfan{uuid.uuid4().hex[:8]}"
        self.processes = processes
        self.source_port = free_port()
        self.fanout_port = free_port()
        self.metrics_port = free_port()
        self.t0 = int(time.time() * 1000)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
        env.update(
            WALLBOARD_NATS_URL=self.nats_url,
            WALLBOARD_LOG_PREFIX=self.prefix,
            WALLBOARD_LOG_MAX_BYTES=str(64 * 1024**2),
            WALLBOARD_LOG_LEVEL="info",
            WALLBOARD_HEARTBEAT_SECONDS="2",
            WALLBOARD_FANOUT_RETRY_MAX_SECONDS="0.5",
        )
        env.update(extra)
        return env

    def start_source(self, *, rate: float, count: int, payload: int = 0) -> subprocess.Popen[bytes]:
        args = [sys.executable, str(SOURCE), "--port", str(self.source_port)]
        args += ["--t0", str(self.t0), "--rate", str(rate), "--count", str(count)]
        args += ["--payload", str(payload)]
        return self.processes.start("source", args, self.env())

    def start_fanout(self, **env: str) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "wallboard.cli", "serve", "fanout", "--source", "voice"]
        args += ["--upstream", f"127.0.0.1:{self.source_port}", "--port", str(self.fanout_port)]
        args += ["--metrics-port", str(self.metrics_port)]
        return self.processes.start("fanout", args, self.env(**env))

    async def wait_listening(self, port: int, proc: subprocess.Popen[bytes], name: str) -> None:
        deadline = time.monotonic() + WAIT
        while not await asyncio.to_thread(listening, port):
            assert proc.poll() is None, self.processes.stderr(name)[-3000:]
            assert time.monotonic() < deadline, f"{name} does not listen on {port}"
            await asyncio.sleep(0.05)

    async def log(self) -> JetStreamEventLog:
        return await JetStreamEventLog.connect(
            JetStreamSettings(url=self.nats_url, prefix=self.prefix, max_bytes=64 * 1024**2)
        )

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the fanout's /metrics (0 when absent)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics") as answer:
            text = answer.read().decode()
        wanted = name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else ""
        )
        for line in text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
        return 0.0

    def ready(self) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/readyz") as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


async def logged_events(log: JetStreamEventLog) -> list[tuple[int, str]]:
    """Every record of the voice stream as (upstream seq, event id), in log order."""
    out: list[tuple[int, str]] = []
    after = 0
    while True:
        records = await log.read(StreamName.VOICE, after=after, limit=5000)
        if not records:
            return out
        for record in records:
            if record.tenant == HEARTBEAT_TENANT:
                continue
            event = decode_event(record.data)
            out.append((event.seq, event.id))
        after = records[-1].seq


async def wait_logged(log: JetStreamEventLog, count: int, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while (last := await log.last_seq(StreamName.VOICE)) < count:
        assert time.monotonic() < deadline, f"{what}: the log holds {last} of {count}"
        await asyncio.sleep(0.05)


class NatsServer:
    """A nats-server of this test's own, which it may stop and start again (same store)."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.store = tmp_path / "nats"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            pytest.skip("nats-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT
        while not listening(self.port):
            assert self.proc.poll() is None, "nats-server exited"
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
