"""The ``wallboard simulate`` command: batch runs to files, or a live run served on the wire."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from wallboard.core.errors import WallboardError
from wallboard.ops.logging import configure_logging
from wallboard.ops.signals import cancel_on_signals
from wallboard.settings import Settings
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import BUILTINS, builtin_scenario, erlang
from wallboard.sim.scenario import (
    Scenario,
    check_hours,
    check_speed,
    load_scenario,
    parse_scenario,
)

EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="simulate",
    help="Simulate a contact center: write its event stream and ground truth to files, "
    "or serve it live on the four source ports.",
    add_completion=False,
)


def _scenario(
    name: str,
    agents: int | None,
    calls_per_hour: float | None,
    aht: float | None,
    patience: float | None,
) -> Scenario:
    erlang_options = (agents, calls_per_hour, aht, patience)
    if name == "erlang":
        chosen = erlang(
            agents=agents if agents is not None else 14,
            calls_per_hour=calls_per_hour if calls_per_hour is not None else 200.0,
            aht=aht if aht is not None else 180.0,
            patience=patience,
        )
        # Checked like a scenario file, so the options have the same bounds as its fields.
        return parse_scenario(msgspec.to_builtins(chosen))
    if any(option is not None for option in erlang_options):
        raise typer.BadParameter(
            "--agents, --calls-per-hour, --aht and --patience apply to --scenario erlang only"
        )
    if name in BUILTINS:
        return builtin_scenario(name)
    return load_scenario(Path(name))


async def _serve(
    scenario: Scenario, seed: int, speed: float, hours: float | None, host: str, settings: Settings
) -> None:
    # The wire and HTTP stacks only when serving.
    from wallboard.ops.server import serve_ops
    from wallboard.sim.serve import serve_simulation

    cancel_on_signals()

    def listening(ports: dict[str, int]) -> None:
        typer.echo(
            "serving " + ", ".join(f"{source} on {host}:{port}" for source, port in ports.items())
        )

    listening_on: dict[str, int] = {}

    async def sources_listening() -> bool:
        return len(listening_on) == 4

    def listening_and_ready(ports: dict[str, int]) -> None:
        listening_on.update(ports)
        listening(ports)

    async with serve_ops(host, settings.metrics_port, {"sources": sources_listening}) as port:
        typer.echo(f"metrics, health and readiness on http://{host}:{port}")
        with contextlib.suppress(asyncio.CancelledError):
            await serve_simulation(
                scenario,
                seed=seed,
                speed=speed,
                settings=settings,
                host=host,
                hours=hours,
                on_listening=listening_and_ready,
            )


@app.callback(invoke_without_command=True)
def simulate(
    scenario: Annotated[
        str,
        typer.Option(help=f"A built-in scenario ({', '.join(BUILTINS)}) or a YAML scenario file."),
    ] = "demo",
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same output.")
    ] = 1,
    hours: Annotated[
        float | None,
        typer.Option(help="Simulated hours. Batch default 1; live default: run until stopped."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Batch mode: directory for events.jsonl, calls.jsonl, agents.jsonl."),
    ] = None,
    agents: Annotated[int | None, typer.Option(help="erlang: number of agents N [14].")] = None,
    calls_per_hour: Annotated[
        float | None, typer.Option(help="erlang: Poisson arrival rate [200].")
    ] = None,
    aht: Annotated[
        float | None, typer.Option(help="erlang: mean (exponential) handle time, seconds [180].")
    ] = None,
    patience: Annotated[
        float | None,
        typer.Option(
            help="erlang: mean (exponential) patience, seconds; omitted: nobody abandons."
        ),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Live mode: serve the four sources on their ports (WALLBOARD_*_PORT)."
        ),
    ] = False,
    speed: Annotated[float, typer.Option(help="Live mode: K times faster than real time.")] = 1.0,
    host: Annotated[str, typer.Option(help="Live mode: address to listen on.")] = "127.0.0.1",
) -> None:
    """Simulate a contact center, in batch mode (--out DIR) or live (--serve)."""
    try:
        settings = Settings.from_env()
        configure_logging(settings)
        if serve and out is not None:
            raise typer.BadParameter("give either --serve or --out, not both")
        if not serve and out is None:
            raise typer.BadParameter("batch mode needs --out DIR (or give --serve)")
        # Every option is checked before anything starts (or is printed as started).
        check_speed(speed)
        if hours is not None:
            check_hours(hours)
        chosen = _scenario(scenario, agents, calls_per_hour, aht, patience)
        if serve:
            asyncio.run(_serve(chosen, seed, speed, hours, host, settings))
            return
        assert out is not None
        summary = run_batch(chosen, seed=seed, hours=hours if hours is not None else 1.0, out=out)
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(
        f"{summary.events} events, {summary.contacts} contacts, {summary.intervals} agent "
        f"intervals in {summary.seconds:.2f} s ({summary.events_per_second:,.0f} events/s) "
        f"-> {out}"
    )
