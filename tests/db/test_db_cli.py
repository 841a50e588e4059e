"""The ``wallboard db`` sub-app: upgrade, current and check, through typer's test runner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wallboard.db.cli import app
from wallboard.db.migrate import head_revision

runner = CliRunner()


def test_upgrade_then_check_succeeds(empty_url: str) -> None:
    first = runner.invoke(app, ["upgrade", "--url", empty_url])
    assert first.exit_code == 0, first.output
    assert f"from none (empty database) to {head_revision()}" in first.output

    again = runner.invoke(app, ["upgrade", "--url", empty_url])
    assert again.exit_code == 0, again.output
    assert f"is already at {head_revision()}" in again.output

    check = runner.invoke(app, ["check", "--url", empty_url])
    assert check.exit_code == 0, check.output
    assert check.output.startswith("ok: ")

    current = runner.invoke(app, ["current", "--url", empty_url])
    assert (current.exit_code, current.output) == (0, f"{head_revision()}\n")


def test_check_on_an_empty_database_exits_1(empty_url: str) -> None:
    check = runner.invoke(app, ["check", "--url", empty_url])
    assert check.exit_code == 1, check.output
    assert "not at head" in check.output
    assert "wallboard db upgrade" in check.output

    current = runner.invoke(app, ["current", "--url", empty_url])
    assert (current.exit_code, current.output) == (0, "none (empty database)\n")


def test_the_url_comes_from_the_environment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALLBOARD_DATABASE_URL", sqlite_url)
    upgrade = runner.invoke(app, ["upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    assert sqlite_url in upgrade.output
    assert runner.invoke(app, ["check", "--url", sqlite_url]).exit_code == 0


def test_the_password_is_not_printed(empty_postgres_url: str) -> None:
    with_password = empty_postgres_url.replace("postgres@", "postgres:hunter2@")
    result = runner.invoke(app, ["upgrade", "--url", with_password])
    # Trust authentication accepts any password, so the upgrade itself succeeds.
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "***" in result.output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@127.0.0.1/wallboard", "is not supported"),
        ("postgresql+asyncpg://postgres@127.0.0.1:1/none", "cannot be used"),
    ],
)
def test_an_unusable_database_exits_2_with_a_message(url: str, message: str) -> None:
    result = runner.invoke(app, ["check", "--url", url])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_bad_setting_exits_2_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLBOARD_METRICS_PORT", "eighty")
    result = runner.invoke(app, ["current"])
    assert result.exit_code == 2, result.output
    assert "WALLBOARD_METRICS_PORT" in result.output


@pytest.mark.parametrize("command", ["upgrade", "current", "check"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--url" in result.output
    assert "WALLBOARD_DATABASE_URL" in result.output
