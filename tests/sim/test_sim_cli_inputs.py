"""``wallboard simulate`` refuses absurd input before it starts, by name, with exit 2."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from cli_process import assert_refused, wallboard

FREE_PORTS = {
    "WALLBOARD_METRICS_PORT": "0",
    "WALLBOARD_VOICE_PORT": "0",
    "WALLBOARD_VOICE_VQ_PORT": "0",
    "WALLBOARD_INTERACTIONS_PORT": "0",
    "WALLBOARD_INTERACTIONS_VQ_PORT": "0",
}


def _scenario(tmp_path: Path, queue: str, extra: str = "") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        f"name: absurd\n{extra}tenants:\n  - id: t\n    queues:\n      - {queue}\n"
        "    groups:\n      - {id: g, agents: 2, skills: {q: 1}}\n"
    )
    return path


QUEUE = "{id: q, handle_time: {mean: 60}, arrivals: {per_hour: 10}"


@pytest.mark.parametrize(
    ("queue", "extra", "named"),
    [
        (QUEUE + ", patience: {mean: .inf}}", "", "patience.mean"),
        (QUEUE + ", patience: {mean: .nan}}", "", "patience.mean"),
        ("{id: q, handle_time: {mean: 60}, arrivals: {per_hour: 1e12}}", "", "per_hour"),
        (QUEUE + "}", "start: 9999-12-31T23:00:00Z\n", "start: must be from 1970"),
        (
            QUEUE + ", handle_time: {dist: lognormal, mean: 0.001, sd: 100000}}",
            "",
            "handle_time",
        ),
        (
            "{id: q, handle_time: {mean: 60}, arrivals: {per_hour: 10, profile: p}}",
            "profiles: {p: {csv: /dev/zero}}\n",
            "larger than the limit of 16 MiB",
        ),
    ],
)
def test_an_absurd_scenario_is_refused_by_name(
    tmp_path: Path, queue: str, extra: str, named: str
) -> None:
    scenario = _scenario(tmp_path, queue, extra)
    result = wallboard("simulate", "--scenario", scenario, "--out", tmp_path / "out", timeout=60)
    assert_refused(result, named)
    assert not (tmp_path / "out" / "events.jsonl").exists()


def test_a_profile_csv_with_mixed_offsets_or_nul_bytes_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "profile.csv"
    for rows in (
        "DateTime,Calls\n2003-03-03T07:00:00,1\n2003-03-03T07:05:00+01:00,2\n",
        "DateTime,Calls\n2003-03-03T07:00:00,1\n2003-03-03T07:00:00.5,2\n",
        "DateTime,Calls\n\x00\x00,1\n",
    ):
        csv.write_text(rows)
        scenario = _scenario(
            tmp_path,
            "{id: q, handle_time: {mean: 60}, arrivals: {per_hour: 10, profile: p}}",
            f"profiles: {{p: {{csv: {csv}}}}}\n",
        )
        result = wallboard("simulate", "--scenario", scenario, "--out", tmp_path / "out")
        if result.returncode != 0:
            assert_refused(result, "profile")
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "options",
    [
        ["--scenario", "erlang", "--calls-per-hour", "1e12"],
        ["--scenario", "erlang", "--agents", "100000000"],
        ["--scenario", "erlang", "--aht", "inf"],
        ["--hours", "1e9"],
        ["--hours", "nan"],
    ],
)
def test_absurd_options_are_refused_by_name(tmp_path: Path, options: list[str]) -> None:
    result = wallboard("simulate", *options, "--out", tmp_path / "out")
    assert_refused(result)
    assert not (tmp_path / "out" / "events.jsonl").exists()


@pytest.mark.parametrize("speed", ["0", "-1", "nan", "1e9"])
def test_a_bad_speed_is_refused_before_anything_serves(speed: str) -> None:
    result = wallboard("simulate", "--serve", "--speed", speed, env=FREE_PORTS)
    assert_refused(result, "--speed")
    assert "serving" not in result.stdout
    assert "metrics" not in result.stdout


def test_a_wire_port_in_use_is_a_clean_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = wallboard(
            "simulate", "--serve", env={**FREE_PORTS, "WALLBOARD_VOICE_PORT": str(port)}
        )
    assert_refused(result, f"cannot serve voice on 127.0.0.1:{port}")


def test_an_out_of_range_setting_is_refused_before_serving() -> None:
    result = wallboard(
        "simulate", "--serve", env={**FREE_PORTS, "WALLBOARD_RESUME_BUFFER": "9" * 20}
    )
    assert_refused(result, "WALLBOARD_RESUME_BUFFER")
    assert "serving" not in result.stdout


def test_serve_logs_as_the_settings_say() -> None:
    result = wallboard(
        "simulate",
        "--serve",
        "--speed",
        "10000",
        "--hours",
        "0.01",
        env={**FREE_PORTS, "WALLBOARD_LOG_FORMAT": "json", "WALLBOARD_LOG_LEVEL": "info"},
    )
    assert result.returncode == 0, result.stderr
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(entry["message"].startswith("simulator serving") for entry in logged), result.stderr
