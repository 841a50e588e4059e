"""The offline replay command: JSON shape, CSV, --at, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_process import assert_refused, wallboard
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


def test_replay_at_a_time_leaves_out_the_events_after_it(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _write(log)
    # Before the answer at BASE + 4 s: the call still waits, the agent is not talking yet.
    result = CliRunner().invoke(app, ["--events", str(log), "--at", str(BASE + 2_000)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1])
    assert data["t"]["queue"]["q"]["queue.calls_waiting"] == 1
    assert data["t"]["queue"]["q"]["queue.answered"] == 0


# --- bad input: a clear error, exit 2, no traceback (run as a user runs it) ----------------------


def test_the_time_zone_applies_without_objects(tmp_path: Path) -> None:
    # Answered at 22:13 UTC, read at 00:13 UTC the next day: "today" has started again in UTC,
    # not yet in New York (19:13).
    log = tmp_path / "events.jsonl"
    _write(log)
    answered = {}
    for zone in ("UTC", "America/New_York"):
        result = CliRunner().invoke(
            app, ["--events", str(log), "--at", str(BASE + 7_200_000), "--time-zone", zone]
        )
        assert result.exit_code == 0, result.output
        answered[zone] = json.loads(result.stdout)["t"]["queue"]["q"]["queue.answered"]
    assert answered == {"UTC": 0, "America/New_York": 1}


BINARY = bytes(range(256)) * 8 + b"\n\x00\xff\n"


@pytest.mark.parametrize(
    ("option", "content", "named"),
    [
        ("--objects", b"t: [\n", "not valid YAML"),
        ("--objects", BINARY, "not UTF-8"),
        ("--objects", b'!!python/object/apply:os.system ["echo owned"]\n', "python/object"),
        ("--objects", b"t: {agent_groups: 5}\n", "--objects"),
        ("--definitions", BINARY, "not UTF-8"),
        ("--definitions", b"[" * 100_000, "nested deeper than 100"),
    ],
)
def test_a_bad_input_file_is_refused_by_name(
    tmp_path: Path, option: str, content: bytes, named: str
) -> None:
    log = tmp_path / "events.jsonl"
    _write(log)
    bad = tmp_path / "input.yaml"
    bad.write_bytes(content)
    result = wallboard("stats", "--events", log, option, bad)
    assert_refused(result, named)


def test_yaml_aliases_cannot_expand_beyond_a_bound(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = tmp_path / "objects.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    log = tmp_path / "events.jsonl"
    _write(log)
    assert_refused(wallboard("stats", "--events", log, "--objects", bomb), "expands to more than")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--at", "99999999999999999999999"], "--at"),
        (["--at", "9999-12-31T23:59:59-14:00"], "--at"),
        (["--lateness-ms", "99999999999999999999"], "--lateness-ms"),
        (["--lateness-ms", "-1"], "--lateness-ms"),
        (["--time-zone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--time-zone", "../../etc/passwd"], "unknown time zone"),
    ],
)
def test_a_bad_option_is_refused_by_name(tmp_path: Path, options: list[str], named: str) -> None:
    log = tmp_path / "events.jsonl"
    _write(log)
    assert_refused(wallboard("stats", "--events", log, *options), named)


def test_a_log_without_one_valid_event_is_an_error_saying_how_much_was_bad(
    tmp_path: Path,
) -> None:
    log = tmp_path / "events.bin"
    log.write_bytes(BINARY + b"\x00" * (2 * 1024 * 1024) + b"\n")
    result = wallboard("stats", "--events", log)
    assert_refused(result, "no valid event", "all 11 non-empty line(s) are bad")
    assert "longer than" in result.stderr
    assert result.stdout == ""


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
