"""Settings: parsed once from WALLBOARD_* variables, wrong values named, .env.example in sync."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_process import wallboard
from wallboard.cli import app
from wallboard.core.errors import ConfigError
from wallboard.settings import PREFIX, Settings, render_env_example

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.metrics_port == 9091
    assert settings.database_url.startswith("sqlite+aiosqlite://")


def test_values_are_parsed_to_their_types() -> None:
    settings = Settings.from_env(
        {
            "WALLBOARD_METRICS_PORT": "9000",
            "WALLBOARD_LOG_LEVEL": "debug",
            "WALLBOARD_HEARTBEAT_SECONDS": "2.5",
        }
    )
    assert settings.metrics_port == 9000
    assert settings.log_level == "DEBUG"
    assert settings.heartbeat_seconds == 2.5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WALLBOARD_METRICS_PORT", "99999"),
        ("WALLBOARD_METRICS_PORT", "eighty"),
        ("WALLBOARD_LOG_FORMAT", "xml"),
        ("WALLBOARD_CLIENT_QUEUE", "0"),
        ("WALLBOARD_CLIENT_QUEUE", "99999999999999999999"),
        ("WALLBOARD_HEARTBEAT_SECONDS", "-1"),
        ("WALLBOARD_HEARTBEAT_SECONDS", "inf"),
        ("WALLBOARD_HEARTBEAT_SECONDS", "nan"),
        ("WALLBOARD_RESUME_BUFFER", "99999999999999999999"),
        ("WALLBOARD_WIRE_BACKLOG", "99999999999999999999"),
        ("WALLBOARD_WIRE_MAX_CLIENTS", "99999999999999999999"),
        ("WALLBOARD_WIRE_MAX_LINE", "1" + "0" * 5000),
        ("WALLBOARD_COLLECTOR_STANDBY", "maybe"),
        ("WALLBOARD_COLLECTOR_LEASE_SECONDS", "0.1"),
    ],
)
def test_a_wrong_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert variable in caught.value.message
    assert caught.value.detail["variable"] == variable


def test_a_redis_url_is_checked_at_start_up_cluster_urls_included() -> None:
    url = "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"
    assert Settings.from_env({"WALLBOARD_REDIS_URL": url}).redis_url == url
    for wrong, says in [
        ("redis+cluster://10.0.0.1:7000/2", "only database 0"),
        ("localhost:6379", "must look like"),
    ]:
        with pytest.raises(ConfigError, match=says) as caught:
            Settings.from_env({"WALLBOARD_REDIS_URL": wrong})
        assert caught.value.detail["variable"] == "WALLBOARD_REDIS_URL"


def test_an_unknown_variable_is_refused_as_a_likely_typo() -> None:
    with pytest.raises(ConfigError, match="WALLBOARD_METRICS_PROT"):
        Settings.from_env({"WALLBOARD_METRICS_PROT": "1"})


def test_test_only_variables_are_not_settings() -> None:
    Settings.from_env({"WALLBOARD_TEST_REDIS_URL": "redis://x"})


def test_env_example_lists_every_variable_with_its_default() -> None:
    committed = (ROOT / ".env.example").read_text()
    assert committed == render_env_example(), "run: wallboard settings --example > .env.example"
    for field in dataclasses.fields(Settings):
        assert f"{PREFIX}{field.name.upper()}={field.default}\n" in committed


def test_cli_reports_a_configuration_error_and_exits_2() -> None:
    result = CliRunner().invoke(app, ["settings"], env={"WALLBOARD_METRICS_PORT": "-3"})
    assert result.exit_code == 2
    assert "WALLBOARD_METRICS_PORT" in result.output


@pytest.mark.parametrize("name", ["HTTP_HOST", "HTTP_PORT"])
def test_only_settings_that_take_effect_are_listed(name: str) -> None:
    # Nothing reads these yet: listing them would promise an effect they do not have.
    listed = wallboard("settings")
    assert listed.returncode == 0, listed.stderr
    assert f"{PREFIX}{name}=" not in listed.stdout
    assert f"{PREFIX}{name}=" not in (ROOT / ".env.example").read_text()
    refused = wallboard("settings", env={f"{PREFIX}{name}": "1"})
    assert refused.returncode == 2
    assert "unknown setting" in refused.stderr
