"""`wallboard report`: interval tables from queue_log files imported with `wallboard import`,
worked out by hand, and from a simulated day against the simulator's ground truth."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from wallboard.cli import app
from wallboard.core.codec import decode_event
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.groundtruth import ContactRecord
from wallboard.stats.report import interval_report

DAY = "2024-03-04"


def _epoch(when: str) -> int:
    """``HH:MM:SS`` on ``DAY``, or a full ``YYYY-MM-DD HH:MM:SS``, UTC, in epoch seconds."""
    text = when if " " in when else f"{DAY} {when}"
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _queue_log(rows: list[str]) -> str:
    """queue_log text: ``time|callid|queue|member|VERB|data…`` rows whose time is written as
    ``HH:MM:SS`` (or a full date-time) and becomes epoch seconds; other lines stay as they are."""
    out = []
    for row in rows:
        head, sep, rest = row.partition("|")
        out.append(f"{_epoch(head)}{sep}{rest}" if sep and head[:1].isdigit() else row)
    return "\n".join(out) + "\n"


# Written from the Asterisk documentation (Operation/Logging/Queue-Logs): ENTERQUEUE(url|
# callerid|origposition), CONNECT(holdtime|bridgedchanneluniqueid|ringtime),
# COMPLETECALLER/COMPLETEAGENT(holdtime|calltime|origposition), ABANDON(position|origposition|
# waittime), EXITWITHTIMEOUT(position|origposition|waittime), PAUSE(reason).
MORNING = [
    "08:00:00|NONE|support|PJSIP/alice|ADDMEMBER|",
    "08:00:00|NONE|support|PJSIP/alice|UNPAUSE|",
    # c1: in and answered within the 08:00 quarter, 5 s wait, 120 s talk.
    "08:10:00|c1|support|NONE|ENTERQUEUE||5551000|1",
    "08:10:05|c1|support|PJSIP/alice|CONNECT|5|c1b|2",
    "08:12:05|c1|support|PJSIP/alice|COMPLETECALLER|5|120|1",
    # c2: enters at 08:14:50, answered at 08:15:20 (30 s, over the threshold): the 08:00 row.
    "08:14:50|c2|support|NONE|ENTERQUEUE||5551001|1",
    "08:15:20|c2|support|PJSIP/alice|CONNECT|30|c2b|3",
    "08:16:20|c2|support|PJSIP/alice|COMPLETEAGENT|30|60|1",
    # c4: abandoned after 10 s (within the threshold).
    "08:20:00|c4|support|NONE|ENTERQUEUE||5551003|1",
    "08:20:10|c4|support|NONE|ABANDON|1|1|10",
    # c3: enters at 08:29:59, abandons at 08:30:30: abandoned in the 08:15 row.
    "08:29:59|c3|support|NONE|ENTERQUEUE||5551002|1",
    "08:30:30|c3|support|NONE|ABANDON|1|1|31",
    "this is not a queue_log line",
    "08:34:00|c7|support|NONE|ENTERQUEUE||5551006|1",
    # c5, written after a later row (out of order): the import keeps time from going back
    # (docs/adapters.md), so its rows count at 08:34:00, the same interval; its wait (10 s)
    # and talk (120 s) are the ones the rows report.
    "08:31:00|c5|support|NONE|ENTERQUEUE||5551004|1",
    "08:31:10|c5|support|PJSIP/alice|CONNECT|10|c5b|4",
    "08:33:10|c5|support|PJSIP/alice|COMPLETECALLER|10|120|1",
    "08:35:00|c7|support|NONE|EXITWITHTIMEOUT|1|1|60",
    "08:40:00|NONE|support|PJSIP/alice|PAUSE|Lunch",
    "08:50:00|NONE|support|PJSIP/alice|UNPAUSE|",
    "1709539800|c9|support",  # cut short
]


def _import(tmp_path: Path, rows: list[str] | str, name: str = "queue_log") -> Path:
    """``wallboard import asterisk-queue-log`` of ``rows`` (a file's text as it is, or rows
    for ``_queue_log``): the events file."""
    source = tmp_path / name
    source.write_text(rows if isinstance(rows, str) else _queue_log(rows))
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(
        app, ["import", "asterisk-queue-log", str(source), "--tenant", "acme", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _report(events: Path, *options: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["report", "--events", str(events), *options])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in rows]


def test_a_morning_of_queue_log_worked_out_by_hand(tmp_path: Path) -> None:
    events = _import(tmp_path, MORNING)
    period = ["--from", f"{DAY}T08:00", "--to", f"{DAY}T09:00"]
    report = _report(events, "--interval", "15m", *period, "--format", "json")
    support = report["tenants"]["acme"]["queue"]["support"]
    rows, total = support["intervals"], support["total"]
    assert _column(rows, "start") == [f"{DAY}T08:{m}:00+00:00" for m in ("00", "15", "30", "45")]
    assert _column(rows, "received") == [2, 2, 2, 0]
    assert _column(rows, "answered") == [2, 0, 1, 0]
    assert _column(rows, "abandoned") == [0, 2, 0, 0]
    assert _column(rows, "diverted") == [0, 0, 1, 0]
    assert _column(rows, "answered_within_threshold") == [1, 0, 1, 0]
    # Service level (Cisco, abandoned negative): c2 exceeded; c4 abandoned within, c3 exceeded;
    # c5 within, c7 exceeded.
    assert _column(rows, "service_level_pct") == [50.0, 0.0, 50.0, None]
    assert _column(rows, "answered_rate_pct") == [100.0, 0.0, 50.0, None]
    assert _column(rows, "average_wait_answered_s") == [17.5, None, 10.0, None]
    assert _column(rows, "average_abandon_time_s") == [None, 20.5, None, None]
    assert _column(rows, "average_talk_s") == [90.0, None, 120.0, None]
    # The total is computed from the sums, not averaged over the rows.
    assert total["received"] == 6
    assert total["answered"] == 3
    assert total["abandoned"] == 2
    assert total["service_level_pct"] == pytest.approx(33.3)
    assert total["answered_rate_pct"] == 50.0
    assert total["average_wait_answered_s"] == 15.0  # (5 + 30 + 10) / 3
    assert total["average_abandon_time_s"] == 20.5
    assert total["average_talk_s"] == 100.0
    alice = report["tenants"]["acme"]["agent"]["PJSIP/alice"]
    rows, total = alice["intervals"], alice["total"]
    assert _column(rows, "answered") == [2, 0, 1, 0]
    assert _column(rows, "talk_time_s") == [180.0, 0.0, 120.0, 0.0]
    assert _column(rows, "login_time_s") == [900.0] * 4
    assert _column(rows, "pause_time_s") == [0.0, 0.0, 300.0, 300.0]
    assert _column(rows, "pause_by_reason_s") == [{}, {}, {"Lunch": 300.0}, {"Lunch": 300.0}]
    assert total["pause_by_reason_s"] == {"Lunch": 600.0}
    assert total["average_talk_s"] == 100.0
    # The corrupt rows change nothing: the same log without them gives the same report.
    clean = _import(tmp_path, [r for r in MORNING if r.count("|") >= 4], "clean")
    assert _report(clean, "--interval", "15m", *period, "--format", "json") == report


def test_csv_has_a_row_per_interval_a_total_row_and_a_column_per_pause_reason(
    tmp_path: Path,
) -> None:
    events = _import(tmp_path, MORNING)
    result = CliRunner().invoke(
        app,
        ["report", "--events", str(events), "--interval", "30m", "--from", f"{DAY}T08:00",
         "--to", f"{DAY}T09:00", "--format", "csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    queues, agents = result.stdout.split("\n\n")
    queue_rows = list(csv.DictReader(io.StringIO(queues)))
    assert [r["interval_start"] for r in queue_rows] == [
        f"{DAY}T08:00:00+00:00",
        f"{DAY}T08:30:00+00:00",
        "total",
    ]
    assert [r["received"] for r in queue_rows] == ["4", "2", "6"]
    assert [r["abandoned"] for r in queue_rows] == ["2", "0", "2"]
    assert [r["service_level_pct"] for r in queue_rows] == ["25.0", "50.0", "33.3"]
    agent_rows = list(csv.DictReader(io.StringIO(agents)))
    assert [r["pause_Lunch_s"] for r in agent_rows] == ["0.0", "600.0", "600.0"]


def test_a_call_across_midnight_counts_on_the_day_it_entered(tmp_path: Path) -> None:
    events = _import(
        tmp_path,
        [
            "2024-03-04 23:59:50|m1|support|NONE|ENTERQUEUE||5551000|1",
            "2024-03-05 00:00:15|m1|support|PJSIP/bob|CONNECT|25|m1b|2",
            "2024-03-05 00:02:15|m1|support|PJSIP/bob|COMPLETECALLER|25|120|1",
            "2024-03-05 00:10:00|m2|support|NONE|ENTERQUEUE||5551001|1",
            "2024-03-05 00:10:08|m2|support|NONE|ABANDON|1|1|8",
        ],
    )
    report = _report(
        events, "--interval", "60m", "--from", f"{DAY}T23:00", "--to", "2024-03-05T01:00",
        "--format", "json",
    )  # fmt: skip
    rows = report["tenants"]["acme"]["queue"]["support"]["intervals"]
    assert _column(rows, "start") == [f"{DAY}T23:00:00+00:00", "2024-03-05T00:00:00+00:00"]
    assert _column(rows, "answered") == [1, 0]
    assert _column(rows, "abandoned") == [0, 1]
    assert _column(rows, "average_wait_answered_s") == [25.0, None]
    # In Paris (UTC+1) the same call entered at 00:59:50 on the 5th.
    paris = _report(
        events, "--interval", "60m", "--time-zone", "Europe/Paris", "--from", "2024-03-05T00:00",
        "--to", "2024-03-05T02:00", "--format", "json",
    )  # fmt: skip
    rows = paris["tenants"]["acme"]["queue"]["support"]["intervals"]
    assert _column(rows, "start") == ["2024-03-05T00:00:00+01:00", "2024-03-05T01:00:00+01:00"]
    assert _column(rows, "answered") == [1, 0]
    assert _column(rows, "abandoned") == [0, 1]


def test_thresholds_per_queue_come_from_the_objects_file(tmp_path: Path) -> None:
    events = _import(tmp_path, MORNING)
    objects = tmp_path / "objects.yaml"
    objects.write_text("acme:\n  queues:\n    support: {threshold_s: 30}\n")
    report = _report(
        events, "--interval", "60m", "--from", f"{DAY}T08:00", "--to", f"{DAY}T09:00",
        "--objects", str(objects), "--format", "json",
    )  # fmt: skip
    total = report["tenants"]["acme"]["queue"]["support"]["total"]
    assert total["threshold_s"] == 30.0
    assert total["answered_within_threshold"] == 3  # c2's 30 s wait is now within
    # c1, c2, c5 answered within; c4 abandoned within; c3 (31 s) and c7 (60 s) exceeded.
    assert total["service_level_pct"] == 50.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--interval", "20m"], "--interval"),
        (["--interval", "soon"], "--interval"),
        (["--format", "xml"], "--format"),
        (["--from", "yesterday"], "--from"),
        (["--time-zone", "Mars/Olympus"], "--time-zone"),
        (["--from", f"{DAY}T09:00", "--to", f"{DAY}T08:00"], "--to"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path: Path, options: list[str], message: str) -> None:
    events = _import(tmp_path, MORNING)
    result = CliRunner().invoke(app, ["report", "--events", str(events), *options])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_files_and_bad_definitions_are_clear_errors(tmp_path: Path) -> None:
    events = _import(tmp_path, MORNING)
    missing = CliRunner().invoke(app, ["report", "--events", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    assert "error:" in missing.output
    definitions = tmp_path / "defs.yaml"
    definitions.write_text(
        "statistics:\n  - {id: report.queue.nope, object: queue, category: TotalNumber,"
        " mask: [entered]}\n"
    )
    bad = CliRunner().invoke(
        app, ["report", "--events", str(events), "--definitions", str(definitions)]
    )
    assert bad.exit_code == 2
    assert "report.queue.nope is not one of the report's statistics" in bad.output


def test_a_definition_can_attribute_outcomes_to_completion_instead(tmp_path: Path) -> None:
    events = _import(tmp_path, MORNING)
    definitions = tmp_path / "defs.yaml"
    definitions.write_text(
        "statistics:\n  - {id: report.queue.abandoned, object: queue, category: AverageTime,"
        " mask: [abandoned], filter: {media: [voice]}, attribution: completed}\n"
    )
    report = _report(
        events, "--interval", "15m", "--from", f"{DAY}T08:00", "--to", f"{DAY}T09:00",
        "--definitions", str(definitions), "--format", "json",
    )  # fmt: skip
    rows = report["tenants"]["acme"]["queue"]["support"]["intervals"]
    assert _column(rows, "abandoned") == [0, 1, 1, 0], "c3 abandoned at 08:30:30"


WAZO = Path(__file__).parent.parent / "fixtures" / "adapters" / "queue_log_wazo_scenarios.log"


def test_refusals_by_reason_diversions_by_cause_and_wrap_up_from_wazo_rows(tmp_path: Path) -> None:
    # The fixture's rows, by hand (2012-07-01, UTC): refused at the door CLOSED, FULL (twice:
    # 08:00:05 and 08:59:59.999999, which is 08:59:59.999, still the 08:00 hour), JOINEMPTY,
    # JOINUNAVAIL; entered then diverted on load DIVERT_CA_RATIO, DIVERT_HOLDTIME; entered:
    # leave_1 (LEAVEEMPTY after 30 s), answered_1 (7 s, 60 s talk, 15 s wrap-up), ghost_1
    # (answered after 4 s by member NONE), timeout_1 (EXITWITHTIMEOUT after 60 s); FULL at 09:00.
    events = _import(tmp_path, WAZO.read_text())
    report = _report(
        events, "--interval", "60m", "--from", "2012-07-01T08:00", "--to", "2012-07-01T10:00",
        "--format", "json",
    )  # fmt: skip
    hours = report["tenants"]["acme"]["queue"]["q01"]["intervals"]
    eight = hours[0]
    assert eight["received"] == 11
    assert (eight["entered"], eight["refused"]) == (6, 5)
    assert (eight["refused_closed"], eight["refused_full"], eight["refused_no_agents"]) == (1, 2, 2)
    assert eight["diverted"] == 4
    assert (eight["diverted_on_load"], eight["diverted_no_agents"]) == (2, 1)
    assert (eight["diverted_timeout"], eight["diverted_other"]) == (1, 0)
    assert eight["answered"] == 2
    assert eight["average_wait_answered_s"] == 5.5
    # Service-level events: 2 answered within 20 s, leave_1 and timeout_1 past it (the
    # diversions on load left at once, within).
    assert eight["service_level_pct"] == 50.0
    assert eight["answered_rate_pct"] == 18.2
    assert (eight["handled"], eight["average_talk_s"]) == (1, 60.0), "no agent's talk for NONE"
    assert (hours[1]["received"], hours[1]["refused_full"]) == (1, 1)
    agent = report["tenants"]["acme"]["agent"]["Agent/1001"]["intervals"][0]
    assert (agent["answered"], agent["talk_time_s"], agent["acw_time_s"]) == (1, 60.0, 15.0)
    assert agent["login_time_s"] == 3600.0


def test_a_simulated_day_equals_the_simulators_ground_truth(tmp_path: Path) -> None:
    # The demo's voice queues hold at most 2 waiting calls: some calls are turned away (full).
    demo = builtin_scenario("demo")
    scenario = msgspec.structs.replace(
        demo,
        tenants=[
            msgspec.structs.replace(
                tenant,
                queues=[
                    msgspec.structs.replace(q, max_waiting=2) if q.media == "voice" else q
                    for q in tenant.queues
                ],
            )
            for tenant in demo.tenants
        ],
    )
    run_batch(scenario, seed=3, hours=3, out=tmp_path)
    events = [decode_event(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    records = [
        msgspec.json.decode(line, type=ContactRecord)
        for line in (tmp_path / "calls.jsonl").read_bytes().splitlines()
    ]
    report = interval_report(events, interval_min=30)
    quarter = 30 * 60_000
    expected: dict[tuple[str, str, int], Counter[str]] = {}
    for r in records:
        if r.media != "voice" or r.queue is None:
            continue
        sums = expected.setdefault((r.tenant, r.queue, r.entered_at // quarter), Counter())
        if r.refused is not None:
            sums["refused"] += 1
            continue
        sums["entered"] += 1
        if r.answered_at is not None:
            sums["answered"] += 1
            sums["wait_ms"] += r.answered_at - r.entered_at
        if r.abandoned_at is not None:
            sums["abandoned"] += 1
    checked = refused = 0
    for tenant, types in report.tenants.items():
        for queue, table in types.get("queue", {}).items():
            for row in table.intervals:
                truth = expected.pop((tenant, queue, row["start"] // quarter), Counter())
                assert row["entered"] == truth["entered"], (queue, row["start"])
                assert row["refused"] == row["refused_full"] == truth["refused"]
                assert row["answered"] == truth["answered"], (queue, row["start"])
                assert row["abandoned"] == truth["abandoned"], (queue, row["start"])
                if truth["answered"]:
                    wait = truth["wait_ms"] / truth["answered"] / 1000
                    assert row["average_wait_answered_s"] == pytest.approx(wait, abs=0.051)
                checked += truth["entered"]
                refused += truth["refused"]
    assert not expected, "every interval with calls is in the report"
    assert checked > 300
    assert refused > 0, "the day has refusals"
