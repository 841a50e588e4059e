"""The ``wallboard`` command: one entry point for every process and tool."""

from __future__ import annotations

import dataclasses
import sys

import typer

from wallboard.adapters.cli import app as import_app
from wallboard.adapters.serve_cli import app as source_app
from wallboard.collector.cli import app as serve_app
from wallboard.core.errors import ConfigError
from wallboard.db.cli import app as db_app
from wallboard.replay_cli import app as stats_app
from wallboard.report_cli import app as report_app
from wallboard.settings import PREFIX, Settings, render_env_example
from wallboard.sim.cli import app as simulate_app
from wallboard.sim.scenario import MAX_SPEED
from wallboard.wire.cli import watch

app = typer.Typer(
    name="wallboard",
    help="Wallboard: real-time reporting for contact centers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(db_app, name="db")
app.add_typer(simulate_app, name="simulate")
app.add_typer(stats_app, name="stats")
app.add_typer(report_app, name="report")
app.add_typer(import_app, name="import")
app.add_typer(source_app, name="source")
app.command("watch")(watch)
app.add_typer(serve_app, name="serve")


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


@app.command("demo")
def demo_command(
    speed: float = typer.Option(
        1.0, "--speed", min=0.01, max=MAX_SPEED, help="Simulated seconds per real second."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the simulated contact center."),
    duration: float | None = typer.Option(
        None,
        "--duration",
        min=0,
        max=366 * 86_400,
        help="Stop after this many seconds, at most a year (default: run until Ctrl-C).",
    ),
    once: bool = typer.Option(
        False, "--once", help="Print the board once at the end instead of redrawing it live."
    ),
) -> None:
    """Run a simulated contact center through the statistics engine, on a live terminal board."""
    import asyncio

    from rich.console import Console

    from wallboard.core.clock import SystemClock
    from wallboard.demo import run_demo
    from wallboard.ops.logging import configure_logging

    configure_logging(load_settings())
    console = Console()
    try:
        asyncio.run(
            run_demo(
                clock=SystemClock(),
                console=console,
                seed=seed,
                speed=speed,
                duration=duration,
                live=not once,
            )
        )
    except KeyboardInterrupt:
        console.print("stopped")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
