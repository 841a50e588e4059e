"""Fanout benchmark: one upstream source to 50 downstream wire clients on loopback.

Run: ``python bench/fanout_bench.py [--events 50000] [--clients 50] [--nats nats://127.0.0.1:4222]``.

Three processes, as in production: an upstream wire server (this script with ``--upstream``)
holding ``--events`` events, the fanout (``wallboard serve fanout``, storing into NATS JetStream
under a stream prefix of its own, deleted afterwards), and this script as the 50 clients. The
clients subscribe first; then the upstream starts and the fanout takes its whole backlog at
once, stores it and hands it on. A client counts the lines it reads without decoding them, so
the figure is the fanout's, not the clients' JSON parsing: events/s delivered to each client
and in total (one message per event per client), from the first event to any client to the
last event at the last client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

from wallboard.core.codec import encode
from wallboard.core.events import CallQueued
from wallboard.core.ids import CallId, EventId, QueueId, SourceId, TenantId
from wallboard.core.protocol import Hello, Subscribe
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a process of the benchmark (returns at once: nothing to wait for)."""
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)


async def upstream(port: int, events: int) -> None:
    """Serve ``events`` call.queued events (about 200 bytes each) from a backlog."""
    from wallboard.settings import Settings
    from wallboard.wire.server import WireServer

    server = WireServer(
        source="voice",
        settings=Settings(resume_buffer=max(events, 1)),
    )
    now = int(time.time() * 1000)
    for n in range(1, events + 1):
        server.publish(
            CallQueued(
                tenant=TenantId(f"tenant-{n % 10}"),
                source=SourceId("voice"),
                seq=n,
                id=EventId(f"v-{n}"),
                ts=now + n,
                call=CallId(f"call-{n}"),
                queue=QueueId(f"queue-{n % 500}"),
                data={"lang": "en", "segment": "gold"},
            )
        )
    await server.start("127.0.0.1", port)
    print("upstream listening", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()


async def client(port: int, events: int, first: list[float]) -> float:
    """Subscribe, count event lines until ``events`` arrived; the time the last one did."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**22)
    writer.write(encode(Hello(client="bench")) + encode(Subscribe()))
    await writer.drain()
    await reader.readline()  # welcome
    seen = 0
    while seen < events:
        chunk = await reader.read(2**20)
        if not chunk:
            raise RuntimeError(f"the fanout closed a client after {seen} events")
        if not first:
            first.append(time.perf_counter())
        seen += chunk.count(b"\n")  # event lines (a heartbeat comes only after 10 s of silence)
    writer.close()
    return time.perf_counter()


async def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(1200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the fanout exited") from None
            await asyncio.sleep(0.05)
    raise RuntimeError("the fanout did not listen")


async def bench(events: int, clients: int, nats_url: str) -> None:
    prefix = f"wbbench{uuid.uuid4().hex[:8]}"
    up_port, fan_port, metrics_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env.update(
        WALLBOARD_NATS_URL=nats_url,
        WALLBOARD_LOG_PREFIX=prefix,
        WALLBOARD_LOG_MAX_BYTES=str(256 * 1024**2),
        WALLBOARD_LOG_LEVEL="warning",
        WALLBOARD_RESUME_BUFFER=str(events),
        WALLBOARD_CLIENT_QUEUE=str(events + 10),
        WALLBOARD_FANOUT_RETRY_MAX_SECONDS="0.2",
    )
    fanout_cmd = [sys.executable, "-m", "wallboard.cli", "serve", "fanout", "--source", "voice"]
    fanout_cmd += ["--upstream", f"127.0.0.1:{up_port}", "--port", str(fan_port)]
    fanout_cmd += ["--metrics-port", str(metrics_port)]
    fanout = spawn(fanout_cmd, env)
    source: subprocess.Popen[bytes] | None = None
    try:
        await wait_port(fan_port, fanout)
        first: list[float] = []
        tasks = [asyncio.create_task(client(fan_port, events, first)) for _ in range(clients)]
        await asyncio.sleep(1.0)  # every client subscribed
        source = spawn(
            [sys.executable, __file__, "--upstream", str(up_port), "--events", str(events)], env
        )
        ends = await asyncio.gather(*tasks)
        took = max(ends) - first[0]
        print(f"fanout: {events} events from 1 upstream to {clients} wire clients on loopback")
        print(f"fanout: {events / took:,.0f} events/s delivered to each client")
        print(f"fanout: {events * clients / took:,.0f} messages/s delivered in total")
        print(f"fanout: {took:.2f} s from the first event at any client to the last at the last")
    finally:
        for proc in (source, fanout):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        log = await JetStreamEventLog.connect(JetStreamSettings(url=nats_url, prefix=prefix))
        await log.delete_streams()
        await log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream is not None:
        asyncio.run(upstream(args.upstream, args.events))
    else:
        asyncio.run(bench(args.events, args.clients, args.nats))


if __name__ == "__main__":
    main()
