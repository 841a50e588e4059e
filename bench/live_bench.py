"""Live channel: clients per web process, each watching a dashboard, while the simulator drives
events into the value store; latency from a value's write in the store to its arrival.

Three processes besides this one, as in production:

- **feed**: the simulator's ``large`` scenario live (``--tenants``) at the speed that makes
  ``--rate`` events/s (it makes about 8.8 events/s per tenant at speed 1 once its first ten
  simulated minutes have filled the queues), through the in-process event log into a collector that
  writes to Redis (``--redis``), with the standard statistics open;
- **web**: the live channel (``/api/v1/live``) on the same Redis;
- **clients**: ``--clients`` WebSocket clients in one process, each subscribed to one of
  ``--dashboards`` dashboards (one per tenant: five queues' KPIs and two agent groups' states,
  about ten widgets' worth). Each ``changes`` message carries ``written``, when the collector
  wrote the newest batch in it; the client notes its arrival minus that (same machine, same
  clock). Coalescing (``coalesce_ms``) holds older changes up to that long, on top.

Goal: 2,000 clients per web process with p99 at most 250 ms. Prints events/s fed, clients
connected, messages/s received, p50/p99/max latency, and the web process's CPU share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wallboard.store.values import Change, Checkpoint

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

EVENTS_PER_TENANT_SECOND_AT_SPEED_1 = 8.8
"""Measured: ``large(10)`` makes 83 to 90 events/s in all from its tenth simulated minute on
(60 to 80 before: agents log in, queues fill)."""

FLUSH_S = 0.1
"""The collector's flush period (``WALLBOARD_COLLECTOR_FLUSH_MS``), for ``--feed direct``."""

AGENT_STATISTICS = ("agent.status", "agent.time_in_status", "agent.calls_handled")
QUEUE_STATISTICS = (
    "queue.calls_waiting",
    "queue.longest_wait",
    "queue.answered",
    "queue.abandoned",
    "queue.service_level",
    "queue.asa",
)

HANDSHAKE_TIMEOUT_S = 20.0
HANDSHAKE_ATTEMPTS = 5

RAMP_SIMULATED_S = 600.0
"""Simulated time before the rate is steady: the measurement starts after it."""


def dashboards(tenants: int, count: int) -> list[dict[str, Any]]:
    """Explicit subscriptions equal to the demo dashboards' widgets, one per tenant."""
    from wallboard.sim.builtin import large

    scenario = large(tenants)
    out = []
    for tenant in scenario.tenants[:count]:
        queues = [q.id for q in tenant.queues][:5]
        agents = [a for g in tenant.groups[:2] for a in g.agent_ids()]
        out.append(
            {
                "type": "subscribe",
                "tenant": tenant.id,
                "objects": [["queue", q] for q in queues]
                + [["agent", a] for a in agents]
                + [["tenant", tenant.id]],
                "statistics": [*QUEUE_STATISTICS, *AGENT_STATISTICS, "tenant.calls_waiting"],
            }
        )
    return out


async def feed(args: argparse.Namespace) -> None:
    from wallboard.collector.service import Collector, CollectorSettings
    from wallboard.core.clock import SystemClock
    from wallboard.core.codec import encode
    from wallboard.core.events import Event
    from wallboard.core.ids import TenantId
    from wallboard.eventlog.interface import StreamName
    from wallboard.eventlog.memory import MemoryEventLog
    from wallboard.sim.builtin import large
    from wallboard.sim.live import run_live
    from wallboard.stats import standard_library
    from wallboard.store.redis import RedisValueStore

    class CountingStore(RedisValueStore):
        """The store, counting the batches and value changes the collector writes."""

        batches = 0
        changes = 0

        async def apply(
            self,
            tenant: TenantId,
            changes: Sequence[Change],
            *,
            checkpoint: Checkpoint | None = None,
        ) -> int:
            version = await super().apply(tenant, changes, checkpoint=checkpoint)
            if changes:
                self.batches += 1
                self.changes += len(changes)
            return version

    log = MemoryEventLog()
    store = await CountingStore.connect(args.redis, prefix=args.prefix)
    assert isinstance(store, CountingStore)
    collector = Collector(
        log, store, standard_library(), CollectorSettings(clock="wall", history_s=0)
    )
    pending: list[Event] = []
    emitted = 0

    def emit(event: Event) -> None:
        nonlocal emitted
        emitted += 1
        pending.append(event)

    async def report_loop() -> None:
        """A line a second on stdout: what was fed, read by the collector, written to Redis."""
        while True:
            await asyncio.sleep(1.0)
            line = {
                "t": time.monotonic(),
                "emitted": emitted,
                "read": collector.records_read,
                "batches": store.batches,
                "changes": store.changes,
            }
            print(json.dumps(line), flush=True)

    async def publish_loop() -> None:
        while True:
            await asyncio.sleep(0.02)
            batch, pending[:] = list(pending), []
            by_stream: dict[StreamName, list[tuple[TenantId, str, bytes]]] = {}
            for event in batch:
                by_stream.setdefault(StreamName(event.source), []).append(
                    (TenantId(event.tenant), event.id, encode(event))
                )
            for stream, records in by_stream.items():
                await log.publish_many(stream, records)

    tasks = [
        asyncio.create_task(collector.run()),
        asyncio.create_task(publish_loop()),
        asyncio.create_task(
            run_live(
                large(args.tenants),
                seed=1,
                speed=args.speed,
                clock=SystemClock(),
                emit=emit,
            )
        ),
        asyncio.create_task(report_loop()),
    ]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)


async def direct_feed(args: argparse.Namespace) -> None:
    """Value changes written straight into Redis, ``--changes`` a second over the tenants,
    each tenant a batch every ``FLUSH_S`` (the collector's flush period), as the collector
    would write them were it keeping up: random objects of the ``large`` scenario (agents,
    queues, the tenant) and the statistics a dashboard shows; about a fifth of those keys are
    watched by the dashboards of ``dashboards()``."""
    import random

    from wallboard.core.ids import TenantId
    from wallboard.sim.builtin import large
    from wallboard.store.redis import RedisValueStore
    from wallboard.store.values import Change, Since

    rng = random.Random(1)
    store = await RedisValueStore.connect(args.redis, prefix=args.prefix)
    keys: dict[str, list[tuple[str, str, str]]] = {}
    for tenant in large(args.tenants).tenants:
        agents = [a for g in tenant.groups for a in g.agent_ids()]
        keys[tenant.id] = (
            [("agent", a, s) for a in agents for s in AGENT_STATISTICS]
            + [("queue", q.id, s) for q in tenant.queues for s in QUEUE_STATISTICS]
            + [("tenant", tenant.id, "tenant.calls_waiting")]
        )
    per_batch = max(1, round(args.changes * FLUSH_S / args.tenants))
    written = batches = changes = 0

    def value(statistic: str) -> object:
        now = int(time.time() * 1000)
        if statistic == "agent.status":
            return rng.choice(["ready", "not_ready", "talking", "after_call_work"])
        if statistic in ("agent.time_in_status", "queue.longest_wait"):
            return Since(now - rng.randrange(300_000))
        if statistic in ("queue.service_level",):
            return round(rng.random(), 3)
        return rng.randrange(1000)

    async def report_loop() -> None:
        while True:
            await asyncio.sleep(1.0)
            line = {"t": time.monotonic(), "emitted": 0, "read": 0}
            print(json.dumps({**line, "batches": batches, "changes": changes}), flush=True)

    reporter = asyncio.create_task(report_loop())
    began = time.monotonic()
    try:
        while True:
            for tenant_id, universe in keys.items():
                batch = [
                    Change(o, i, st, value(st))  # type: ignore[arg-type]
                    for o, i, st in rng.sample(universe, per_batch)
                ]
                await store.apply(TenantId(tenant_id), batch)
                batches += 1
                changes += len(batch)
            written += 1
            await asyncio.sleep(max(0.0, began + written * FLUSH_S - time.monotonic()))
    finally:
        reporter.cancel()


def web(args: argparse.Namespace) -> None:
    import uvicorn
    from fastapi import FastAPI

    from wallboard.live.channel import PER_MESSAGE_DEFLATE, live_endpoint
    from wallboard.live.hub import Hub
    from wallboard.store.redis import RedisValueStore

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await RedisValueStore.connect(args.redis, prefix=args.prefix)
        hub = Hub(store)
        app.add_api_websocket_route("/api/v1/live", live_endpoint(hub))
        yield
        await hub.close()

    app = FastAPI(lifespan=lifespan)

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_ping_interval=None,
        ws_per_message_deflate=PER_MESSAGE_DEFLATE,
    )


async def clients(args: argparse.Namespace) -> None:
    import websockets

    subscriptions = dashboards(args.tenants, args.dashboards)
    latencies: list[float] = []
    received = 0
    connected = 0
    retries = 0
    errors: list[str] = []
    url = f"ws://127.0.0.1:{args.port}/api/v1/live"
    measuring = asyncio.Event()
    all_in = asyncio.Event()

    def arrived_one() -> None:
        if connected + len(errors) >= args.clients:
            all_in.set()

    async def client(n: int) -> None:
        nonlocal received, connected, retries
        for attempt in range(1, HANDSHAKE_ATTEMPTS + 1):
            try:
                ws = await websockets.connect(
                    url, max_size=2**24, ping_interval=None, open_timeout=HANDSHAKE_TIMEOUT_S
                )
                break
            except (TimeoutError, OSError) as exc:  # as a browser does: again, a while later
                if attempt == HANDSHAKE_ATTEMPTS:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    arrived_one()
                    return
                retries += 1
                await asyncio.sleep(1.0)
        try:
            async with ws:
                request = dict(subscriptions[n % len(subscriptions)], id=1)
                await ws.send(json.dumps(request))
                connected += 1
                arrived_one()
                while True:
                    data = await ws.recv(decode=False)
                    if not measuring.is_set():
                        continue
                    arrived = time.time() * 1000
                    # Only the head is read (a frame is ``{"type":..,"sub":..,"version":..,
                    # "written":..,``): decoding whole frames would make this process, not the
                    # server, what the figures measure.
                    if data.startswith(b'{"type":"changes"'):
                        at = data.index(b'"written":') + 10
                        received += 1
                        latencies.append(arrived - int(data[at : data.index(b",", at)]))
        except Exception as exc:  # a benchmark reports failures, it does not stop at one
            errors.append(f"{type(exc).__name__}: {exc}")
            arrived_one()

    tasks = []
    for n in range(args.clients):
        tasks.append(asyncio.create_task(client(n)))
        if n % 50 == 49:
            await asyncio.sleep(0.1)  # 500 handshakes a second, as browsers coming back
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(120):
            await all_in.wait()  # every client connected or failed before the warm-up
    await asyncio.sleep(args.warmup)
    measuring.set()
    print("measuring", flush=True)
    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.sleep(args.seconds)
    took = time.perf_counter() - started
    cpu = (time.process_time() - cpu) / took
    measuring.clear()
    print("done", flush=True)
    for task in tasks:
        task.cancel()
    latencies.sort()
    result = {
        "connected": connected,
        "received": received,
        "rate": received / took,
        "p50": latencies[len(latencies) // 2] if latencies else None,
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "max": latencies[-1] if latencies else None,
        "mean": statistics.fmean(latencies) if latencies else None,
        "errors": errors[:3],
        "error_count": len(errors),
        "cpu": cpu,
        "retries": retries,
    }
    print(json.dumps(result))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_pressure_us() -> int:
    """Microseconds some task of this machine waited for a CPU (Linux PSI), -1 without PSI."""
    try:
        with open("/proc/pressure/cpu") as handle:
            return int(handle.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return -1


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def orchestrate(args: argparse.Namespace) -> None:
    prefix = f"livebench{uuid.uuid4().hex[:8]}"
    port = free_port()
    common = [
        "--tenants", str(args.tenants), "--redis", args.redis, "--prefix", prefix,
        "--port", str(port), "--speed", str(args.speed), "--feed", args.feed,
        "--changes", str(args.changes),
    ]  # fmt: skip
    me = [sys.executable, __file__]
    feeder = subprocess.Popen([*me, "--role", "feed", *common], stdout=subprocess.PIPE, text=True)
    server = subprocess.Popen([*me, "--role", "web", *common])
    reports: list[dict[str, float]] = []

    def read_reports() -> None:
        assert feeder.stdout is not None
        for line in feeder.stdout:
            with contextlib.suppress(ValueError):
                reports.append(json.loads(line))

    threading.Thread(target=read_reports, daemon=True).start()
    try:
        # The collector meets the tenants, the server starts, the simulation reaches its
        # steady rate (the clients' warm-up is on top).
        time.sleep(max(3 + args.tenants * 0.2, RAMP_SIMULATED_S / args.speed - args.warmup))
        clients = subprocess.Popen(
            [
                *me, "--role", "clients", *common, "--clients", str(args.clients),
                "--dashboards", str(args.dashboards), "--seconds", str(args.seconds),
                "--warmup", str(args.warmup),
            ],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert clients.stdout is not None
        # The clients say when they start and stop measuring: the figures are of that window.
        assert clients.stdout.readline().strip() == "measuring", "the clients failed"
        web_cpu, feed_cpu = cpu_seconds(server.pid), cpu_seconds(feeder.pid)
        waited = cpu_pressure_us()
        began = time.perf_counter()
        first = len(reports)
        assert clients.stdout.readline().strip() == "done", "the clients failed"
        wall = time.perf_counter() - began
        pressure = (cpu_pressure_us() - waited) / 1e6 / wall if waited >= 0 else None
        web_share = (cpu_seconds(server.pid) - web_cpu) / wall
        feed_share = (cpu_seconds(feeder.pid) - feed_cpu) / wall
        fed = feed_rates(reports[max(first - 1, 0) :])
        output = clients.stdout.read()
        if clients.wait() != 0:
            raise SystemExit(f"the clients failed: {output}")
    finally:
        for process in (feeder, server):
            process.send_signal(signal.SIGTERM)
        for process in (feeder, server):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        cleanup(args.redis, prefix)
    result = json.loads(output.strip().splitlines()[-1])

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.0f} ms"

    if args.feed == "direct":
        print(f"feed                     direct: {fed['changes']:,.0f} value changes/s in "
              f"{fed['batches']:,.0f} batches/s written straight into Redis "
              f"(no simulator, no collector; feed process CPU {feed_share:.0%})")  # fmt: skip
    else:
        print_feed(args, fed, feed_share)
    print(f"clients connected        {result['connected']:,} of {args.clients:,} "
          f"({args.dashboards} dashboards; {result['retries']} handshakes retried; "
          f"{result['error_count']} errors {result['errors']})")  # fmt: skip
    print(f"changes messages         {result['rate']:,.0f}/s received over {args.seconds} s")
    print(f"latency written->client  p50 {ms(result['p50'])}, p99 {ms(result['p99'])}, "
          f"max {ms(result['max'])}  (goal p99 <= 250 ms)")  # fmt: skip
    per_1000 = web_share * 1000 / result["rate"] if result["rate"] else 0.0
    print(f"web process CPU          {web_share:.0%} of one core, {per_1000 * 1000:,.0f} ms "
          f"per 1,000 changes messages (clients process {result['cpu']:.0%})")  # fmt: skip
    if pressure is not None:
        print(f"machine                  {os.cpu_count()} CPUs; some task waited for a CPU "
              f"{pressure:.0%} of the time (other work on the machine counts too)")  # fmt: skip
    print(f"peak memory (this)       {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024} MiB (largest child)")  # fmt: skip


def print_feed(args: argparse.Namespace, fed: dict[str, float], feed_share: float) -> None:
    nominal = args.tenants * EVENTS_PER_TENANT_SECOND_AT_SPEED_1 * args.speed
    print(f"feed                     large, {args.tenants} tenants at speed {args.speed} "
          f"(nominal {nominal:,.0f} events/s; feed process CPU {feed_share:.0%})")  # fmt: skip
    print(f"  simulated              {fed['emitted']:,.0f} events/s into the log")
    print(f"  collector read         {fed['read']:,.0f} events/s "
          f"(behind by {fed['behind']:,.0f} events at the end)")  # fmt: skip
    print(f"  written to Redis       {fed['batches']:,.0f} batches/s holding "
          f"{fed['changes']:,.0f} value changes/s")  # fmt: skip


def feed_rates(reports: list[dict[str, float]]) -> dict[str, float]:
    """Per-second rates of the feed over its reports (one a second) and the collector's lag."""
    if len(reports) < 2:
        return dict.fromkeys(("emitted", "read", "batches", "changes", "behind"), 0.0)
    first, last = reports[0], reports[-1]
    took = last["t"] - first["t"]
    out = {k: (last[k] - first[k]) / took for k in ("emitted", "read", "batches", "changes")}
    out["behind"] = last["emitted"] - last["read"]
    return out


def cleanup(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}:*", count=1000):
        client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["feed", "web", "clients"])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--rate", type=float, default=5000.0, help="events/s to feed")
    parser.add_argument(
        "--feed",
        choices=["collector", "direct"],
        default="collector",
        help="collector: simulator, log, collector, Redis; direct: value changes written "
        "straight into Redis, --changes a second",
    )
    parser.add_argument("--changes", type=float, default=5000.0, help="value changes/s (direct)")
    parser.add_argument("--speed", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--dashboards", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--prefix", default="livebench")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.speed is None:
        args.speed = args.rate / (args.tenants * EVENTS_PER_TENANT_SECOND_AT_SPEED_1)
    if args.role == "feed":
        asyncio.run(feed(args) if args.feed == "collector" else direct_feed(args))
    elif args.role == "web":
        web(args)
    elif args.role == "clients":
        asyncio.run(clients(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
