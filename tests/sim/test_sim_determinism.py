"""The same scenario and seed give byte-identical files; another seed gives others."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario, demo
from wallboard.sim.cli import app
from wallboard.sim.scenario import Scenario

FILES = ("events.jsonl", "calls.jsonl", "agents.jsonl")


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    run_batch(builtin_scenario("demo"), seed=42, hours=3, out=tmp_path / "a")
    run_batch(demo(), seed=42, hours=3, out=tmp_path / "b")
    run_batch(builtin_scenario("demo"), seed=43, hours=3, out=tmp_path / "c")
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert all(a[name] for name in FILES)
    assert a == b
    assert all(a[name] != c[name] for name in FILES)


def test_cli_batch_is_deterministic_and_reports(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--scenario", "erlang", "--agents", "12", "--calls-per-hour", "200", "--aht", "180"]
    first = runner.invoke(app, [*args, "--seed", "5", "--hours", "4", "--out", str(tmp_path / "a")])
    second = runner.invoke(
        app, [*args, "--seed", "5", "--hours", "4", "--out", str(tmp_path / "b")]
    )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "events" in first.output
    assert "contacts" in first.output
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    with_patience = runner.invoke(
        app,
        [*args, "--patience", "30", "--seed", "5", "--hours", "4", "--out", str(tmp_path / "c")],
    )
    assert with_patience.exit_code == 0, with_patience.output
    assert b'"call.abandoned"' in (tmp_path / "c" / "events.jsonl").read_bytes()
    assert b'"call.abandoned"' not in (tmp_path / "a" / "events.jsonl").read_bytes()


def test_adding_a_tenant_leaves_the_others_draws_alone(tmp_path: Path) -> None:
    """Generators are per queue and per agent: one tenant's calls do not depend on another's."""
    scenario = demo()
    alone = Scenario(
        name="one", start=scenario.start, profiles=scenario.profiles, tenants=scenario.tenants[:1]
    )
    run_batch(scenario, seed=9, hours=2, out=tmp_path / "both")
    run_batch(alone, seed=9, hours=2, out=tmp_path / "alone")

    def acme_calls(directory: Path) -> list[bytes]:
        lines = (directory / "calls.jsonl").read_bytes().splitlines()
        return sorted(line for line in lines if line.startswith(b'{"tenant":"acme"'))

    assert acme_calls(tmp_path / "both") == acme_calls(tmp_path / "alone")


def test_cli_rejects_bad_input_with_a_clear_message(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["--scenario", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)]
    )
    assert missing.exit_code == 2
    assert "cannot read scenario" in missing.output
    no_out = runner.invoke(app, ["--scenario", "demo"])
    assert no_out.exit_code == 2
    assert "--out" in no_out.output
    wrong = runner.invoke(app, ["--scenario", "demo", "--agents", "3", "--out", str(tmp_path)])
    assert wrong.exit_code == 2
    assert "erlang only" in wrong.output
    bad_hours = runner.invoke(app, ["--scenario", "demo", "--hours", "0", "--out", str(tmp_path)])
    assert bad_hours.exit_code == 2
    assert "--hours" in bad_hours.output
