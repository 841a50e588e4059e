"""Opening, snapshotting and restoring about a million statistics, and `wallboard stats` end to end.

Simulates the ``large`` scenario (80 tenants by default, a quarter hour) and, on every object
it configures (the objects of ``stats_bench.py``: tenant, agents, agent groups, queues, virtual
queues, queue groups), opens every standard-library statistic. Prints, on this machine, each
figure as the best and the median of ``--runs`` runs, each in a process of its own (as a
collector runs one engine in its process):

- opening them all, every definition of an object's type on each object in one call
  (``StatisticsEngine.open_many``, what the collector and ``wallboard stats`` do), and one
  statistic at a time (``open``) on ``--single-tenants`` of the tenants, per open statistic;
- the engine's snapshot of them (time and size) and its restore, both with nothing applied
  yet (a collector starting on a checkpoint of idle tenants) and after the quarter hour's
  events (a collector's checkpoint in the day);
- ``wallboard stats`` on the quarter hour's event file (with its ``--objects`` file), end to
  end as a command, in events/s, beside the engine alone on the same events (every statistic
  open beforehand, events decoded beforehand: the engine's own rate) and the ratio of the two;
  and the command's parts timed in one process: decoding the file, the replay (opening,
  applying, reading every value) and writing the JSON.

Usage: ``python bench/open_bench.py [--tenants N] [--hours H] [--runs R] [--single-tenants N]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import msgspec

from stats_bench import decode_events, machine, object_configs, targets
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import large
from wallboard.stats import StatisticsEngine, compiled, standard_library
from wallboard.stats.definitions import DefinitionSet

_WHAT = ("open", "single", "snapshot", "engine", "parts")


def opened_engine(
    tenants: int, *, one_by_one: bool = False
) -> tuple[StatisticsEngine, DefinitionSet, float, int]:
    """An engine with every tenant's objects configured and every library statistic open on
    every object: (engine, definitions, seconds the opening took, statistics opened)."""
    scenario = large(tenants)
    definitions = standard_library()
    engine = StatisticsEngine(definitions)
    configs = object_configs(scenario)
    for tenant, config in configs.items():
        engine.set_objects(tenant, config, ts_ms=0)
    by_type: dict[str, list[str]] = {}
    for d in definitions:
        by_type.setdefault(d.object.value, []).append(d.id)
    objects = targets(scenario, configs)
    opened = sum(len(by_type.get(object_type, ())) for _, object_type, _ in objects)
    gc.collect()
    began = time.perf_counter()
    if one_by_one:
        for tenant, object_type, object_id in objects:
            for stat_id in by_type.get(object_type, ()):
                engine.open(tenant, object_type, object_id, stat_id)
    else:
        for tenant, object_type, object_id in objects:
            engine.open_many(tenant, object_type, object_id, by_type.get(object_type, ()))
    return engine, definitions, time.perf_counter() - began, opened


def snapshot_restore(engine: StatisticsEngine, definitions: DefinitionSet) -> list[float]:
    """[snapshot seconds, its bytes, restore seconds]."""
    gc.collect()
    began = time.perf_counter()
    blob = engine.snapshot()
    snapshot_s = time.perf_counter() - began
    gc.collect()
    began = time.perf_counter()
    StatisticsEngine.restore(blob, definitions)
    return [snapshot_s, len(blob), time.perf_counter() - began]


def child_run(what: str, tenants: int, directory: Path) -> list[float]:
    """One run (``--child``) in a process of its own; the figures it prints, in order:

    - ``open``: seconds to open everything (bulk), statistics opened;
    - ``single``: the same one statistic at a time (on the tenants given);
    - ``snapshot``: snapshot seconds, bytes and restore seconds with nothing applied, then the
      same after the events;
    - ``engine``: seconds of the engine alone over the pre-decoded events, everything open;
    - ``parts``: seconds of ``wallboard stats``'s parts: decoding the file, replay, writing."""
    if what in ("open", "single"):
        _, _, seconds, opened = opened_engine(tenants, one_by_one=what == "single")
        return [seconds, opened]
    if what == "parts":
        return command_parts(directory)
    events = decode_events((directory / "events.jsonl").read_bytes().splitlines())
    engine, definitions, _, _ = opened_engine(tenants)
    if what == "snapshot":
        idle = snapshot_restore(engine, definitions)
        engine.apply_many(events)
        engine.flush()
        return idle + snapshot_restore(engine, definitions)
    gc.collect()
    apply = engine.apply
    began = time.perf_counter()
    for event in events:
        apply(event)
    engine.flush()
    return [time.perf_counter() - began]


def command_parts(directory: Path) -> list[float]:
    """``wallboard stats``'s parts timed apart, in one process, as its code runs them."""
    from wallboard.replay_cli import read_events, read_objects
    from wallboard.stats.replay import replay

    began = time.perf_counter()
    bad: list[str] = []
    events = list(read_events(directory / "events.jsonl", bad))
    configs = read_objects(directory / "objects.json")
    decoded = time.perf_counter()
    result, _ = replay(events, standard_library(), objects=configs)
    replayed = time.perf_counter()
    text = msgspec.json.format(msgspec.json.encode(result).decode(), indent=2)
    io.StringIO().write(text + "\n")
    written = time.perf_counter()
    return [decoded - began, replayed - decoded, written - replayed]


def run_children(what: str, runs: int, tenants: int, directory: Path) -> list[list[float]]:
    """The figures of ``runs`` children of one kind (see ``child_run``)."""
    out = []
    for _ in range(runs):
        command = [sys.executable, __file__, "--child", what, "--dir", str(directory)]
        command += ["--tenants", str(tenants)]
        run = subprocess.run(command, check=True, capture_output=True, text=True)
        out.append([float(x) for x in run.stdout.split()])
    return out


def command_seconds(runs: int, directory: Path) -> list[float]:
    """Seconds of ``wallboard stats`` as a command, output to a file, ``runs`` times."""
    wallboard = Path(sys.executable).with_name("wallboard")
    command = [str(wallboard), "stats", "--events", str(directory / "events.jsonl")]
    command += ["--objects", str(directory / "objects.json")]
    seconds = []
    for _ in range(runs):
        with (directory / "out.json").open("wb") as out:
            began = time.perf_counter()
            subprocess.run(command, check=True, stdout=out, stderr=subprocess.DEVNULL)
            seconds.append(time.perf_counter() - began)
    return sorted(seconds)


def column(runs: list[list[float]], index: int) -> list[float]:
    return sorted(run[index] for run in runs)


def best_median(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    return f"{values[0] * scale:>10.2f} {unit}  (median {median(values) * scale:.2f} {unit})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=0.25)
    parser.add_argument("--tenants", type=int, default=80)
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure")
    parser.add_argument(
        "--single-tenants", type=int, default=8, help="tenants opened one statistic at a time"
    )
    parser.add_argument("--child", choices=_WHAT, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(*child_run(args.child, args.tenants, Path(args.dir)))
        return
    scenario = large(args.tenants)
    temporary = tempfile.TemporaryDirectory()
    directory = Path(temporary.name)
    run_batch(scenario, seed=1, hours=args.hours, out=directory)
    configs = object_configs(scenario)
    (directory / "objects.json").write_bytes(msgspec.json.encode(configs))
    n = len((directory / "events.jsonl").read_bytes().splitlines())

    bulk = run_children("open", args.runs, args.tenants, directory)
    single = run_children("single", args.runs, args.single_tenants, directory)
    snapshots = run_children("snapshot", args.runs, args.tenants, directory)
    engine = run_children("engine", args.runs, args.tenants, directory)
    parts = run_children("parts", args.runs, args.tenants, directory)
    whole = command_seconds(args.runs, directory)
    temporary.cleanup()

    opened = int(bulk[0][1])
    single_opened = int(single[0][1])
    per_stat = 1e6 / opened
    million = 1e6 / opened
    built = [name for name, done in compiled.status().items() if done]
    print(f"scenario                    large, {args.tenants} tenants, {args.hours} h")
    print(f"compiled modules            {', '.join(built) or 'none: pure Python (make compile)'}")
    print(f"machine                     {machine()}")
    print(f"runs of each figure         {args.runs:>10}  (best, then median)")
    print(f"open statistics             {opened:>10,}")
    print(f"open all, in bulk           {best_median(column(bulk, 0))}")
    print(f"  per million statistics    {best_median(column(bulk, 0), 's', million)}  goal <= 2 s")
    print(f"  per statistic             {best_median(column(bulk, 0), 'µs', per_stat)}")
    single_per = 1e6 / single_opened
    print(
        f"  one at a time, per stat.  {best_median(column(single, 0), 'µs', single_per)}  "
        f"({args.single_tenants} tenants, {single_opened:,} statistics)"
    )
    labels = ("nothing applied", "after the events")
    for offset, label in zip((0, 3), labels, strict=True):
        print(f"{label}:")
        print(f"  snapshot                  {best_median(column(snapshots, offset))}")
        size = column(snapshots, offset + 1)[0] / 1e6
        print(f"  snapshot size             {size:>10.1f} MB")
        restore = column(snapshots, offset + 2)
        print(f"  restore                   {best_median(restore)}")
        print(f"    per million statistics  {best_median(restore, 's', million)}  goal <= 2 s")
    engine_s = column(engine, 0)
    print(f"events                      {n:>10,}")
    print(
        f"engine alone (pre-decoded)  {n / engine_s[0]:>10,.0f} events/s  "
        f"(median {n / median(engine_s):,.0f})"
    )
    print(
        f"wallboard stats, command    {n / whole[0]:>10,.0f} events/s  "
        f"(median {n / median(whole):,.0f}; {whole[0]:.1f} s)"
    )
    ratio = median(engine_s) and median(whole) / median(engine_s)
    print(f"  engine alone / command    {ratio:>10.2f}x  (medians; goal <= 2x)")
    print(f"  decode the file           {best_median(column(parts, 0))}")
    print(f"  replay (open, apply, read){best_median(column(parts, 1))}")
    print(f"  write the JSON            {best_median(column(parts, 2))}")


if __name__ == "__main__":
    main()
