"""The ``wallboard config`` commands (import, export, from-scenario, discover) and ``wallboard
serve config``.

Exit codes: 0 success, 2 the document, the database, the settings or the arguments could not be
used (the message names the object, line and field at fault).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from wallboard.config.documents import DocumentFormat, parse_document, render_document
from wallboard.config.schemas import ImportResult, ObjectData
from wallboard.core.errors import InvalidInput, WallboardError
from wallboard.core.events import Event
from wallboard.db.cli import EXIT_UNUSABLE, UrlOption, _run, _url_or_exit
from wallboard.inputs import read_text
from wallboard.settings import Settings
from wallboard.web.errors import FieldError

app = typer.Typer(
    name="config",
    help="Import and export the configuration objects (agents, groups, queues, access groups, "
    "folders…) of a tenant.",
    no_args_is_help=True,
)

log = logging.getLogger(__name__)

TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant's id.")]
FormatOption = Annotated[
    DocumentFormat | None,
    typer.Option("--format", help="yaml or csv (default: from the file's suffix, else yaml)."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNUSABLE)


def describe(error: FieldError) -> str:
    """``where: what`` (``line 4.attributes.skills: ...``)."""
    where = ".".join(str(part) for part in error.loc)
    return f"{where}: {error.message}" if where else error.message


def _format_of(path: Path | None, chosen: DocumentFormat | None) -> DocumentFormat:
    if chosen is not None:
        return chosen
    if path is not None and path.suffix.lower() == ".csv":
        return DocumentFormat.CSV
    return DocumentFormat.YAML


async def import_document(url: str, tenant: str, text: str, format: DocumentFormat) -> ImportResult:
    """Import a document into ``tenant`` in one transaction."""
    from wallboard.config.service import import_objects
    from wallboard.db.database import open_database

    try:
        objects = parse_document(text, format)
        async with open_database(url) as database:
            return await import_objects(database, tenant, objects)
    except FieldError as error:
        raise InvalidInput(describe(error)) from None


async def export_document(url: str, tenant: str) -> list[ObjectData]:
    from wallboard.config.service import ConfigService
    from wallboard.core.errors import NotFound
    from wallboard.core.ids import TenantId
    from wallboard.db.database import open_database
    from wallboard.db.models import Tenant

    async with open_database(url) as database, database.sessions() as session:
        if await session.get(Tenant, tenant) is None:
            raise NotFound(f"tenant {tenant!r} does not exist")
        return await ConfigService(session, TenantId(tenant)).export()


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A YAML (or JSON) or CSV document; - for stdin.")],
    tenant: TenantOption,
    format: FormatOption = None,
    url: UrlOption = None,
) -> None:
    """Create or replace the document's objects, all or nothing: an error names the object
    (YAML index, CSV line) and the field, and nothing is written."""
    database_url = _url_or_exit(url)
    chosen = _format_of(None if str(file) == "-" else file, format)
    try:
        text = sys.stdin.read() if str(file) == "-" else read_text(file, "configuration document")
    except InvalidInput as error:
        raise _fail(error.message) from None
    result = _run(import_document(database_url, tenant, text, chosen))
    typer.echo(
        f"tenant {tenant}: {result.created} created, {result.updated} changed, "
        f"{result.unchanged} unchanged"
    )


@app.command("export")
def export_command(
    tenant: TenantOption,
    format: FormatOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Every object of the tenant as a document ``wallboard config import`` reads back."""
    database_url = _url_or_exit(url)
    try:
        text = render_document(
            _run(export_document(database_url, tenant)), _format_of(output, format)
        )
    except FieldError as error:
        raise _fail(describe(error)) from None
    _write(text, output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(f"cannot write {output}: {error.strerror}") from None


@app.command("from-scenario")
def from_scenario_command(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario (demo, large, erlang) or a YAML file.")
    ],
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="The scenario's tenant (needed when it has several)."),
    ] = None,
    format: FormatOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
) -> None:
    """A simulator scenario's tenant as configuration: folders per team, agents with their
    skills, agent groups, queues, routing points, virtual queues, access groups."""
    from wallboard.config.exports import scenario_objects
    from wallboard.sim.builtin import BUILTINS, builtin_scenario
    from wallboard.sim.scenario import load_scenario

    try:
        loaded = builtin_scenario(scenario) if scenario in BUILTINS else load_scenario(scenario)
    except WallboardError as error:
        raise _fail(error.message) from None
    by_tenant = scenario_objects(loaded)
    if tenant is None:
        if len(by_tenant) != 1:
            raise _fail(
                f"the scenario has tenants {', '.join(by_tenant)}: choose one with --tenant"
            )
        tenant = next(iter(by_tenant))
    if tenant not in by_tenant:
        raise _fail(f"the scenario has no tenant {tenant!r} (it has {', '.join(by_tenant)})")
    _write(render_document(by_tenant[tenant], _format_of(output, format)), output)


DISCOVERY_SOURCES = ("asterisk-queue-log", "amazon-connect")


@app.command("discover")
def discover_command(
    source: Annotated[str, typer.Argument(help=f"One of {', '.join(DISCOVERY_SOURCES)}.")],
    file: Annotated[Path, typer.Argument(help="The platform's recorded data.")],
    format: FormatOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
) -> None:
    """The agents and queues (with their members) a platform's recorded data names, read by
    the same adapter ``wallboard import`` uses, as configuration."""
    from wallboard.config.exports import discovered_objects

    if source not in DISCOVERY_SOURCES:
        raise _fail(f"unknown source {source!r}; use one of {', '.join(DISCOVERY_SOURCES)}")
    try:
        objects = discovered_objects(_events(source, file))
    except WallboardError as error:
        raise _fail(error.message) from None
    except OSError as error:
        raise _fail(f"cannot read {file}: {error.strerror}") from None
    _write(render_document(objects, _format_of(output, format)), output)


def _events(source: str, file: Path) -> Iterator[Event]:
    from wallboard.adapters.base import line
    from wallboard.inputs import bounded_lines, read_bytes

    if source == "asterisk-queue-log":
        from wallboard.adapters.asterisk_queue_log import QueueLogTranslator

        translator = QueueLogTranslator(tenant="discovery")
        for number, raw in bounded_lines(file, 64 * 1024):
            yield from translator.translate(raw.decode("utf-8", "replace"), line(number, file.name))
    else:
        from wallboard.adapters.amazon_connect import AmazonConnectTranslator

        data = read_bytes(file, "Amazon Connect file")
        yield from AmazonConnectTranslator(tenant="discovery").iter_translate_text(
            data.decode("utf-8", "replace"), file.name
        )


async def run_config(settings: Settings) -> None:
    """Serve the config API on the config port, the operations endpoints on its metrics port."""
    import uvicorn

    from wallboard.config.app import create_config_app
    from wallboard.db.database import open_database
    from wallboard.ops.server import EmbeddedServer, bind_socket, serve_ops
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.web.app import readiness_checks

    cancel_on_signals()
    database = open_database(settings)
    sock = bind_socket(settings.config_host, settings.config_port, "the configuration API")
    try:
        app = create_config_app(settings, database=database)
        checks = readiness_checks(database, None)
        async with serve_ops(settings.config_host, settings.config_metrics_port, checks) as port:
            log.info(
                "config: API on http://%s:%d/api/v1/config, metrics on port %d",
                settings.config_host,
                sock.getsockname()[1],
                port,
            )
            config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
            server = EmbeddedServer(config)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                log.info("config: stopping")
                server.should_exit = True
                await task
    finally:
        sock.close()
        await database.close()


def serve_config_command() -> None:
    """Configuration API (/api/v1/config) on WALLBOARD_CONFIG_PORT; /metrics, /healthz,
    /readyz on WALLBOARD_CONFIG_METRICS_PORT."""
    from wallboard.ops.logging import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(settings)
        asyncio.run(run_config(settings))
    except KeyboardInterrupt:
        pass
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
