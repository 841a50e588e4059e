"""Statistics engine throughput and memory with the whole standard library open at scale.

Simulates the ``large`` scenario (per tenant: 500 agents in 10 groups, 50 queues of which 10
have a virtual queue in front) for ``--tenants`` tenants and ``--hours`` hours, then opens every
standard-library statistic on every object the scenario configures: the tenant, each agent,
agent group, queue and virtual queue, and one queue group per cluster of five queues. The
default 80 tenants give about 1.1 million open statistics, the size of a large deployment
where every object is on some wallboard.

Prints, on this machine:

- open statistics by object type, and bytes per open statistic: tracemalloc's traced memory
  of the engine after configuring the objects and opening every statistic, divided by the
  number opened (an empty engine is the baseline; the events' state comes later, not counted);
- events/s of the engine over the pre-decoded events, beside the same events with nothing
  open (the cost of the contact-center state model alone) and with every statistic open but
  the agents' own (what the rest cost), the loop a replay or a collector runs (decode a line,
  apply its event, line by line) and the bare decode-and-dict-update loop over the same lines;
  the ratio of the last two is the engine's cost. (It is measured, not
  the sum of decoding and applying timed apart: the line-by-line loop is the slower, by about
  a fifth on 80 tenants, where the engine waits on memory: most likely because the state it
  builds while events come and go lies more thinly spread through memory than the state it
  builds after every event was decoded — keeping every decoded event alive as the loop goes
  makes it slower still.) Each engine loop is timed ``--runs`` times, in rounds of one of each,
  each on an engine built in a process of its own; the best and the median (and its time per
  event) are printed;
- values read per second;
- which engine modules ran compiled (``make bench`` compiles them first; run as Python without);
- the machine: processor, cores and cache sizes (at this scale the engine waits on memory, so
  the size of the last-level cache moves its figures most).

Usage: ``python bench/stats_bench.py [--hours H] [--tenants N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from statistics import median

from wallboard.core.codec import Decoder
from wallboard.core.events import Event, UnknownEvent
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import large
from wallboard.sim.scenario import Scenario
from wallboard.stats import (
    GroupConfig,
    ObjectConfig,
    QueueGroupConfig,
    StatisticsEngine,
    compiled,
    standard_library,
)
from wallboard.stats.definitions import DefinitionSet


def machine() -> str:
    """Processor, cores and cache sizes, as Linux reports them ('' where it does not)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    caches = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind != "Instruction":
            caches.append(f"L{level} {size}")
    return ", ".join(part for part in (model, f"{os.cpu_count()} cores", *caches) if part)


def bare_loop(lines: list[bytes]) -> float:
    decoder = Decoder()
    counts: dict[tuple[str, str], int] = {}
    began = time.perf_counter()
    for line in lines:
        event = decoder.decode(line)
        key = (event.tenant, event.type)  # type: ignore[union-attr]
        counts[key] = counts.get(key, 0) + 1
    return time.perf_counter() - began


def engine_loop(engine: StatisticsEngine, events: list[Event | UnknownEvent]) -> float:
    apply = engine.apply
    began = time.perf_counter()
    for event in events:
        apply(event)
    engine.flush()
    return time.perf_counter() - began


def object_configs(scenario: Scenario) -> dict[str, ObjectConfig]:
    """Each tenant's membership as the scenario configures it: its agent groups, and one queue
    group per cluster of five queues."""
    configs: dict[str, ObjectConfig] = {}
    for tenant in scenario.tenants:
        groups = {
            g.id: GroupConfig(
                agents=tuple(
                    f"{g.id}-{i:0{max(3, len(str(g.agents)))}d}" for i in range(1, g.agents + 1)
                )
            )
            for g in tenant.groups
        }
        clusters: dict[str, list[str]] = {}
        for q in tenant.queues:
            clusters.setdefault(q.id.split("q", 1)[0], []).append(q.id)
        queue_groups = {
            f"cluster-{name}": QueueGroupConfig(queues=tuple(ids)) for name, ids in clusters.items()
        }
        configs[tenant.id] = ObjectConfig(agent_groups=groups, queue_groups=queue_groups)
    return configs


def targets(scenario: Scenario, configs: dict[str, ObjectConfig]) -> list[tuple[str, str, str]]:
    """Every object the scenario configures, as (tenant, object type, object id): the tenant,
    each agent group, agent, queue, virtual queue and queue group."""
    out: list[tuple[str, str, str]] = []
    for tenant in scenario.tenants:
        config = configs[tenant.id]
        out.append((tenant.id, "tenant", tenant.id))
        out += [(tenant.id, "agent_group", g) for g in config.agent_groups]
        out += [(tenant.id, "agent", a) for g in config.agent_groups.values() for a in g.agents]
        out += [(tenant.id, "queue", q.id) for q in tenant.queues]
        out += [
            (tenant.id, "virtual_queue", q.virtual_queue) for q in tenant.queues if q.virtual_queue
        ]
        out += [(tenant.id, "queue_group", g) for g in config.queue_groups]
    return out


def open_everything(
    engine: StatisticsEngine,
    scenario: Scenario,
    definitions: DefinitionSet,
    skip: frozenset[str] = frozenset(),
) -> Counter[str]:
    """Configure every tenant's groups and open every library statistic on every object (but
    on objects of the types in ``skip``)."""
    by_type: dict[str, list[str]] = {}
    for d in definitions:
        by_type.setdefault(d.object.value, []).append(d.id)
    configs = object_configs(scenario)
    for tenant, config in configs.items():
        engine.set_objects(tenant, config, ts_ms=0)
    opened: Counter[str] = Counter()
    for tenant, object_type, object_id in targets(scenario, configs):
        if object_type in skip:
            continue
        for stat_id in by_type.get(object_type, ()):
            engine.open(tenant, object_type, object_id, stat_id)
            opened[object_type] += 1
    return opened


def decoding_loop(engine: StatisticsEngine, lines: list[bytes]) -> float:
    """The loop a replay or a collector runs: decode a line, apply its event, line by line."""
    decode = Decoder().decode
    apply = engine.apply
    began = time.perf_counter()
    for line in lines:
        event = decode(line)
        if isinstance(event, Event | UnknownEvent):
            apply(event)
    engine.flush()
    return time.perf_counter() - began


def decode_events(lines: list[bytes]) -> list[Event | UnknownEvent]:
    decoder = Decoder()
    return [
        event
        for event in (decoder.decode(line) for line in lines)
        if isinstance(event, Event | UnknownEvent)
    ]


# What each timed loop opens and runs (``--child``): nothing open, every library statistic
# but the agents' own, everything (over pre-decoded events), everything decoding line by line.
_LOOPS = ("empty", "others", "full", "decoding")


def child_run(what: str, events_file: str, tenants: int) -> None:
    """One timed run (``--child``): build the engine with what ``what`` opens (``_LOOPS``) and
    print the seconds of its loop: over the events decoded beforehand, or (``decoding``)
    decoding each line as it goes."""
    lines = Path(events_file).read_bytes().splitlines()
    events = decode_events(lines) if what != "decoding" else []
    definitions = standard_library()
    engine = StatisticsEngine(definitions)
    if what != "empty":
        skip = frozenset({"agent"}) if what == "others" else frozenset()
        open_everything(engine, large(tenants), definitions, skip)
    gc.collect()
    print(decoding_loop(engine, lines) if what == "decoding" else engine_loop(engine, events))


def timed_runs(runs: int, events_file: Path, tenants: int) -> dict[str, list[float]]:
    """Seconds of ``runs`` rounds of the engine loops (``_LOOPS``, one of each in turn per
    round, so that the machine's drift falls on all alike), each on an engine built in a
    process of its own, as a collector runs one engine in its process. (Built one after
    another in one process, each engine found the memory of the engines before it freed in
    scattered pieces and ran slower, by about a sixth on 80 tenants; a forked process is worse:
    the events it inherits are copied page by page as the engine touches them.) This machine's
    timings vary by tens of percent from run to run: the best and the median are both
    printed."""
    timings: dict[str, list[float]] = {what: [] for what in _LOOPS}
    for _ in range(runs):
        for what in _LOOPS:
            command = [sys.executable, __file__, "--child", what, "--events", str(events_file)]
            command += ["--tenants", str(tenants)]
            run = subprocess.run(command, check=True, capture_output=True, text=True)
            timings[what].append(float(run.stdout))
    return {what: sorted(seconds) for what, seconds in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=0.25)
    parser.add_argument("--tenants", type=int, default=80)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each loop")
    parser.add_argument("--child", choices=_LOOPS, help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_run(args.child, args.events, args.tenants)
        return
    scenario = large(args.tenants)
    directory = tempfile.TemporaryDirectory()
    events_file = Path(directory.name) / "events.jsonl"
    run_batch(scenario, seed=1, hours=args.hours, out=directory.name)
    lines = events_file.read_bytes().splitlines()
    events = decode_events(lines)
    definitions = standard_library()

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = StatisticsEngine(definitions)
    by_type = open_everything(engine, scenario, definitions)
    after_open = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    opened = sum(by_type.values())
    open_bytes = (after_open - before) / max(opened, 1)
    del engine

    def everything_open() -> StatisticsEngine:
        engine = StatisticsEngine(definitions)
        open_everything(engine, scenario, definitions)
        return engine

    bare = sorted(bare_loop(lines) for _ in range(args.runs))
    timings = timed_runs(args.runs, events_file, args.tenants)
    empty, others, full = timings["empty"], timings["others"], timings["full"]
    decoding = timings["decoding"]
    directory.cleanup()
    engine = everything_open()
    engine_loop(engine, events)
    n = len(events)
    last = max(e.ts for e in events if isinstance(e, Event))
    keys = engine.opened()[:100_000]
    began = time.perf_counter()
    for key in keys:
        engine.value(*key, last)
    read_s = time.perf_counter() - began

    def rate(timings: list[float]) -> str:
        return (
            f"{n / timings[0]:>12,.0f} events/s  (median {n / median(timings):,.0f}; "
            f"{median(timings) / n * 1e6:.2f} µs)"
        )

    best_ratio = decoding[0] / bare[0]
    built = [name for name, done in compiled.status().items() if done]
    print(f"scenario                    large, {args.tenants} tenants, {args.hours} h")
    print(f"compiled modules            {', '.join(built) or 'none: pure Python (make compile)'}")
    print(f"machine                     {machine()}")
    print(f"events                      {n:>12,}")
    print(
        f"open statistics             {opened:>12,}  (goal >= 1,000,000; with formula inputs: "
        f"{len(engine.opened()):,})"
    )
    for object_type, count in sorted(by_type.items()):
        print(f"  {object_type:<25} {count:>12,}")
    print(f"bytes per open statistic    {open_bytes:>12,.0f}  (goal <= 300)")
    print(f"timed runs of each loop     {args.runs:>12}  (best first)")
    print(f"bare decode+dict loop       {rate(bare)}")
    print(f"engine, nothing open        {rate(empty)}  state model alone")
    print(f"engine, all but agents'     {rate(others)}  agents' own statistics closed")
    print(f"engine apply (pre-decoded)  {rate(full)}  goal >= 250,000")
    print(f"engine incl. decode         {rate(decoding)}  line by line")
    print(f"ratio engine+decode / bare  {best_ratio:>12.2f}x  (goal <= 5x)")
    print(f"reads                       {len(keys) / read_s:>12,.0f} values/s")
    print(f"anomalies                   {engine.anomalies}")


if __name__ == "__main__":
    main()
