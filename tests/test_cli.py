"""The ``wallboard`` command lists its commands, and every command has help."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wallboard.cli import app

COMMANDS = [
    "settings",
    "db",
    "tenant",
    "serve",
    "simulate",
    "stats",
    "import",
    "source",
    "demo",
    "watch",
]


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize(
    "argv",
    [[c, "--help"] for c in COMMANDS]
    + [["db", c, "--help"] for c in ("upgrade", "current", "check")]
    + [["tenant", "init", "--help"], ["serve", "web", "--help"]]
    + [
        ["import", p, "--help"]
        for p in ("asterisk-queue-log", "asterisk-ami", "freeswitch", "amazon-connect", "twilio")
    ],
)
def test_every_command_has_help(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
