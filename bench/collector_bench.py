"""Collector throughput: a backlog replayed from the event log into the value store, beside the
engine alone on the same events.

Simulates the ``large`` scenario for ``--tenants`` tenants and ``--hours`` hours, publishes its
events to the log (NATS JetStream at ``--nats``, or the in-process log with ``--nats ''``),
then times a collector with the standard statistics open on every object (what
``wallboard serve collector`` does without a statistics-in-use file) from its start until it has
read every record and written its values and checkpoints to the store (Redis at ``--redis``, or
the in-process store with ``--redis ''``). The engine alone is the same per-tenant work
(``TenantWork``: statistics opened as objects are met, events applied in the same order, values
read once at the end) with no log, no store and no decoding in the timed part.

Goal: the collector costs at most 2x the engine (events/s of the engine / of the collector).
Against real servers it uses a stream prefix and key prefix of its own and removes them after.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from wallboard.collector.service import Collector, CollectorSettings
from wallboard.collector.tenant import TenantWork
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import EventLog, StreamName
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import large
from wallboard.stats import compiled, standard_library
from wallboard.store.interface import ValueStore
from wallboard.store.memory import MemoryValueStore
from wallboard.store.redis import RedisValueStore

RANK = {stream.value: i for i, stream in enumerate(StreamName)}


def engine_alone(events: list[Event]) -> float:
    """Seconds for the per-tenant work of a collector without log or store."""
    definitions = standard_library()
    works: dict[str, TenantWork] = {}
    started = time.perf_counter()
    for n, event in enumerate(events, 1):
        work = works.get(event.tenant)
        if work is None:
            work = works[event.tenant] = TenantWork(event.tenant, definitions)
        work.apply(event.source, n, event)
    for work in works.values():
        work.changes(work.newest_ts, everything=True)
    return time.perf_counter() - started


async def publish(log: EventLog, lines: list[bytes]) -> None:
    by_stream: dict[StreamName, list[tuple[TenantId, str, bytes]]] = {}
    for line in lines:
        event = decode_event(line)
        assert isinstance(event, Event)
        by_stream.setdefault(StreamName(event.source), []).append(
            (TenantId(event.tenant), event.id, line)
        )
    for stream, records in by_stream.items():
        for at in range(0, len(records), 1000):
            await log.publish_many(stream, records[at : at + 1000])


async def collector_run(log: EventLog, store: ValueStore) -> tuple[float, Collector]:
    settings = CollectorSettings(clock="events", history_s=0, checkpoint_s=5.0)
    collector = Collector(log, store, standard_library(), settings)
    last = {s: await log.last_seq(s) for s in StreamName}
    started = time.perf_counter()
    task = asyncio.create_task(collector.run())
    while not all(collector.read_position(s) >= last[s] for s in StreamName):
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    collector.stop()  # writes the last values and every checkpoint
    await task
    return time.perf_counter() - started, collector


async def main_async(args: argparse.Namespace) -> None:
    directory = tempfile.TemporaryDirectory()
    run_batch(large(args.tenants), seed=1, hours=args.hours, out=directory.name)
    lines = (Path(directory.name) / "events.jsonl").read_bytes().splitlines()
    directory.cleanup()
    decoded = [decode_event(line) for line in lines]
    events = [e for e in decoded if isinstance(e, Event)]
    events.sort(key=lambda e: (e.ts, RANK[e.source], e.seq))
    n = len(events)

    engine_s = min(engine_alone(events) for _ in range(args.runs))

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    log: EventLog
    if args.nats:
        log = await JetStreamEventLog.connect(
            JetStreamSettings(url=args.nats, prefix=prefix.upper(), max_bytes=1024**3)
        )
    else:
        log = MemoryEventLog()
    await publish(log, lines)
    timings: list[float] = []
    for _ in range(args.runs):
        store: ValueStore
        if args.redis:
            store = await RedisValueStore.connect(args.redis, prefix=f"{prefix}{len(timings)}")
        else:
            store = MemoryValueStore()
        seconds, collector = await collector_run(log, store)
        timings.append(seconds)
        tenants = sorted(collector.tenants)
        written = sum(len(w.written) for w in collector.tenants.values())
        for tenant in [*tenants, collector.state_tenant]:
            await store.drop_tenant(TenantId(tenant))
        await store.close()
    if isinstance(log, JetStreamEventLog):
        await log.delete_streams()
    await log.close()

    collector_s = min(timings)
    built = [name for name, done in compiled.status().items() if done]
    print(f"scenario                 large, {args.tenants} tenants, {args.hours} h")
    print(f"compiled modules         {', '.join(built) or 'none (make compile)'}")
    print(f"log / store              {args.nats or 'in-process'} / {args.redis or 'in-process'}")
    print(f"events                   {n:>12,}")
    print(f"values written           {written:>12,}  (last run, per tenant and statistic)")
    print(f"engine alone             {n / engine_s:>12,.0f} events/s  (best of {args.runs})")
    print(f"collector, log to store  {n / collector_s:>12,.0f} events/s  (best of {args.runs})")
    print(f"collector cost           {collector_s / engine_s:>12.2f}x the engine  (goal <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--hours", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="'' for in-process")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="'' for in-process")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
