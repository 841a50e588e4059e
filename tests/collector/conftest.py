"""Events the collector tests share: half an hour of the demo scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario


@pytest.fixture(scope="session")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    out: Path = tmp_path_factory.mktemp("sim")
    run_batch(builtin_scenario("demo"), seed=3, hours=0.5, out=out)
    return (out / "events.jsonl").read_bytes().splitlines()
