"""A webhook source run as a process (``wallboard source twilio|amazon-connect``) on loopback,
with a wire subscriber, for the process-level and fuzz tests of the HTTP endpoints."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from wallboard.core.codec import decode, encode
from wallboard.core.events import Event
from wallboard.core.protocol import Hello, Subscribe, Welcome

START_TIMEOUT = 30.0
SECRETS = ("TWILIO_AUTH_TOKEN", "FIREHOSE_ACCESS_KEY")


@dataclasses.dataclass
class Running:
    """A started source: its process, ports and (once stopped) what it wrote to stderr."""

    process: subprocess.Popen[bytes]
    wire: int
    metrics: int
    webhook: int
    stderr_path: Path
    stderr: str = ""

    def rss_bytes(self) -> int:
        """The process's resident memory now."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert match is not None
        return int(match.group(1)) * 1024

    def summary(self) -> dict[str, object]:
        """The translation summary the process printed on stderr when it stopped."""
        lines = [text for text in self.stderr.splitlines() if text.startswith('{"seq"')]
        assert lines, self.stderr[-2000:]
        return dict(json.loads(lines[-1]))


def environment(**secrets: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(secrets)
    return env


def command(platform: str, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "wallboard.cli", "source", platform, "--tenant", "t1",
        "--port", "0", "--http-port", "0", "--metrics-port", "0", *args,
    ]  # fmt: skip


@contextmanager
def webhook_source(platform: str, *args: str, tmp_path: Path, **secrets: str) -> Iterator[Running]:
    """Start the source, yield once it serves; stop it with SIGTERM and keep its stderr."""
    stderr_path = tmp_path / f"{platform}-{time.monotonic_ns()}.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command(platform, *args),
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=environment(**secrets),
        )
    running: Running | None = None
    try:
        assert process.stdout is not None
        line = _first_line(process.stdout)
        ports = dict(re.findall(r"(wire|http|webhook) 127\.0\.0\.1:(\d+)", line))
        assert set(ports) == {"wire", "http", "webhook"}, (line, stderr_path.read_text())
        running = Running(
            process, int(ports["wire"]), int(ports["http"]), int(ports["webhook"]), stderr_path
        )
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()
    assert running is not None
    running.stderr = stderr_path.read_text()
    assert process.returncode == 0, running.stderr[-3000:]


def _first_line(stdout: IO[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    os.set_blocking(stdout.fileno(), False)
    buffered = b""
    while b"\n" not in buffered:
        if time.monotonic() > deadline:
            raise AssertionError(f"the source did not start: {buffered!r}")
        chunk = stdout.read()
        if chunk:
            buffered += chunk
        else:
            time.sleep(0.02)
    return buffered.decode()


class WireSubscriber:
    """A wire client on a plain socket: subscribes from now, collects the events that come."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.socket.makefile("rb")
        self.socket.sendall(encode(Hello(client="test")))
        welcome = decode(self.file.readline().rstrip(b"\n"))
        assert isinstance(welcome, Welcome)
        self.socket.sendall(encode(Subscribe(resume_from=welcome.seq)))
        self.events: list[Event] = []

    def collect(self, quiet: float = 0.5) -> list[Event]:
        """Every event that arrives until the server has been quiet for ``quiet`` seconds."""
        self.socket.settimeout(quiet)
        try:
            while True:
                raw = self.file.readline()
                if not raw:
                    break
                message = decode(raw.rstrip(b"\n"))
                if isinstance(message, Event):
                    self.events.append(message)
        except TimeoutError:
            pass
        return self.events

    def close(self) -> None:
        self.file.close()
        self.socket.close()


def contact_event(event_type: str, contact: str, **detail: object) -> dict[str, object]:
    """An EventBridge Amazon Connect contact event of a voice contact."""
    return {
        "id": f"{contact}-{event_type}",
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "time": "2021-08-04T17:43:48Z",
        "detail": {"eventType": event_type, "contactId": contact, "channel": "VOICE", **detail},
    }


QUEUE_INFO = {
    "queueArn": "arn:aws:connect:eu-west-1:1:instance/i/queue/q-support",
    "enqueueTimestamp": "2021-08-04T17:43:48.000Z",
}


def queued(contact: str) -> bytes:
    """The data of one record: a call of ``contact`` queued."""
    return json.dumps(contact_event("QUEUED", contact, queueInfo=QUEUE_INFO)).encode()


def delivery(request_id: str, data: list[bytes]) -> bytes:
    """A Firehose delivery request of the records ``data``."""
    return json.dumps(
        {
            "requestId": request_id,
            "timestamp": 1_700_000_000_000,
            "records": [{"data": base64.b64encode(d).decode()} for d in data],
        }
    ).encode()


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 5.0) -> bytes:
    """Send ``head`` and ``body`` on a fresh connection and return the status line the server
    answers, which must come within ``timeout`` seconds whether or not the body is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0]
