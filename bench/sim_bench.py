"""Benchmark: events generated per second by the simulator in batch mode.

Runs the ``large`` scenario (about 5,000 agents, 500 queues) for a simulated hour, then the
``erlang`` scenario, and prints for each the best of ``--runs`` runs of:

- the simulation alone (the engine builds every event, record and interval object, and the
  lists are emptied as batch mode empties them, with the garbage collector paused as in batch
  mode, but nothing is encoded or written);
- batch mode as ``wallboard simulate --out`` runs it: simulation, encoding and writing the three
  files.

The load average (``os.getloadavg()``) is printed before and after, because on a shared
machine other work takes CPU time from the run: compare figures taken at similar loads.
Usage: ``python bench/sim_bench.py [--hours H] [--runs N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from wallboard.core.memory import collector_paused
from wallboard.sim.batch import CHUNK_EVENTS, run_batch
from wallboard.sim.builtin import builtin_scenario, erlang
from wallboard.sim.engine import Engine
from wallboard.sim.scenario import Scenario


def simulate_only(scenario: Scenario, seed: int, hours: float) -> tuple[int, float]:
    """Events and wall-clock seconds of the simulation without encoding or writing."""
    began = time.perf_counter()
    n_events = 0
    with collector_paused():
        engine = Engine(scenario, seed)
        end_ms = engine.start_ms + round(hours * 3_600_000)
        done = False
        while not done:
            done = engine.run_until(end_ms, CHUNK_EVENTS)
            if done:
                engine.finish(end_ms)
            n_events += len(engine.events)
            engine.events.clear()
            engine.records.clear()
            engine.intervals.clear()
    return n_events, time.perf_counter() - began


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours of `large`")
    parser.add_argument("--runs", type=int, default=3, help="runs of each; the best is shown")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: temp)")
    args = parser.parse_args()
    runs = max(args.runs, 1)
    print(f"before: {load()}")
    with tempfile.TemporaryDirectory() as temp:
        out = args.out or Path(temp)
        cases = [
            ("large", builtin_scenario("large"), args.hours),
            ("erlang", erlang(), 200.0),
        ]
        for name, scenario, hours in cases:
            sim_seconds = min(simulate_only(scenario, 1, hours)[1] for _ in range(runs))
            batch_seconds = float("inf")
            for _ in range(runs):
                summary = run_batch(scenario, seed=1, hours=hours, out=out / name)
                batch_seconds = min(batch_seconds, summary.seconds)
            n_events = summary.events
            size = sum(f.stat().st_size for f in (out / name).iterdir())
            print(
                f"{name}: {hours:g} simulated h, {n_events:,} events, "
                f"{summary.contacts:,} contacts, {size / 1e6:.0f} MB written; "
                f"best of {runs}:"
            )
            print(
                f"  simulation alone  {sim_seconds:6.2f} s = "
                f"{n_events / sim_seconds:>9,.0f} events/s"
            )
            print(
                f"  with the files    {batch_seconds:6.2f} s = "
                f"{n_events / batch_seconds:>9,.0f} events/s"
            )
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
