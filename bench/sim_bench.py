"""Benchmark: events generated per second by the simulator in batch mode.

Runs the ``large`` scenario (about 5,000 agents, 500 queues) for a simulated hour, writing the
three files as ``wallboard simulate`` does, and prints the rate; then the ``erlang`` scenario.
Usage: ``python bench/sim_bench.py [--hours H] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario, erlang


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours of `large`")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        out = args.out or Path(temp)
        cases = [
            ("large", builtin_scenario("large"), args.hours),
            ("erlang (14 agents)", erlang(), 200.0),
        ]
        for name, scenario, hours in cases:
            summary = run_batch(scenario, seed=1, hours=hours, out=out / name.split()[0])
            size = sum(f.stat().st_size for f in (out / name.split()[0]).iterdir())
            print(
                f"{name}: {hours:g} simulated h, {summary.events:,} events, "
                f"{summary.contacts:,} contacts in {summary.seconds:.2f} s "
                f"= {summary.events_per_second:,.0f} events/s ({size / 1e6:.0f} MB written)"
            )


if __name__ == "__main__":
    main()
