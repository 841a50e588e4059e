"""The compiled engine (``make compile``) behaves exactly as its Python source, and a compiled
module older than its source is reported."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from msgspec import to_builtins

from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario
from wallboard.stats import StatisticsEngine, compiled, engine, standard_library

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


def test_compiled_engine_equals_its_python_source(pure: ModuleType, tmp_path: Path) -> None:
    run_batch(builtin_scenario("demo"), seed=5, hours=3, out=tmp_path)
    events = [decode_event(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    library = standard_library()
    discover = pure.StatisticsEngine(library)
    for event in events:
        discover.apply(event)
    targets = [
        (tenant, object_type, object_id)
        for tenant in discover.tenants()
        for object_type, ids in discover.known_objects(tenant).items()
        for object_id in ids
    ]
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
