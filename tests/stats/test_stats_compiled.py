"""The compiled engine (``make compile``) behaves exactly as its Python source, and a compiled
module older than its source is reported."""

from __future__ import annotations

import gc
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from msgspec import to_builtins

from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario
from wallboard.stats import (
    DefinitionSet,
    StatisticsEngine,
    compiled,
    engine,
    standard_library,
    state,
    tallies,
    windows,
)
from wallboard.stats.report import report_definitions

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _pure_engine_module() -> ModuleType:
    """``engine.py`` executed as Python, with the other compiled modules as Python too,
    beside the compiled modules of the same sources (which stay in ``sys.modules``)."""
    directory = Path(compiled.__file__).parent
    names = [f"wallboard.stats.{name}" for name in ("windows", "state", "tallies", "engine")]
    kept = {name: sys.modules[name] for name in names}
    loaded: dict[str, ModuleType] = {}
    try:
        for name in names:
            spec = importlib.util.spec_from_file_location(
                name, directory / f"{name.rsplit('.', 1)[1]}.py"
            )
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # what the next module imports
            spec.loader.exec_module(module)
            loaded[name] = module
    finally:
        sys.modules.update(kept)
    for name, module in loaded.items():
        assert module.__file__ is not None
        assert module.__file__.endswith(".py")
        assert kept[name].__file__ != module.__file__
    return loaded["wallboard.stats.engine"]


@pytest.fixture(scope="module")
def pure() -> ModuleType:
    if not compiled.status()["engine"]:
        message = "the engine is not compiled (make compile)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must test the compiled engine", pytrace=False)
        pytest.skip(message)
    assert engine.__file__ is not None
    assert not engine.__file__.endswith(".py"), "the compiled module is the one imported"
    return _pure_engine_module()


def _demo(
    tmp_path: Path, seed: int, hours: float, engine_class: Any
) -> tuple[list[Event], list[tuple[str, str, str]]]:
    """The events of the demo scenario, and every object they name (as ``engine_class`` finds
    them): tenant, object type, id."""
    run_batch(builtin_scenario("demo"), seed=seed, hours=hours, out=tmp_path)
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    events = [event for event in map(decode_event, lines) if isinstance(event, Event)]
    discover = engine_class(standard_library())
    for event in events:
        discover.apply(event)
    targets = [
        (tenant, object_type, object_id)
        for tenant in discover.tenants()
        for object_type, ids in discover.known_objects(tenant).items()
        for object_id in ids
    ]
    return events, targets


def test_compiled_engine_equals_its_python_source(pure: ModuleType, tmp_path: Path) -> None:
    events, targets = _demo(tmp_path, 5, 3, pure.StatisticsEngine)
    library = standard_library()
    engines = [StatisticsEngine(library), pure.StatisticsEngine(library)]
    assert type(engines[0]) is not type(engines[1])
    opened = 0
    for each in engines:
        for tenant, object_type, object_id in targets:
            for definition in library:
                if definition.object.value == object_type:
                    each.open(tenant, object_type, object_id, definition.id)
                    opened += 1
    assert opened > 2_000
    keys = engines[0].opened()
    checkpoints = 0
    for index, event in enumerate(events, 1):
        for each in engines:
            each.apply(event)
        if index % 2_000 == 0 or index == len(events):
            assert isinstance(event, Event)
            now = event.ts + 1_000
            # (each module has its own value classes: compared as plain data)
            compiled_values = to_builtins([engines[0].reading(*key, now) for key in keys])
            python_values = to_builtins([engines[1].reading(*key, now) for key in keys])
            assert compiled_values == python_values, f"values after event {index}"
            checkpoints += 1
    assert checkpoints >= 5
    assert engines[0].anomalies == engines[1].anomalies
    assert engines[0].snapshot() == engines[1].snapshot()


def test_compiled_interval_reads_with_late_outcomes_equal_the_python_source(
    pure: ModuleType, tmp_path: Path
) -> None:
    # The interval report's statistics: attributed to the entry, closed intervals kept for
    # late outcomes (slots after the first), read by interval.
    events, targets = _demo(tmp_path, 7, 2, pure.StatisticsEngine)
    definitions = DefinitionSet(list(report_definitions(15).values()))
    engines = [StatisticsEngine(definitions), pure.StatisticsEngine(definitions)]
    for each in engines:
        for tenant, object_type, object_id in targets:
            for definition in definitions:
                if definition.object.value == object_type:
                    each.open(tenant, object_type, object_id, definition.id)
    keys = engines[0].opened()
    assert len(keys) > 200
    quarter = 15 * 60_000
    checkpoints = 0
    every = max(1, len(events) // 5)
    for index, event in enumerate(events, 1):
        for each in engines:
            each.apply(event)
        if index % every == 0 or index == len(events):
            assert isinstance(event, Event)
            now = event.ts + 1_000
            starts = [now // quarter * quarter - back * quarter for back in range(3)]
            compiled_values, python_values = (
                to_builtins(
                    [e.reading(*key, now, interval_start=s) for key in keys for s in starts]
                )
                for e in engines
            )
            assert compiled_values == python_values, f"values after event {index}"
            checkpoints += 1
    assert checkpoints >= 5
    assert engines[0].snapshot() == engines[1].snapshot()


def test_a_compiled_module_older_than_its_source_is_reported(tmp_path: Path) -> None:
    for name in ("fast", "plain"):
        (tmp_path / f"{name}.py").write_text("")
    (tmp_path / "fast.pxd").write_text("")
    assert compiled.compilable(tmp_path) == ["fast"]
    assert compiled.status(tmp_path) == {"fast": False}
    assert compiled.stale(tmp_path) == [], "not compiled is not stale"
    built = tmp_path / f"fast{SUFFIX}"
    built.write_bytes(b"")
    os.utime(tmp_path / "fast.py", (1_000, 1_000))
    os.utime(tmp_path / "fast.pxd", (1_000, 1_000))
    os.utime(built, (2_000, 2_000))
    assert compiled.status(tmp_path) == {"fast": True}
    assert compiled.stale(tmp_path) == []
    os.utime(tmp_path / "fast.pxd", (3_000, 3_000))
    assert compiled.stale(tmp_path) == ["fast"], "a newer .pxd makes it stale"
    os.utime(tmp_path / "fast.pxd", (1_000, 1_000))
    os.utime(tmp_path / "fast.py", (3_000, 3_000))
    assert compiled.stale(tmp_path) == ["fast"], "a newer .py makes it stale"


def _run_everything_open(events: list[Event], targets: list[tuple[str, str, str]]) -> int:
    """Build an engine with the whole library open on ``targets``, feed it ``events``, drop it;
    the bytes it held at its largest."""
    library = standard_library()
    each = StatisticsEngine(library)
    for tenant, object_type, object_id in targets:
        for definition in library:
            if definition.object.value == object_type:
                each.open(tenant, object_type, object_id, definition.id)
    for event in events:
        each.apply(event)
    held = tracemalloc.get_traced_memory()[0]
    untracked = (
        engine.Node, engine.ActionSub, engine.ServiceSub, engine.StatusSub, engine.TimesSub,
        engine.StatusRoute, engine.Routes, engine.FactRoute, windows.FixedWindows,
        tallies.Tally, tallies.StatusTally, tallies.SlidingStatusTally, tallies.StatusTimes,
        tallies.SlidingStatusTimes, state.AgentState, state.MediaState, state.ContactState,
        state.Leg,
    )  # fmt: skip
    assert not [o for o in gc.get_objects() if isinstance(o, untracked)], "no_gc classes tracked"
    # Nor are the arrays of the accumulators' cells, where there are any: compiled, the cells
    # of a fixed or session tally and of status times are in the object itself.
    kept = [
        sub.tally
        for node in each._nodes.values()
        for sub in node.tallies.values()
        if isinstance(sub.tally, tallies.Tally | tallies.StatusTimes)
    ]
    rings = [tally for tally in kept if isinstance(tally, tallies.Tally) and tally.slots > 1]
    assert len(kept) > 100
    assert rings
    assert all(tally.data is None for tally in kept if tally not in rings), "cells not inline"
    assert not [t.data for t in rings if gc.is_tracked(t.data)], "cell arrays tracked"
    del each
    return held


def test_compiled_state_and_accumulators_stay_out_of_the_collector_yet_are_freed(
    pure: ModuleType, tmp_path: Path
) -> None:
    # Compiled, the engine's own objects are outside the cyclic garbage collector (fewer
    # objects for each collection to walk); sound only while none can be part of a reference
    # cycle: an engine dropped must free all it held, run after run.
    # Two hours: the demo's day opens at 07:00 with its early shift only.
    events, targets = _demo(tmp_path, 6, 2, StatisticsEngine)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        held = _run_everything_open(events, targets) - base
        gc.collect()
        after = [tracemalloc.get_traced_memory()[0] - base]
        for _ in range(8):
            _run_everything_open(events, targets)
            gc.collect()
            after.append(tracemalloc.get_traced_memory()[0] - base)
    finally:
        tracemalloc.stop()
    assert held > 500_000
    # What stays after a run is caches and free lists (the interpreter's, msgspec's), the same
    # as running as Python, growing less and less: a share of every engine kept (a reference
    # cycle through an object the collector does not see) would grow with each run.
    assert after[-1] - after[-5] < held / 20, (held, after)


def test_the_engine_runs_as_python_where_cython_is_not_installed(tmp_path: Path) -> None:
    # The Cython decorators come from wallboard.stats._shadow then: nothing to import at run
    # time beyond the package's own dependencies.
    package = Path(compiled.__file__).parent.parent
    copy = tmp_path / "src" / "wallboard"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns(f"*{SUFFIX}", "__pycache__"))
    script = (
        "import sys\n"
        "sys.modules['cython'] = None  # import cython raises ImportError\n"
        "from wallboard.stats import StatisticsEngine, engine, standard_library\n"
        "from wallboard.core.events import AgentLogin\n"
        "assert engine.__file__.endswith('.py'), engine.__file__\n"
        "e = StatisticsEngine(standard_library())\n"
        "e.open('t', 'agent', 'a', 'agent.status')\n"
        "e.apply(AgentLogin(id='1', ts=1_000, tenant='t', source='s', seq=1, agent='a'))\n"
        "print(e.value('t', 'agent', 'a', 'agent.status', 2_000))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(copy.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "state='not_ready'" in done.stdout, done.stdout
    assert "since=1000" in done.stdout, done.stdout


def _declared_layouts() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each event class engine.pxd declares → (its C struct's own fields, its Cython fields)."""
    text = (Path(compiled.__file__).parent / "engine.pxd").read_text()
    structs = {
        name: tuple(field.strip().lstrip("*") for field in fields.split(","))
        for fields, name in re.findall(
            r"typedef struct \{\s*(?:PyObject_HEAD|wb_Event __pyx_base;)\s*PyObject ([^;]*);"
            r"\s*\} wb_(\w+);",
            text,
        )
    }
    classes = {
        name: tuple(field.strip() for field in fields.split(","))
        for name, fields in re.findall(
            r"ctypedef class wallboard\.core\.events\.(\w+)[^:]*:\s*cdef object ([^\n]*)", text
        )
    }
    assert structs.keys() == classes.keys()
    return {name: (structs[name], classes[name]) for name in structs}


def test_engine_pxd_declares_every_event_class_with_its_slots_in_order() -> None:
    """The compiled engine reads an event's fields at the places engine.pxd declares (after
    the object header, Event's slots, then the class's own, in ``__slots__`` order); a field
    declared out of order would read another field."""
    declared = _declared_layouts()
    event_classes = {
        kind.__name__: kind
        for kind in Event.__subclasses__()
        if kind.__module__ == Event.__module__  # (not those tests define)
    }
    assert declared.keys() == {"Event"} | event_classes.keys()
    assert declared["Event"] == (Event.__dict__["__slots__"],) * 2
    for name, kind in event_classes.items():
        assert declared[name] == (kind.__dict__["__slots__"],) * 2, name


def test_an_event_class_laid_out_otherwise_stops_the_compiled_engine(pure: ModuleType) -> None:
    class Elsewhere:
        __slots__ = ("agent", "id")

    engine.check_event_layouts(Event.__subclasses__())  # the real ones (and tests') are in place
    with pytest.raises(ImportError, match=r"field 'id' of Elsewhere is not at byte 16"):
        engine.check_event_layouts([Elsewhere])
    pure.check_event_layouts([Elsewhere])  # (as Python, fields are read by name)


def test_compile_engine_shows_each_module_and_keeps_the_tools_output_apart() -> None:
    """``make compile`` shows this progress and keeps standard error for its log."""
    if any(compiled.compiled_file(name) is None for name in compiled.compilable()):
        pytest.skip("the engine is not compiled here (make compile)")
    tool = Path(__file__).parents[2] / "tools" / "compile-engine"
    done = subprocess.run(
        [sys.executable, str(tool)], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for name in compiled.compilable():
        assert any(
            re.fullmatch(rf"compile-engine: {name}: (up to date|built) \(\d+ s\)", line)
            for line in lines
        ), done.stdout
    assert re.fullmatch(r"compile-engine: done \(\d+ s\)", lines[-1])
    assert "warning" not in done.stdout
