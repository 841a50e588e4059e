"""``wallboard import`` as a user runs it: bad files, where the events go, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_process import assert_refused, wallboard

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
QUEUE_LOG = FIXTURES / "queue_log_scenarios.log"
PLATFORMS = ["asterisk-queue-log", "asterisk-ami", "freeswitch", "amazon-connect", "twilio"]
BINARY = bytes(range(256)) * 4


def _summary(stderr: str) -> dict[str, object]:
    lines = [line for line in stderr.splitlines() if line.startswith("{")]
    summary: dict[str, object] = json.loads(lines[-1])
    return summary


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_file_with_no_usable_record_fails_and_says_how_much_was_bad(
    tmp_path: Path, platform: str
) -> None:
    data = tmp_path / "garbage.bin"
    data.write_bytes(BINARY)
    result = wallboard("import", platform, data, "--tenant", "t1", "--out", tmp_path / "o.jsonl")
    assert_refused(result, "no usable record", "record(s) were bad")
    summary = _summary(result.stderr)
    assert summary["events"] == 0


def test_ami_bad_records_are_counted_among_the_records(tmp_path: Path) -> None:
    capture = tmp_path / "ami.txt"
    capture.write_bytes(
        b"no colon here\nnor here\n\n"
        b"Event: QueueMemberAdded\nTimestamp: 1700000000.0\nQueue: q1\nInterface: SIP/1\n"
        b"MemberName: a1\nStateInterface: SIP/1\nMembership: dynamic\nPenalty: 0\n"
        b"CallsTaken: 0\nLastCall: 0\nStatus: 1\nPaused: 0\n\n"
    )
    result = wallboard("import", "asterisk-ami", capture, "--tenant", "t1", "--out", "-")
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stderr)
    bad = sum(summary["bad"].values())  # type: ignore[attr-defined]
    assert bad == 2
    assert summary["records"] == 3


def test_out_cannot_be_the_input(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(QUEUE_LOG.read_bytes())
    link = tmp_path / "same"
    link.symlink_to(log)
    for out in (log, link):
        result = wallboard("import", "asterisk-queue-log", log, "--tenant", "t1", "--out", out)
        assert_refused(result, "is the input file")
        assert log.read_bytes() == QUEUE_LOG.read_bytes()


def test_out_dash_is_standard_output(tmp_path: Path) -> None:
    result = wallboard(
        "import", "asterisk-queue-log", QUEUE_LOG, "--tenant", "t1", "--out", "-", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists()
    lines = result.stdout.splitlines()
    assert len(lines) == _summary(result.stderr)["events"] == 43
    assert all(json.loads(line)["tenant"] == "t1" for line in lines)


def test_deeply_nested_json_is_one_bad_record_and_the_rest_is_imported(tmp_path: Path) -> None:
    login = {
        "EventType": "LOGIN",
        "EventId": "e1",
        "EventTimestamp": "2024-05-01T10:00:00.000Z",
        "AgentARN": "arn:aws:connect:eu-west-1:1:instance/i/agent/a1",
        "CurrentAgentSnapshot": {"AgentStatus": {"Name": "Available"}},
    }
    data = tmp_path / "connect.json"
    data.write_text("[" * 100_000 + "\n" + json.dumps(login) + "\n")
    result = wallboard("import", "amazon-connect", data, "--tenant", "t1", "--out", "-")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = _summary(result.stderr)
    assert summary["bad"] == {"too_deep": 1}
    assert summary["events"] == len(result.stdout.splitlines()) > 0


def _peak_rss_kib(*args: str | Path) -> int:
    """Peak resident memory of ``wallboard ARGS`` run in a fresh interpreter."""
    code = (
        "import resource, runpy, sys\n"
        "sys.argv = ['wallboard', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('wallboard.cli', run_name='__main__')\n"
        "finally:\n"
        "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stderr.rsplit("maxrss", 1)[1].split()[0])


def test_an_import_streams_its_events_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "queue_log"
    with big.open("w") as handle:
        handle.write("1700000000|NONE|support|PJSIP/bob|ADDMEMBER|\n")
        for i in range(60_000):  # about 8 MB, 180,000 events
            t = 1_700_000_010 + i * 10
            handle.write(
                f"{t}|{t}.{i}|support|NONE|ENTERQUEUE||555{i:07d}|1\n"
                f"{t + 2}|{t}.{i}|support|PJSIP/bob|CONNECT|2|{t}.{i}b|1\n"
                f"{t + 8}|{t}.{i}|support|PJSIP/bob|COMPLETECALLER|2|6|1\n"
            )
    small = tmp_path / "small"
    small.write_bytes(QUEUE_LOG.read_bytes())
    command = ["import", "asterisk-queue-log", "--tenant", "t1", "--out"]
    baseline = _peak_rss_kib(*command, tmp_path / "s.jsonl", small)
    peak = _peak_rss_kib(*command, tmp_path / "b.jsonl", big)
    # Kept in memory, the 180,000 events took about 100 MB more than the baseline.
    assert peak - baseline < 25_000, (baseline, peak)
    assert len((tmp_path / "b.jsonl").read_bytes().splitlines()) > 180_000


@pytest.mark.parametrize("platform", ["freeswitch", "amazon-connect"])
def test_a_file_parsed_whole_is_refused_beyond_its_size_limit(
    tmp_path: Path, platform: str
) -> None:
    huge = tmp_path / "huge"
    with huge.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: no disk, no memory
    result = wallboard("import", platform, huge, "--tenant", "t1", "--out", tmp_path / "o")
    assert_refused(result, "larger than the limit of 256 MiB")


def test_an_endless_line_is_one_bad_record_and_the_next_line_counts(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    with log.open("wb") as handle:
        handle.write(b"x" * (3 * 1024 * 1024) + b"\n")
        handle.write(QUEUE_LOG.read_bytes())
    result = wallboard("import", "asterisk-queue-log", log, "--tenant", "t1", "--out", "-")
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stderr)
    assert summary["bad"] == {"line_too_long": 1}
    assert summary["events"] == 43
