"""The ``wallboard`` command: one entry point for every process and tool."""

from __future__ import annotations

import dataclasses
import sys

import typer

from wallboard.adapters.cli import app as import_app
from wallboard.adapters.serve_cli import app as source_app
from wallboard.collector.cli import app as serve_app
from wallboard.config.cli import app as config_app
from wallboard.config.cli import serve_config_command
from wallboard.core.errors import ConfigError
from wallboard.db.cli import app as db_app
from wallboard.fanout.cli import fanout_command
from wallboard.identity.cli import keys_app, user_app
from wallboard.permissions.cli import permissions_command
from wallboard.replay_cli import app as stats_app
from wallboard.report_cli import app as report_app
from wallboard.run_cli import run_command
from wallboard.settings import PREFIX, Settings, render_env_example
from wallboard.sim.cli import app as simulate_app
from wallboard.sim.scenario import MAX_SPEED
from wallboard.web.cli import app as tenant_app
from wallboard.web.cli import serve_web_command
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
serve_app.command("fanout")(fanout_command)
serve_app.command("web")(serve_web_command)
serve_app.command("config")(serve_config_command)
serve_app.command("permissions")(permissions_command)
app.add_typer(serve_app, name="serve")
app.add_typer(tenant_app, name="tenant")
app.add_typer(config_app, name="config")
app.add_typer(user_app, name="user")
app.add_typer(keys_app, name="keys")
app.command("run")(run_command)


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
    board: bool = typer.Option(
        False, "--board", help="Also show the terminal board, redrawn every second."
    ),
    once: bool = typer.Option(
        False, "--once", help="Print the terminal board once at the end (for logs)."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Address the web app listens on (default WALLBOARD_WEB_HOST)."
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        min=0,
        max=65_535,
        help="Port of the web app (default WALLBOARD_WEB_PORT, 8080; 0: any free port).",
    ),
    database: str | None = typer.Option(
        None,
        "--database",
        help="Metadata database: a SQLite file's path or a database URL, kept after the demo "
        "(default: a temporary SQLite file, removed at exit).",
    ),
) -> None:
    """Run a simulated contact center through the event log and the collector, and serve the
    web app (REST API, live channel) on it; the URL is printed."""
    import asyncio
    import logging

    from rich.console import Console

    from wallboard.core.clock import SystemClock
    from wallboard.core.errors import WallboardError
    from wallboard.demo import run_demo
    from wallboard.ops.logging import configure_logging
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.web.one_process import WebOptions

    settings = load_settings()
    configure_logging(settings)
    for chatty in ("alembic", "uvicorn.error"):  # migrations and server start: the URL says it
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    console = Console()
    web = WebOptions(
        host=settings.web_host if host is None else host,
        port=settings.web_port if port is None else port,
        database=database,
    )

    async def main() -> None:
        cancel_on_signals()  # Ctrl-C and SIGTERM alike: every block closes what it opened
        try:
            await run_demo(
                clock=SystemClock(),
                console=console,
                seed=seed,
                speed=speed,
                duration=duration,
                live=board,
                draw=board or once,
                web=web,
                settings=settings,
            )
        except asyncio.CancelledError:
            console.print("stopped")

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # before the loop runs
        console.print("stopped")
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        if "cannot serve" in exc.message:
            typer.echo("Choose another port with --port or WALLBOARD_WEB_PORT.", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
