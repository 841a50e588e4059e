"""Statistics engine instructions per event, counted by callgrind: exact where timings are not.

Timings on a shared machine move by tens of percent from run to run; instruction counts do
not. Under a fixed hash seed and with address-space randomisation off (``PYTHONHASHSEED=0``,
``setarch -R``) the same code on the same input executes the same number of instructions, to
the last one, so two versions of the engine are compared exactly by running this in each (a
``git worktree`` of the other version, compiled there).

It simulates the ``large`` scenario (default 2 tenants, 0.25 h), opens the whole standard
library on every object as ``stats_bench.py`` does, and runs the apply loop under valgrind's
callgrind, counting only inside ``StatisticsEngine.apply``. Prints instructions per event, and
for each event handler its calls, instructions per call and share of the total (each handler
takes one event class). Instructions are not time: at scale the engine waits on memory (see
"Where the time goes" in docs/engine.md).

Needs valgrind and the compiled engine (``make compile``); says so and exits without either.

Usage: ``python bench/stats_instructions_bench.py [--tenants N] [--hours H]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from stats_bench import decode_events, open_everything
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import large
from wallboard.stats import StatisticsEngine, compiled, standard_library

# The Python-callable wrapper of the compiled ``StatisticsEngine.apply`` (not the C function it
# calls, ``__pyx_f_..._apply``: callgrind toggles collection at every function matched).
_APPLY = "__pyx_pw_*StatisticsEngine_*apply"
_HANDLER = re.compile(r"StatisticsEngine__on_(\w+)$")


def child_run(events_file: str, tenants: int) -> None:
    """The loop callgrind counts (``--child``): build the engine, open everything, apply."""
    events = decode_events(Path(events_file).read_bytes().splitlines())
    definitions = standard_library()
    engine = StatisticsEngine(definitions)
    open_everything(engine, large(tenants), definitions)
    gc.collect()
    for event in events:
        engine.apply(event)
    os._exit(0)  # (nothing to count in tearing down)


def read_counts(path: Path) -> tuple[int, dict[str, tuple[int, int]]]:
    """Callgrind's output → (instructions counted, handler → (calls, inclusive instructions)).

    The file names functions once as ``fn=(id) name`` / ``cfn=(id) name`` and by ``(id)``
    after; a ``calls=N`` line is followed by the line of the call's inclusive cost."""
    names: dict[str, str] = {}
    handlers: dict[str, list[int]] = {}
    total = 0
    callee = ""
    pending: list[int] | None = None
    for line in path.read_text().splitlines():
        if pending is not None:
            pending[1] += int(line.split()[1])
            pending = None
        elif line.startswith(("fn=", "cfn=")):
            key, _, rest = line.partition("=")
            ident, _, name = rest.partition(" ")
            if name:
                names[ident] = name
            if key == "cfn":
                callee = names.get(ident, ident)
        elif line.startswith("calls="):
            found = _HANDLER.search(callee)
            if found:
                pending = handlers.setdefault(found.group(1), [0, 0])
                pending[0] += int(line[len("calls=") :].split()[0])
        elif line.startswith("totals:") or line.startswith("summary:"):
            total = int(line.split()[1])
    return total, {name: (calls, cost) for name, (calls, cost) in handlers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--hours", type=float, default=0.25)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_run(args.events, args.tenants)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind not found: instructions not counted (Debian: apt install valgrind)")
        return
    if not compiled.status()["engine"]:
        print("the engine is not compiled: instructions not counted (make compile)")
        return
    with tempfile.TemporaryDirectory() as directory:
        run_batch(large(args.tenants), seed=1, hours=args.hours, out=directory)
        events_file = Path(directory) / "events.jsonl"
        lines = events_file.read_bytes().splitlines()
        kinds = Counter(type(event).__name__ for event in decode_events(lines))
        out = Path(directory) / "callgrind.out"
        command = ["setarch", platform.machine(), "-R", valgrind, "--tool=callgrind"]
        command += [f"--callgrind-out-file={out}", "--collect-atstart=no"]
        command += [f"--toggle-collect={_APPLY}", sys.executable, __file__, "--child"]
        command += ["--events", str(events_file), "--tenants", str(args.tenants)]
        environment = dict(os.environ, PYTHONHASHSEED="0")
        subprocess.run(command, check=True, capture_output=True, env=environment)
        total, handlers = read_counts(out)
    events = sum(kinds.values())
    print(f"scenario                    large, {args.tenants} tenants, {args.hours} h")
    print(f"events                      {events:>12,}")
    print(f"instructions in apply       {total:>12,}")
    print(f"instructions per event      {total / events:>12,.0f}")
    print("by handler                   calls   per call   share")
    for name, (calls, cost) in sorted(handlers.items(), key=lambda item: -item[1][1]):
        print(f"  _on_{name:<22} {calls:>9,} {cost / calls:>10,.0f} {cost / total:>7.1%}")


if __name__ == "__main__":
    main()
