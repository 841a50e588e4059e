"""The offline replay command: JSON shape, CSV, --at, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from wallboard.core import events as ev
from wallboard.core.codec import encode
from wallboard.replay_cli import app
from wallboard.stats import replay, standard_library

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


def test_a_routing_point_appears_under_its_own_type_only() -> None:
    # call.diverted names the routing point in ``queue`` without saying it is one: the
    # engine, which holds the call waiting there, knows its type.
    events = [
        ev.CallQueued(
            tenant="t",
            source="s",
            seq=1,
            id="e1",
            ts=BASE,
            call="c",
            queue="rp",
            point=ev.QueueKind.ROUTING_POINT,
        ),
        ev.CallDiverted(
            tenant="t",
            source="s",
            seq=2,
            id="e2",
            ts=BASE + 1_000,
            call="c",
            queue="rp",
            target="q",
        ),
        ev.CallQueued(tenant="t", source="s", seq=3, id="e3", ts=BASE + 1_000, call="c", queue="q"),
        ev.CallEstablished(
            tenant="t", source="s", seq=4, id="e4", ts=BASE + 3_000, call="c", agent="a", queue="q"
        ),
        # Names a queue where the call is not: no object of a guessed type.
        ev.CallAbandoned(
            tenant="t", source="s", seq=5, id="e5", ts=BASE + 4_000, call="c", queue="elsewhere"
        ),
    ]
    for lateness in (0, 5_000):
        result, _ = replay(events, standard_library(), lateness_ms=lateness)
        assert sorted(result["t"]["queue"]) == ["q"]
        assert sorted(result["t"]["routing_point"]) == ["rp"]
        assert result["t"]["routing_point"]["rp"]["routing_point.diverted"] == 1
