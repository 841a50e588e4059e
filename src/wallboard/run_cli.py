"""``wallboard run --source PLATFORM [FILE|HOST[:PORT]]``: a real phone system, live, in one process.

A small site needs no servers: the platform's adapter (the one ``wallboard source`` runs)
hands its events to the in-process event log, the collector computes every standard statistic
into the in-memory value store, and the terminal board shows the store every second (the web
tier attaches to the same store). See :mod:`wallboard.embedded` for how the pieces fit and why
the collector's reading time is held until the backlog present at start is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import msgspec
import typer
from rich.console import Console, RenderableType

from wallboard.adapters.asterisk_ami import AmiConnection
from wallboard.adapters.freeswitch import EslConnection
from wallboard.adapters.live import LiveSource
from wallboard.adapters.live_sources import (
    AmazonConnectSource,
    AmiSource,
    FreeswitchSource,
    QueueLogFileSource,
    QueueLogTableSource,
    TwilioSource,
)
from wallboard.adapters.serve_cli import (
    FIREHOSE_ACCESS_KEY,
    HTTP_PORT,
    INSECURE_NO_AUTH,
    METRICS_HOST,
    METRICS_PORT,
    POLL_INTERVAL,
    PUBLIC_URL,
    TABLE,
    TABLE_URL,
    TENANT,
    TIMEZONE,
    TWILIO_AUTH_TOKEN,
    WEBHOOK_HOST,
    metrics_port_option,
    source_settings,
)
from wallboard.adapters.timestamps import zone
from wallboard.collector.cli import collector_inputs
from wallboard.collector.service import CollectorSettings
from wallboard.core.clock import SystemClock
from wallboard.core.errors import ConfigError, InvalidInput, Unavailable, WallboardError
from wallboard.core.events import Event
from wallboard.embedded import Embedded, show_board
from wallboard.eventlog.interface import StreamName
from wallboard.ops.health import ReadinessCheck
from wallboard.ops.signals import cancel_on_signals
from wallboard.settings import Settings
from wallboard.stats import DefinitionSet
from wallboard.stats.state import ObjectConfig
from wallboard.store.values import check_tenant_id
from wallboard.terminal_board import discovered_objects, render_board, stored_values

REFRESH_SECONDS = 1.0
CONNECT_TIMEOUT_S = 5.0

LATENESS_S: Mapping[str, float] = {
    "asterisk-queue-log": 3.0,
    "asterisk-ami": 2.0,
    "freeswitch": 2.0,
    "twilio": 5.0,
    "amazon-connect": 90.0,
}
"""How late an event may reach the collector and still count, by platform (``--lateness``).
queue_log times are whole seconds and the file is polled (a line may be read a second and a
half after its time); AMI and FreeSWITCH stamp finer; Twilio posts each event as it happens; Firehose delivers Amazon Connect's records in batches, after its buffer interval."""

PLATFORMS = tuple(LATENESS_S)


@dataclass(frozen=True)
class SourceOptions:
    """What the command line says about the source: the options of ``wallboard source``.

    Not ``--state``: the values are in memory, so a restart rebuilds them by reading the
    queue_log from its start; continuing from a saved position would leave out the day's
    earlier calls."""

    platform: str
    target: str | None
    tenant: str
    source_id: str | None
    timezone: str
    from_end: bool
    poll_interval: float
    table_url: str | None
    table: str
    username: str | None
    secret: str | None
    password: str | None
    http_host: str
    http_port: int
    access_key: str | None
    auth_token: str | None
    public_url: str | None
    insecure_no_auth: bool
    metrics_host: str


def host_port(text: str, default_port: int) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``; InvalidInput naming what is wrong."""
    host, port = text, str(default_port)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise InvalidInput(f"{text!r} is not HOST[:PORT]", field="target")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidInput(f"{text!r} is not HOST[:PORT] with a port from 1 to 65535")
    return host, int(port)


async def check_reachable(platform: str, host: str, port: int) -> None:
    """Refuse to start against a host that does not answer (a typo, a firewall): once
    running, the source reconnects by itself whenever the platform goes away."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise Unavailable(
            f"cannot reach {platform} at {host}:{port}: no answer in {CONNECT_TIMEOUT_S:g} s"
        ) from None
    except OSError as error:
        why = error.strerror or str(error)
        raise Unavailable(f"cannot reach {platform} at {host}:{port}: {why}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _need(value: str | None, what: str, platform: str) -> str:
    if not value:
        raise InvalidInput(f"--source {platform} needs {what}")
    return value


def _queue_log(o: SourceOptions, serve: dict[str, Any]) -> LiveSource:
    common: dict[str, Any] = {
        "tenant": o.tenant,
        "source": o.source_id,
        "timezone": zone(o.timezone),
        "poll_interval": o.poll_interval,
    }
    if (o.target is None) == (o.table_url is None):
        raise InvalidInput("--source asterisk-queue-log needs a FILE or --table-url, not both")
    if o.table_url is not None:
        return QueueLogTableSource(o.table_url, table=o.table, **common, **serve)
    path = Path(cast(str, o.target))
    try:
        path.open("rb").close()
    except OSError as error:
        raise InvalidInput(f"cannot read queue_log {path}: {error.strerror}") from None
    return QueueLogFileSource(path, start_at_end=o.from_end, **common, **serve)


def _ami(o: SourceOptions, serve: dict[str, Any]) -> LiveSource:
    host, port = host_port(_need(o.target, "HOST[:PORT] of the Asterisk manager", o.platform), 5038)
    connection = AmiConnection(
        host=host,
        port=port,
        username=_need(o.username, "--username", o.platform),
        secret=_need(o.secret, "--secret (or AMI_SECRET)", o.platform),
    )
    return AmiSource(connection, tenant=o.tenant, source=o.source_id, **serve)


def _freeswitch(o: SourceOptions, serve: dict[str, Any]) -> LiveSource:
    target = _need(o.target, "HOST[:PORT] of the event socket", o.platform)
    host, port = host_port(target, 8021)
    password = _need(o.password, "--password (or ESL_PASSWORD)", o.platform)
    connection = EslConnection(host=host, port=port, password=password)
    return FreeswitchSource(connection, tenant=o.tenant, source=o.source_id, **serve)


def _webhook(o: SourceOptions) -> dict[str, Any]:
    if o.target is not None:
        raise InvalidInput(f"--source {o.platform} takes no FILE or HOST: it is called over HTTP")
    return {
        "tenant": o.tenant,
        "source": o.source_id,
        "insecure_no_auth": o.insecure_no_auth,
        "webhook_host": o.http_host,
        "webhook_port": o.http_port,
    }


def _amazon_connect(o: SourceOptions, serve: dict[str, Any]) -> LiveSource:
    return AmazonConnectSource(access_key=o.access_key, **_webhook(o), **serve)


def _twilio(o: SourceOptions, serve: dict[str, Any]) -> LiveSource:
    return TwilioSource(auth_token=o.auth_token, public_url=o.public_url, **_webhook(o), **serve)


BUILDERS: Mapping[str, Callable[[SourceOptions, dict[str, Any]], LiveSource]] = {
    "asterisk-queue-log": _queue_log,
    "asterisk-ami": _ami,
    "freeswitch": _freeswitch,
    "amazon-connect": _amazon_connect,
    "twilio": _twilio,
}


def check_platform(platform: str) -> None:
    if platform not in BUILDERS:
        raise InvalidInput(
            f"unknown source {platform!r}: give one of {', '.join(PLATFORMS)}", field="source"
        )


def check_tenant(tenant: str) -> None:
    """Refuse a tenant id the store cannot keep values under, rather than skip every event."""
    try:
        check_tenant_id(tenant)
    except InvalidInput as error:
        raise InvalidInput(f"--tenant {tenant!r}: {error.message}", field="tenant") from None
    if tenant.startswith("~"):
        raise InvalidInput(f"--tenant {tenant!r}: ids starting with ~ are reserved")


@dataclass(frozen=True)
class RunOptions:
    """How the one process runs, besides its source."""

    lateness_s: float
    metrics_port: int | None
    duration: float | None
    live: bool
    values: Path | None


def _where(source: LiveSource, platform: str) -> str:
    parts = [f"{platform} → in-process log → collector → memory store"]
    if source.webhook is not None:
        parts.append(f"webhook http://{source.webhook_host}:{source.webhook.port}")
    if source.http is not None:
        parts.append(f"metrics http://{source.http_host}:{source.http.port}")
    return ", ".join(parts)


async def run_site(
    options: SourceOptions, run: RunOptions, settings: Settings, console: Console
) -> dict[str, Any]:
    """Run the source with the log, the collector and the board until cancelled (a signal)
    or ``run.duration`` passes; returns the summary printed at exit."""
    cancel_on_signals()
    inputs = collector_inputs(settings)
    definitions = cast(DefinitionSet, inputs[0])
    objects = cast(dict[str, ObjectConfig], inputs[1])
    clock = SystemClock()
    collector = CollectorSettings(
        name="run",
        clock="wall",
        flush_s=settings.collector_flush_ms / 1000,
        lateness_ms=round(run.lateness_s * 1000),
        time_zone=settings.collector_time_zone,
    )
    embedded = Embedded(
        clock=clock,
        settings=collector,
        objects=objects,
        definitions=definitions,
        stream=StreamName.VOICE,
    )
    # Until the backlog is applied, values are read at the newest event applied, never later.
    embedded.clock.hold(embedded.newest_applied_ms)
    live_now = asyncio.Event()

    async def caught_up() -> bool:
        return live_now.is_set()

    checks: dict[str, ReadinessCheck] = {"caught_up": caught_up}
    serve: dict[str, Any] = {
        "settings": settings,
        "clock": clock,
        "http_host": options.metrics_host,
        "http_port": run.metrics_port,
        "outlet": cast(Callable[[Event], object], embedded.feed.put),
        "extra_checks": checks,
    }
    platform = options.platform
    source = BUILDERS[platform](options, serve)
    if isinstance(source, AmiSource | FreeswitchSource):
        connection = source.client.connection
        await check_reachable(platform, connection.host, connection.port)
    async with embedded:
        with contextlib.suppress(asyncio.CancelledError):
            async with source:
                await embedded.settle()
                embedded.clock.follow()
                live_now.set()
                typer.echo(f"running {_where(source, platform)}")
                typer.echo(f"caught up: {embedded.feed.published} events applied; following live")
                await _board(embedded, platform, options.tenant, console, run)
        await embedded.stop()
        values = await embedded.values()
        if not run.live:
            console.print(_render(values, platform, embedded, console.width, None))
        if run.values is not None:
            try:
                run.values.write_bytes(msgspec.json.encode(values))
            except OSError as error:
                raise InvalidInput(f"cannot write {run.values}: {error.strerror}") from None
    return _summary(source, embedded)


def _render(
    values: Mapping[str, Any], platform: str, embedded: Embedded, width: int, height: int | None
) -> RenderableType:
    now_ms = embedded.clock.now_ms()
    when = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    header = (
        f"Wallboard · {platform} · {when:%H:%M:%S} UTC · {embedded.feed.published:,} events"
        " · Ctrl-C stops"
    )
    objects = [discovered_objects(t, v) for t, v in values.items()]
    reader = stored_values(values, now_ms)
    return render_board(reader, objects, now_ms, header, width=width, height=height)


async def _board(
    embedded: Embedded, platform: str, tenant: str, console: Console, run: RunOptions
) -> None:
    """The live board until ``run.duration`` passes; without it, wait as long."""
    values: dict[str, Any] = {}

    async def update() -> None:
        nonlocal values
        values = await embedded.values([tenant])

    async def render(width: int, height: int | None) -> RenderableType:
        return _render(values, platform, embedded, width, height)

    if run.live:
        await show_board(
            clock=embedded.clock,
            console=console,
            update=update,
            render=render,
            refresh_s=REFRESH_SECONDS,
            duration=run.duration,
            live=True,
        )
    elif run.duration is not None:
        await asyncio.sleep(run.duration)
    else:
        await asyncio.Event().wait()


def _summary(source: LiveSource, embedded: Embedded) -> dict[str, Any]:
    collector = embedded.collector
    return {
        **source.summary(),
        "log_refused": embedded.feed.refused,
        "collector_bad_records": collector.bad_records,
        "anomalies": {t: dict(w.engine.anomalies) for t, w in sorted(collector.tenants.items())},
    }


SOURCE = typer.Option(
    ..., "--source", help=f"The platform: {', '.join(PLATFORMS)}.", show_default=False
)
TARGET = typer.Argument(
    None,
    help="asterisk-queue-log: the queue_log FILE to follow; asterisk-ami, freeswitch: "
    "HOST[:PORT] of the manager (5038) or event socket (8021); none for the webhook sources.",
    show_default=False,
)


FROM_END = typer.Option(
    False,
    "--from-end",
    help="Start at the end of the queue_log, not its start (the day's earlier calls are left "
    "out of the values).",
)
SOURCE_ID = typer.Option(
    None, "--source-id", help="Source id of the events (default: the platform)."
)
USERNAME = typer.Option(None, "--username", help="AMI user (read: agent,call).")
SECRET = typer.Option(
    None,
    "--secret",
    envvar="AMI_SECRET",
    show_default=False,
    help="AMI secret; better given in the AMI_SECRET environment variable.",
)
PASSWORD = typer.Option(
    None,
    "--password",
    envvar="ESL_PASSWORD",
    show_default=False,
    help="Event socket password; better given in the ESL_PASSWORD environment variable.",
)
LATENESS = typer.Option(
    None,
    "--lateness",
    help="Seconds an event may arrive late and still count; later ones are dropped and "
    "counted as too_late (default by platform: queue_log 3; AMI, FreeSWITCH 2; Twilio 5; "
    "Amazon Connect 90, Firehose's buffering). The board shows the state this long ago.",
)
DURATION = typer.Option(
    None, "--duration", min=0, max=366 * 86_400, help="Stop after this many seconds."
)
ONCE = typer.Option(
    False, "--once", help="Print the board once at the end instead of redrawing it live."
)
VALUES = typer.Option(
    None,
    "--values",
    dir_okay=False,
    help="At exit, write every value as JSON (tenant → object type → object → statistic, "
    "as `wallboard stats` prints).",
)


def run_command(
    platform: str = SOURCE,
    target: str | None = TARGET,
    tenant: str = TENANT,
    source_id: str | None = SOURCE_ID,
    timezone: str = TIMEZONE,
    from_end: bool = FROM_END,
    poll_interval: float = POLL_INTERVAL,
    table_url: str | None = TABLE_URL,
    table: str = TABLE,
    username: str | None = USERNAME,
    secret: str | None = SECRET,
    password: str | None = PASSWORD,
    http_host: str = WEBHOOK_HOST,
    http_port: int = HTTP_PORT,
    access_key: str | None = FIREHOSE_ACCESS_KEY,
    auth_token: str | None = TWILIO_AUTH_TOKEN,
    public_url: str | None = PUBLIC_URL,
    insecure_no_auth: bool = INSECURE_NO_AUTH,
    metrics_host: str = METRICS_HOST,
    metrics_port: int | None = METRICS_PORT,
    lateness: float | None = LATENESS,
    duration: float | None = DURATION,
    once: bool = ONCE,
    values: Path | None = VALUES,
) -> None:
    """Run a real phone system's adapter, the event log, the collector and a live board in
    one process, on the embedded defaults (nothing else to run)."""
    options = SourceOptions(
        platform=platform,
        target=target,
        tenant=tenant,
        source_id=source_id,
        timezone=timezone,
        from_end=from_end,
        poll_interval=poll_interval,
        table_url=table_url,
        table=table,
        username=username,
        secret=secret,
        password=password,
        http_host=http_host,
        http_port=http_port,
        access_key=access_key,
        auth_token=auth_token,
        public_url=public_url,
        insecure_no_auth=insecure_no_auth,
        metrics_host=metrics_host,
    )
    settings = source_settings()
    try:
        check_platform(platform)
        check_tenant(tenant)
        if not 0.01 <= poll_interval <= 3600:
            raise InvalidInput("--poll-interval must be from 0.01 to 3600 seconds")
        lateness_s = LATENESS_S[platform] if lateness is None else lateness
        if not 0 <= lateness_s <= 3600:
            raise InvalidInput("--lateness must be from 0 to 3600 seconds")
        run = RunOptions(
            lateness_s=lateness_s,
            metrics_port=metrics_port_option(metrics_port, settings),
            duration=duration,
            live=not once,
            values=values,
        )
        summary = asyncio.run(run_site(options, run, settings, Console()))
    except (ConfigError, WallboardError) as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        return
    sys.stderr.write(json.dumps(summary) + "\n")
