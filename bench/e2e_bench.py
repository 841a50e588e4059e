"""End-to-end freshness: simulator → fanout → JetStream log → collector → Redis, live.

Run: ``python bench/e2e_bench.py [--rate 5000] [--warmup 15] [--seconds 60]
[--nats nats://127.0.0.1:4222] [--redis redis://127.0.0.1:6379/0]``.

Every part is its own process, as deployed: the simulator serving the ``large`` scenario
(10 tenants, 5,000 agents) live at the speed that makes ``--rate`` events/s (it makes about 92
events/s at speed 1), one ``wallboard serve fanout`` per source, and ``wallboard serve collector``
with the standard statistics (event clock, the default 100 ms flush) writing to Redis under a
key prefix of its own. The log's streams and the Redis keys are deleted afterwards.

How latency is measured. At speed K, an event of time ``ts`` is due at the wall-clock time
``origin + (ts - start) / K`` (``start``: the simulation's first instant; ``origin``: the wall
clock when the live loop began at it; the simulator process, run by this script, reports both). Its value is visible when this script,
following each tenant's change stream in Redis (``wait_for_changes``, a blocking read), receives
the batch holding it. The events followed are agent state changes: their change sets
``agent.status`` to a new state whose ``since`` is the event's time. Latency = receipt time -
due time, for every such change after the warm-up. Two intermediate points show where the time
goes: ``in log`` (the record seen on the NATS subject the fanout publishes to, by a plain
subscription of this script) and ``written`` (the batch's ``written_ms``, the collector's clock
when it wrote to Redis). All processes share one machine and its clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence

import msgspec

LARGE_EVENTS_PER_SECOND_AT_SPEED_1 = 92.0
"""Measured: ``wallboard simulate --scenario large`` makes 83,111 events in 15 simulated minutes."""

SOURCES = ("voice", "voice-vq", "interactions", "interactions-vq")


class _Ts(msgspec.Struct):
    ts: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], **kw: object) -> subprocess.Popen[bytes]:
    """Start one of the pipeline's processes (before the event loop needs it: no waiting)."""
    return subprocess.Popen(args, env=env, **kw)  # type: ignore[call-overload, no-any-return]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# --- the simulator child ---------------------------------------------------------------------


async def simulator(ports: list[int], speed: float) -> None:
    """Serve ``large`` at ``speed`` on the four ports; print where simulated time starts.

    The simulation's time ``start_ms`` (the wall clock when it was made) is reached at the
    wall-clock instant the live loop takes as its origin, after the engine is built (seconds
    for ``large``): the first ``monotonic()`` the loop reads. Both are printed then.
    """
    from wallboard.core.clock import SystemClock
    from wallboard.core.events import Event
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.settings import Settings
    from wallboard.sim.builtin import builtin_scenario
    from wallboard.sim.live import run_live
    from wallboard.wire.server import WireServer

    class Reporting(SystemClock):
        start_ms: int | None = None
        reported = False

        def now_ms(self) -> int:
            now = super().now_ms()
            if self.start_ms is None:
                self.start_ms = now
            return now

        def monotonic(self) -> float:
            if not self.reported:
                self.reported = True
                print(f"start_ms {self.start_ms} origin_ms {time.time() * 1000:.1f}", flush=True)
            return super().monotonic()

    cancel_on_signals()
    servers = {
        source: WireServer(source=source, name="bench-simulator", settings=Settings())
        for source in SOURCES
    }
    for source, port in zip(SOURCES, ports, strict=True):
        await servers[source].start("127.0.0.1", port)

    def publish(event: Event) -> None:
        servers[event.source].publish(event)

    try:
        await run_live(
            builtin_scenario("large"), seed=1, speed=speed, clock=Reporting(), emit=publish
        )
    except asyncio.CancelledError:
        pass
    finally:
        for server in servers.values():
            await server.close()


# --- the benchmark ---------------------------------------------------------------------------


class Measure:
    def __init__(
        self, start_ms: int, origin_ms: float, speed: float, from_ms: float, to_ms: float
    ) -> None:
        self.start_ms = start_ms
        self.origin_ms = origin_ms
        self.speed = speed
        self.from_ms = from_ms
        self.to_ms = to_ms
        self.visible: list[float] = []
        self.written: list[float] = []
        self.in_log: list[float] = []
        self.visible_due: list[float] = []

    def newest_visible_due(self) -> float:
        return max(self.visible_due, default=0.0)

    def due(self, ts: int) -> float:
        """The wall-clock time the simulation reaches ``ts`` (and emits its events)."""
        return self.origin_ms + (ts - self.start_ms) / self.speed

    def window(self, due: float) -> bool:
        return self.from_ms <= due <= self.to_ms


async def follow(store: object, tenant: str, measure: Measure) -> None:
    from wallboard.core.ids import TenantId
    from wallboard.store.redis import RedisValueStore

    assert isinstance(store, RedisValueStore)
    since_of: dict[str, int] = {}
    version = await store.current_version(TenantId(tenant))
    while True:
        batches = await store.wait_for_changes(TenantId(tenant), version, max_wait=5.0)
        now = time.time() * 1000
        for batch in batches:
            version = batch.version
            for change in batch.changes:
                if change.statistic != "agent.status" or not isinstance(change.value, dict):
                    continue
                since = change.value.get("since")
                # A new state (not a new reason or do-not-disturb in the same state).
                if isinstance(since, int) and since_of.get(change.object_id) != since:
                    since_of[change.object_id] = since
                    due = measure.due(since)
                    measure.visible_due.append(due)
                    if measure.window(due):
                        measure.visible.append(now - due)
                        measure.written.append(batch.written_ms - due)


async def watch_log(nats_url: str, prefix: str, measure: Measure) -> object:
    import nats

    client = await nats.connect(nats_url)
    decoder = msgspec.json.Decoder(_Ts)

    async def seen(msg: object) -> None:
        now = time.time() * 1000
        due = measure.due(decoder.decode(msg.data).ts)  # type: ignore[attr-defined]
        if measure.window(due):
            measure.in_log.append(now - due)

    await client.subscribe(f"{prefix}.voice.*", cb=seen)
    return client


def metric_sum(port: int, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as answer:
        text = answer.read().decode()
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if re.match(rf"{re.escape(name)}(\{{.*\}})? ", line)
    )


async def bench(args: argparse.Namespace) -> None:
    from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
    from wallboard.store.redis import RedisValueStore

    speed = args.rate / LARGE_EVENTS_PER_SECOND_AT_SPEED_1
    prefix = f"wbe2e{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env.update(
        WALLBOARD_NATS_URL=args.nats,
        WALLBOARD_LOG_PREFIX=prefix,
        WALLBOARD_LOG_MAX_BYTES=str(512 * 1024**2),
        WALLBOARD_REDIS_URL=args.redis,
        WALLBOARD_REDIS_PREFIX=prefix,
        WALLBOARD_COLLECTOR_CLOCK="events",
        WALLBOARD_LOG_LEVEL="warning",
    )
    ports = [free_port() for _ in SOURCES]
    fanout_metrics = [free_port() for _ in SOURCES]
    collector_metrics = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    store = await RedisValueStore.connect(args.redis, prefix=prefix)
    watcher: object = None
    followers: list[asyncio.Task[None]] = []
    try:
        # The log and the collector first, so that they are ready when events flow.
        log = await JetStreamEventLog.connect(JetStreamSettings(url=args.nats, prefix=prefix))
        await log.close()
        cli = [sys.executable, "-m", "wallboard.cli", "serve"]
        procs.append(
            spawn(
                [*cli, "collector"], env={**env, "WALLBOARD_METRICS_PORT": str(collector_metrics)}
            )
        )
        for source, port, metrics in zip(SOURCES, ports, fanout_metrics, strict=True):
            procs.append(
                spawn(
                    [
                        *cli,
                        "fanout",
                        "--source",
                        source,
                        "--upstream",
                        f"127.0.0.1:{port}",
                        "--port",
                        "0",
                        "--metrics-port",
                        str(metrics),
                    ],
                    env=env,
                )
            )
        await asyncio.sleep(5.0)  # every process started (a loaded machine is slow to)
        sim = spawn(
            [
                sys.executable,
                __file__,
                "--simulator",
                ",".join(map(str, ports)),
                "--speed",
                str(speed),
            ],
            env=env,
            stdout=subprocess.PIPE,
        )
        procs.append(sim)
        assert sim.stdout is not None
        line = (await asyncio.to_thread(sim.stdout.readline)).split()
        start_ms, origin_ms = int(line[1]), float(line[3])
        began = time.time() * 1000
        measure = Measure(
            start_ms,
            origin_ms,
            speed,
            began + args.warmup * 1000,
            began + (args.warmup + args.seconds) * 1000,
        )
        from wallboard.sim.builtin import builtin_scenario

        tenants = [t.id for t in builtin_scenario("large").tenants]
        followers = [asyncio.create_task(follow(store, t, measure)) for t in tenants]
        watcher = await watch_log(args.nats, prefix, measure)
        await asyncio.sleep(args.warmup)
        collected_before = metric_sum(collector_metrics, "wallboard_collector_events_total")
        events_before = sum(
            metric_sum(p, "wallboard_fanout_events_in_total") for p in fanout_metrics
        )
        await asyncio.sleep(args.seconds)
        events_after = sum(
            metric_sum(p, "wallboard_fanout_events_in_total") for p in fanout_metrics
        )
        collected_after = metric_sum(collector_metrics, "wallboard_collector_events_total")
        # Wait for the window's last events to be visible (a collector behind catches up).
        drain_end = time.time() + args.drain
        # The followers only append: nothing to wait on but their lists.
        while time.time() < drain_end and measure.newest_visible_due() < measure.to_ms:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        rate = (events_after - events_before) / args.seconds
        collected = (collected_after - collected_before) / args.seconds
        print(
            f"e2e: simulator 'large' at speed {speed:.1f}: {rate:,.0f} events/s through the "
            f"fanouts, {collected:,.0f} events/s applied by the collector"
        )
        print(
            f"e2e: {len(measure.visible)} agent state changes due in the {args.seconds:.0f} s after "
            f"{args.warmup:.0f} s of warm-up were visible in Redis within {args.drain:.0f} s after it"
        )
        for name, values in (
            ("in log (fanout stored)", measure.in_log),
            ("written to Redis", measure.written),
            ("visible in Redis", measure.visible),
        ):
            if values:
                print(
                    f"e2e: event time → {name}: p50 {percentile(values, 50):.0f} ms, "
                    f"p90 {percentile(values, 90):.0f} ms, p99 {percentile(values, 99):.0f} ms, "
                    f"max {max(values):.0f} ms"
                )
        publish_sum = sum(
            metric_sum(p, "wallboard_fanout_log_publish_seconds_sum") for p in fanout_metrics
        )
        publish_count = sum(
            metric_sum(p, "wallboard_fanout_log_publish_seconds_count") for p in fanout_metrics
        )
        if publish_count:
            print(
                f"e2e: fanout log batches: {publish_count:.0f}, mean {publish_sum / publish_count * 1000:.1f} ms "
                f"each, mean {events_after / publish_count:.1f} events each"
            )
    finally:
        for task in followers:
            task.cancel()
        if watcher is not None:
            await watcher.close()  # type: ignore[attr-defined]
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log = await JetStreamEventLog.connect(JetStreamSettings(url=args.nats, prefix=prefix))
        await log.delete_streams()
        await log.close()
        keys = [k async for k in store._redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await store._redis.unlink(*keys)
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--drain", type=float, default=120.0, help="Longest wait for the window's last values."
    )
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--simulator", help=argparse.SUPPRESS)
    parser.add_argument("--speed", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulator:
        asyncio.run(simulator([int(p) for p in args.simulator.split(",")], args.speed))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
