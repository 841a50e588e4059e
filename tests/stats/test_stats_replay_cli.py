"""The offline replay command: JSON shape, CSV, --at, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from wallboard.core import events as ev
from wallboard.core.codec import encode
from wallboard.replay_cli import app

BASE = 1_700_000_000_000


def _write(path: Path) -> None:
    events = [
        ev.CallQueued(tenant="t", source="s", seq=1, id="e1", ts=BASE, call="c", queue="q"),
        ev.CallEstablished(
            tenant="t", source="s", seq=2, id="e2", ts=BASE + 4_000, call="c", agent="a"
        ),
    ]
    path.write_bytes(b"".join(encode(e) for e in events) + b"not json\n")


def test_replay_prints_nested_json(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _write(log)
    result = CliRunner().invoke(app, ["--events", str(log), "--at", str(BASE + 10_000)])
    assert result.exit_code == 0, result.output
    start = result.stdout.index("{")
    data = json.loads(result.stdout[start : result.stdout.rindex("}") + 1])
    assert data["t"]["queue"]["q"]["queue.answered"] == 1
    assert data["t"]["queue"]["q"]["queue.asa"] == 4000.0
    assert data["t"]["agent"]["a"]["agent.status"]["state"] == "talking"
    assert data["t"]["agent"]["a"]["agent.time_in_status"] == 6000
    assert "1 undecodable line(s) skipped" in result.output


def test_replay_csv_and_errors(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _write(log)
    result = CliRunner().invoke(app, ["--events", str(log), "--format", "csv"])
    assert result.exit_code == 0
    assert "t,queue,q,queue.answered,1" in result.stdout
    bad = CliRunner().invoke(app, ["--events", str(log), "--at", "yesterday"])
    assert bad.exit_code == 2
    assert "--at" in bad.output
    missing = CliRunner().invoke(app, ["--events", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2


def test_replay_at_a_time_leaves_out_the_events_after_it(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _write(log)
    # Before the answer at BASE + 4 s: the call still waits, the agent is not talking yet.
    result = CliRunner().invoke(app, ["--events", str(log), "--at", str(BASE + 2_000)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1])
    assert data["t"]["queue"]["q"]["queue.calls_waiting"] == 1
    assert data["t"]["queue"]["q"]["queue.answered"] == 0
