"""``wallboard source <platform>``: run an adapter as a live source served on the wire protocol.

Each command reads the platform live, translates its records and serves the events on the wire
port (``--port``, default ``WALLBOARD_VOICE_PORT``) like the simulator; collectors and fanouts
subscribe there. Secrets come from an environment variable (or an option, which other users of
the machine can see in the process list) and are never logged. SIGINT/SIGTERM stop the source
cleanly, saving its state file when it has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import typer

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
from wallboard.adapters.timestamps import zone
from wallboard.core.clock import SystemClock
from wallboard.core.errors import ConfigError, WallboardError
from wallboard.ops.logging import configure_logging
from wallboard.ops.signals import cancel_on_signals
from wallboard.settings import Settings

app = typer.Typer(
    name="source",
    help="Run a platform adapter as a live event source (Asterisk queue_log or AMI, FreeSWITCH, "
    "Amazon Connect, Twilio TaskRouter), served on the wire protocol like the simulator.",
    no_args_is_help=True,
    add_completion=False,
)

TENANT = typer.Option(..., "--tenant", help="Tenant id put on every event.")
SOURCE = typer.Option(None, "--source", help="Source id of the events (default: the platform).")
HOST = typer.Option("127.0.0.1", "--host", help="Address the wire server listens on.")
PORT = typer.Option(
    None,
    "--port",
    min=0,
    max=65535,
    help="Wire port to serve on (default: WALLBOARD_VOICE_PORT, 8000).",
)
METRICS_PORT = typer.Option(
    None,
    "--metrics-port",
    min=-1,
    max=65535,
    help="Port of /healthz, /readyz and /metrics (default: WALLBOARD_METRICS_PORT, 9091; "
    "-1: none).",
)
HTTP_HOST = typer.Option(
    "127.0.0.1", "--http-host", help="Address of the HTTP endpoint (and of /metrics)."
)


def _run(build: Callable[[], LiveSource]) -> None:
    """Run the source ``build()`` returns until a signal; exit 2 on a configuration error
    (a bad state file, a port in use…)."""

    async def main() -> None:
        cancel_on_signals()
        source = build()
        with contextlib.suppress(asyncio.CancelledError):
            async with source:
                where = f"wire {source.host}:{source.port}"
                if source.http is not None:
                    where += f", http {source.http_host}:{source.http.port}"
                if source.webhook is not None:
                    where += f", webhook {source.webhook_host}:{source.webhook.port}"
                typer.echo(f"serving {source.platform} source {source.server.source} on {where}")
                await asyncio.Event().wait()
        sys.stderr.write(json.dumps(source.summary()) + "\n")

    try:
        asyncio.run(main())
    except (ConfigError, WallboardError) as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None


def source_settings() -> Settings:
    """The settings from the environment, logging configured; exit 2 naming a wrong one."""
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings)
    return settings


def metrics_port_option(option: int | None, settings: Settings) -> int | None:
    """The ``--metrics-port`` asked for: the setting when not given, None (none) for -1."""
    if option is None:
        return settings.metrics_port
    return None if option < 0 else option


FILE = typer.Argument(
    None, dir_okay=False, help="The queue_log file to follow (or give --table-url)."
)
TABLE_URL = typer.Option(
    None,
    "--table-url",
    help="Read a realtime queue_log table instead (SQLAlchemy async URL, e.g. "
    "postgresql+asyncpg://user@host/asterisk).",
)
TABLE = typer.Option("queue_log", "--table", help="Name of the queue_log table.")
STATE = typer.Option(
    None,
    "--state",
    help="State file: the position read, the last seq and the translator state are saved "
    "there (every second and at exit), so a restart continues exactly where it stopped. "
    "Without it the file is read from its start at every start.",
)
FROM_END = typer.Option(
    False, "--from-end", help="Without a state file, start at the end of the file, not its start."
)
TIMEZONE = typer.Option(
    "UTC", "--timezone", help="Zone of date-time timestamps without offset (epochs are UTC)."
)
POLL_INTERVAL = typer.Option(
    0.5, "--poll-interval", help="Seconds between looks for new lines or rows (0.01 to 3600)."
)
AMI_HOST = typer.Option(..., "--ami-host", help="Asterisk host (manager.conf).")
AMI_PORT = typer.Option(5038, "--ami-port", min=1, max=65535, help="AMI port.")
AMI_USERNAME = typer.Option(..., "--username", help="AMI user (read: agent,call).")
AMI_SECRET = typer.Option(
    ...,
    "--secret",
    envvar="AMI_SECRET",
    show_default=False,
    help="AMI secret; better given in the AMI_SECRET environment variable.",
)
ESL_HOST = typer.Option(..., "--esl-host", help="FreeSWITCH host (mod_event_socket).")
ESL_PORT = typer.Option(8021, "--esl-port", min=1, max=65535, help="Event socket port.")
ESL_PASSWORD = typer.Option(
    ...,
    "--password",
    envvar="ESL_PASSWORD",
    show_default=False,
    help="Event socket password; better given in the ESL_PASSWORD environment variable.",
)
HTTP_PORT = typer.Option(
    8088,
    "--http-port",
    min=0,
    max=65535,
    help="Port of the platform's webhook endpoint (it serves nothing else; /healthz, /readyz "
    "and /metrics are on --metrics-port).",
)
WEBHOOK_HOST = typer.Option(
    "127.0.0.1",
    "--http-host",
    help="Address of the webhook endpoint (a TLS proxy in front makes it public).",
)
METRICS_HOST = typer.Option(
    "127.0.0.1", "--metrics-host", help="Address of /healthz, /readyz and /metrics."
)
INSECURE_NO_AUTH = typer.Option(
    False,
    "--insecure-no-auth",
    help="Run the webhook without checking who calls it: anyone who reaches it can publish "
    "events. For a test on a private network only; logged, and shown on /readyz.",
)
FIREHOSE_ACCESS_KEY = typer.Option(
    None,
    "--access-key",
    envvar="FIREHOSE_ACCESS_KEY",
    show_default=False,
    help="Access key the Firehose stream sends in X-Amz-Firehose-Access-Key; requests without "
    "it get 401. Required (or --insecure-no-auth). Better given in the FIREHOSE_ACCESS_KEY "
    "environment variable.",
)
TWILIO_AUTH_TOKEN = typer.Option(
    None,
    "--auth-token",
    envvar="TWILIO_AUTH_TOKEN",
    show_default=False,
    help="Account auth token: X-Twilio-Signature is checked (403 otherwise). Required (or "
    "--insecure-no-auth). Better given in the TWILIO_AUTH_TOKEN environment variable.",
)
PUBLIC_URL = typer.Option(
    None,
    "--public-url",
    help="The Event Callback URL as Twilio calls it (behind a proxy), for the signature.",
)


def _wire_port(option: int | None, settings: Settings) -> int:
    return settings.voice_port if option is None else option


class _Serving(TypedDict):
    """What every live source is given about where it serves (besides its HTTP port)."""

    settings: Settings
    clock: SystemClock
    host: str
    port: int
    http_host: str


def _serving(settings: Settings, *, host: str, port: int | None, http_host: str) -> _Serving:
    return _Serving(
        settings=settings,
        clock=SystemClock(),
        host=host,
        port=_wire_port(port, settings),
        http_host=http_host,
    )


@app.command("asterisk-queue-log")
def serve_queue_log(
    file: Path | None = FILE,
    tenant: str = TENANT,
    source: str | None = SOURCE,
    table_url: str | None = TABLE_URL,
    table: str = TABLE,
    state: Path | None = STATE,
    from_end: bool = FROM_END,
    timezone: str = TIMEZONE,
    poll_interval: float = POLL_INTERVAL,
    host: str = HOST,
    port: int | None = PORT,
    http_host: str = HTTP_HOST,
    metrics_port: int | None = METRICS_PORT,
) -> None:
    """Asterisk queue_log: follow the file (like tail -F, across log rotation) or poll the
    realtime table, and serve its events."""
    if (file is None) == (table_url is None):
        raise typer.BadParameter("give either a FILE or --table-url, not both or neither")
    if not 0.01 <= poll_interval <= 3600:  # NaN too: a range option would let it through
        raise typer.BadParameter("--poll-interval must be from 0.01 to 3600 seconds")
    settings = source_settings()

    def build() -> LiveSource:
        if table_url is not None:
            return QueueLogTableSource(
                table_url,
                table=table,
                tenant=tenant,
                source=source,
                timezone=zone(timezone),
                state_path=state,
                poll_interval=poll_interval,
                http_port=metrics_port_option(metrics_port, settings),
                **_serving(settings, host=host, port=port, http_host=http_host),
            )
        assert file is not None
        return QueueLogFileSource(
            file,
            tenant=tenant,
            source=source,
            timezone=zone(timezone),
            state_path=state,
            poll_interval=poll_interval,
            start_at_end=from_end,
            http_port=metrics_port_option(metrics_port, settings),
            **_serving(settings, host=host, port=port, http_host=http_host),
        )

    _run(build)


@app.command("asterisk-ami")
def serve_ami(
    tenant: str = TENANT,
    ami_host: str = AMI_HOST,
    username: str = AMI_USERNAME,
    secret: str = AMI_SECRET,
    ami_port: int = AMI_PORT,
    source: str | None = SOURCE,
    host: str = HOST,
    port: int | None = PORT,
    http_host: str = HTTP_HOST,
    metrics_port: int | None = METRICS_PORT,
) -> None:
    """Asterisk Manager Interface: log in, rebuild queue members with QueueStatus, serve queue
    and member events; reconnects with backoff. Numbering starts from the start time
    (microseconds), so a restart never reuses a seq."""
    settings = source_settings()

    def build() -> LiveSource:
        return AmiSource(
            AmiConnection(host=ami_host, port=ami_port, username=username, secret=secret),
            tenant=tenant,
            source=source,
            http_port=metrics_port_option(metrics_port, settings),
            **_serving(settings, host=host, port=port, http_host=http_host),
        )

    _run(build)


@app.command("freeswitch")
def serve_freeswitch(
    tenant: str = TENANT,
    esl_host: str = ESL_HOST,
    password: str = ESL_PASSWORD,
    esl_port: int = ESL_PORT,
    source: str | None = SOURCE,
    host: str = HOST,
    port: int | None = PORT,
    http_host: str = HTTP_HOST,
    metrics_port: int | None = METRICS_PORT,
) -> None:
    """FreeSWITCH mod_callcenter over the event socket: serve callcenter::info events;
    reconnects with backoff. Numbering starts from the start time (microseconds)."""
    settings = source_settings()

    def build() -> LiveSource:
        return FreeswitchSource(
            EslConnection(host=esl_host, port=esl_port, password=password),
            tenant=tenant,
            source=source,
            http_port=metrics_port_option(metrics_port, settings),
            **_serving(settings, host=host, port=port, http_host=http_host),
        )

    _run(build)


@app.command("amazon-connect")
def serve_amazon_connect(
    tenant: str = TENANT,
    source: str | None = SOURCE,
    http_port: int = HTTP_PORT,
    access_key: str | None = FIREHOSE_ACCESS_KEY,
    insecure_no_auth: bool = INSECURE_NO_AUTH,
    host: str = HOST,
    port: int | None = PORT,
    http_host: str = WEBHOOK_HOST,
    metrics_host: str = METRICS_HOST,
    metrics_port: int | None = METRICS_PORT,
) -> None:
    """Amazon Connect through an Amazon Data Firehose HTTP endpoint at /amazon-connect/firehose:
    agent event stream records and contact events. Firehose calls only HTTPS on port 443: put
    a TLS proxy in front."""
    settings = source_settings()

    def build() -> LiveSource:
        return AmazonConnectSource(
            tenant=tenant,
            source=source,
            access_key=access_key,
            insecure_no_auth=insecure_no_auth,
            webhook_host=http_host,
            webhook_port=http_port,
            http_port=metrics_port_option(metrics_port, settings),
            **_serving(settings, host=host, port=port, http_host=metrics_host),
        )

    _run(build)


@app.command("twilio")
def serve_twilio(
    tenant: str = TENANT,
    source: str | None = SOURCE,
    http_port: int = HTTP_PORT,
    auth_token: str | None = TWILIO_AUTH_TOKEN,
    insecure_no_auth: bool = INSECURE_NO_AUTH,
    public_url: str | None = PUBLIC_URL,
    host: str = HOST,
    port: int | None = PORT,
    http_host: str = WEBHOOK_HOST,
    metrics_host: str = METRICS_HOST,
    metrics_port: int | None = METRICS_PORT,
) -> None:
    """Twilio TaskRouter: the workspace's Event Callback URL at /twilio/taskrouter/events."""
    settings = source_settings()

    def build() -> LiveSource:
        return TwilioSource(
            tenant=tenant,
            source=source,
            auth_token=auth_token,
            insecure_no_auth=insecure_no_auth,
            public_url=public_url,
            webhook_host=http_host,
            webhook_port=http_port,
            http_port=metrics_port_option(metrics_port, settings),
            **_serving(settings, host=host, port=port, http_host=metrics_host),
        )

    _run(build)
