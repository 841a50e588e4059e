"""The ``wallboard`` command: one entry point for every process and tool."""

from __future__ import annotations

import dataclasses
import sys

import typer

from wallboard.core.errors import ConfigError
from wallboard.settings import PREFIX, Settings, render_env_example

app = typer.Typer(
    name="wallboard",
    help="Wallboard: real-time reporting for contact centers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """Wallboard: real-time reporting for contact centers. Settings come from WALLBOARD_*
    environment variables (see `wallboard settings --example`)."""


def load_settings() -> Settings:
    """Parse the environment once, or exit with a message naming the wrong variable."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        typer.echo(f"wallboard: configuration error: {exc.message}", err=True)
        raise typer.Exit(2) from None


@app.command("settings")
def settings_command(
    example: bool = typer.Option(
        False, "--example", help="Print the .env.example text: every variable, default, meaning."
    ),
) -> None:
    """Show the effective settings (from WALLBOARD_* variables), or the documented defaults."""
    if example:
        sys.stdout.write(render_env_example())
        return
    settings = load_settings()
    for field in dataclasses.fields(settings):
        typer.echo(f"{PREFIX}{field.name.upper()}={getattr(settings, field.name)}")


def main() -> None:
    app()
