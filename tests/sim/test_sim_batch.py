"""Batch mode as tuned for speed: output pinned byte for byte, collector pause, write errors."""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import msgspec
import pytest

from wallboard.core.errors import InvalidInput
from wallboard.core.memory import collector_paused
from wallboard.sim.batch import CHUNK_EVENTS, run_batch
from wallboard.sim.builtin import builtin_scenario, erlang, large
from wallboard.sim.engine import Engine
from wallboard.sim.scenario import Scenario

FILES = ("events.jsonl", "calls.jsonl", "agents.jsonl")

# sha256 (first 32 hex digits) of the files, taken before the engine was tuned for speed: an
# optimisation must leave every byte alone. A deliberate change of what the simulator does
# changes these; update them then, and say so in the change. (Last: a routing point's
# call.diverted names its cause, "routed", and a calls.jsonl record its refusal reason and the
# instant it was diverted on timeout, null for the calls of these scenarios; without these
# three fields the files are byte for byte the earlier ones; and the demo staffed to its
# arrival profile, which changes its three files.)
GOLDEN: dict[str, tuple[str, str, str]] = {
    "demo": (
        "b4c899f146d234c6936439d1884dfb4a",
        "0aa51abf6370e3666f17ade6b7ec05c9",
        "83bb71e0924402ce18754d816cdd2ef7",
    ),
    "large": (
        "693efe37243b011ba565696d03a0cd7f",
        "df1bdb3bbccafa804e0b62ac129a0640",
        "180a8b1dd15fd94b2857b5341beeb098",
    ),
    "erlang": (
        "a99d1f96cf96acbd17ccdbe0382f069f",
        "6b26fa4db58a6fca15269442ea27ff5f",
        "be7cc5609bcdf472a45fa07e8873bfb0",
    ),
}

CASES: dict[str, tuple[Scenario, int, float]] = {
    "demo": (builtin_scenario("demo"), 7, 3.0),
    "large": (large(tenants=1), 2, 0.25),
    "erlang": (erlang(agents=10, calls_per_hour=200, aht=180, patience=60), 3, 5.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_is_byte_identical_to_the_pinned_digests(name: str, tmp_path: Path) -> None:
    scenario, seed, hours = CASES[name]
    run_batch(scenario, seed=seed, hours=hours, out=tmp_path)
    digests = tuple(
        hashlib.sha256((tmp_path / file).read_bytes()).hexdigest()[:32] for file in FILES
    )
    assert digests == GOLDEN[name]


def test_a_run_makes_no_reference_cycles() -> None:
    """Batch mode pauses the cyclic collector on the strength of this: everything a run
    allocates must be freed by reference counting alone."""
    gc.collect()
    with collector_paused():
        engine = Engine(builtin_scenario("demo"), 5)
        end_ms = engine.start_ms + 9 * 3_600_000
        done = False
        while not done:
            done = engine.run_until(end_ms, CHUNK_EVENTS)
            if done:
                engine.finish(end_ms)
            engine.events.clear()
            engine.records.clear()
            engine.intervals.clear()
        # The engine itself is alive (and referenced here), so only garbage is found.
        unreachable = gc.collect()
    assert engine.sequences["voice"] > 0
    assert unreachable == 0


def test_collector_paused_restores_the_collector_state() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_run_leaves_the_collector_running(tmp_path: Path) -> None:
    run_batch(erlang(), seed=1, hours=1, out=tmp_path)
    assert gc.isenabled()


def test_a_failed_write_names_the_file(tmp_path: Path) -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.fail("this test needs /dev/full (Linux)")
    (tmp_path / "agents.jsonl").symlink_to(full)
    with pytest.raises(InvalidInput) as caught:
        run_batch(builtin_scenario("demo"), seed=1, hours=1, out=tmp_path)
    assert caught.value.detail == {"field": "out"}
    assert "agents.jsonl" in caught.value.message
    assert "No space left on device" in caught.value.message
    assert gc.isenabled()


def test_chunked_files_equal_one_run_encoded_at_once(tmp_path: Path) -> None:
    """Draining the engine in chunks (with the collector paused) changes nothing: the files
    are the whole run, unchunked, encoded in one go."""
    scenario = large(tenants=1)
    summary = run_batch(scenario, seed=4, hours=2, out=tmp_path)
    assert summary.events > 3 * CHUNK_EVENTS
    engine = Engine(scenario, 4)
    engine.run_until(summary.end_ms)
    engine.finish(summary.end_ms)
    encoder = msgspec.json.Encoder()
    assert (tmp_path / "events.jsonl").read_bytes() == encoder.encode_lines(engine.events)
    assert (tmp_path / "calls.jsonl").read_bytes() == encoder.encode_lines(engine.records)
    assert (tmp_path / "agents.jsonl").read_bytes() == encoder.encode_lines(engine.intervals)
