"""``wallboard serve fanout``: one source's fanout as a process, on NATS JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wallboard.core.errors import ConfigError, InvalidInput, Unavailable, WallboardError
from wallboard.eventlog.interface import StreamName
from wallboard.settings import Settings
from wallboard.wire.options import CaOption, TlsOption, TokenOption, tls_context

if TYPE_CHECKING:
    from wallboard.eventlog.jetstream import JetStreamEventLog
    from wallboard.fanout.service import FanoutSettings

log = logging.getLogger(__name__)


def fanout_settings(
    settings: Settings, stream: StreamName, upstream: str, source_id: str
) -> FanoutSettings:
    """The fanout's settings from the options and ``WALLBOARD_FANOUT_*``; ConfigError naming
    what is wrong."""
    from wallboard.fanout.service import FanoutSettings
    from wallboard.wire.cli import parse_address

    try:
        host, port = parse_address(upstream)
    except ValueError as exc:
        raise ConfigError(f"--upstream: {exc}") from None
    chosen = FanoutSettings(
        stream=stream,
        upstream_host=host,
        upstream_port=port,
        source_id=source_id,
        batch_max=settings.fanout_batch,
        pending_max=max(settings.fanout_pending, settings.fanout_batch),
        retry_max_s=settings.fanout_retry_max_seconds,
        retry_initial_s=min(0.1, settings.fanout_retry_max_seconds),
    )
    try:
        chosen.check()
    except InvalidInput as exc:
        raise ConfigError(f"WALLBOARD_FANOUT_*: {exc.message}") from None
    return chosen


async def connect_log(settings: Settings, retry_max_s: float) -> JetStreamEventLog:
    """The JetStream log, waiting for NATS as long as it takes: a fanout started before its
    NATS server (or during its restart) comes up when NATS does, rather than exiting."""
    from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings

    log_settings = JetStreamSettings(
        url=settings.nats_url,
        prefix=settings.log_prefix,
        max_age_s=settings.log_max_age_hours * 3600,
        max_bytes=settings.log_max_bytes,
        replicas=settings.log_replicas,
    )
    try:
        log_settings.check()
    except InvalidInput as exc:
        raise ConfigError(f"WALLBOARD_LOG_*: {exc.message}") from None
    delay = min(0.1, retry_max_s)
    while True:
        try:
            return await JetStreamEventLog.connect(log_settings)
        except Unavailable as exc:
            log.warning("event log unreachable (%s); retrying in %.1f s", exc.message, delay)
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        delay = min(retry_max_s, delay * 2)


async def run_fanout(
    settings: Settings,
    stream: StreamName,
    upstream: str,
    *,
    source_id: str,
    host: str,
    port: int,
    metrics_host: str,
    metrics_port: int,
    token: str | None,
    tls: bool,
    ca: Path | None,
) -> None:
    """Connect to the log, serve downstream, and carry the upstream into both until cancelled."""
    from wallboard.fanout.service import Fanout
    from wallboard.ops.server import serve_ops
    from wallboard.ops.signals import cancel_on_signals

    cancel_on_signals()
    chosen = fanout_settings(settings, stream, upstream, source_id)
    context = tls_context(tls, ca)
    event_log = await connect_log(settings, chosen.retry_max_s)
    fanout = Fanout(event_log, chosen, wire=settings, upstream_token=token, upstream_tls=context)

    async def upstream_connected() -> bool:
        return fanout.client is not None and fanout.client.subscribed

    async def log_reachable() -> bool:
        return event_log.connected and fanout.log_reachable

    try:
        async with serve_ops(
            metrics_host,
            metrics_port,
            {"upstream": upstream_connected, "event_log": log_reachable},
        ) as ops_port:
            while True:
                try:
                    await fanout.prepare()
                    break
                except Unavailable as exc:
                    log.warning("event log unreachable (%s); retrying", exc.message)
                    await asyncio.sleep(chosen.retry_max_s)
            await fanout.server.start(host, port)
            log.info(
                "fanout %s: from %s into the log at %s, serving on %s:%d, metrics on http://%s:%d",
                stream,
                upstream,
                settings.nats_url,
                host,
                fanout.server.port,
                metrics_host,
                ops_port,
            )
            with contextlib.suppress(asyncio.CancelledError):
                await fanout.run()
            log.info("fanout %s: stopping", stream)
    finally:
        await fanout.server.close()
        await event_log.close()


def fanout_command(
    source: Annotated[
        StreamName,
        typer.Option("--source", help="The source kind, and the log stream it goes to."),
    ],
    upstream: Annotated[
        str, typer.Option("--upstream", help="The source's wire server, as HOST:PORT.")
    ],
    source_id: Annotated[
        str,
        typer.Option(
            "--source-id",
            help="The source id on the upstream's events (default: the --source name, as the "
            "simulator's); events of another id are skipped and counted.",
        ),
    ] = "",
    host: Annotated[
        str, typer.Option("--host", help="Address the downstream wire server listens on.")
    ] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=0, max=65535, help="Downstream wire port (default WALLBOARD_FANOUT_PORT)."
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address of /metrics, /healthz, /readyz.")
    ] = "127.0.0.1",
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Port of /metrics, /healthz, /readyz (default WALLBOARD_METRICS_PORT).",
        ),
    ] = None,
    token: TokenOption = None,
    tls: TlsOption = False,
    ca: CaOption = None,
) -> None:
    """Carry one source into the event log and re-serve it to wire clients, with no gap or
    duplicate across restarts of the source, the fanout or NATS."""
    from wallboard.ops.logging import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(settings)
        asyncio.run(
            run_fanout(
                settings,
                source,
                upstream,
                source_id=source_id,
                host=host,
                port=settings.fanout_port if port is None else port,
                metrics_host=metrics_host,
                metrics_port=settings.metrics_port if metrics_port is None else metrics_port,
                token=token,
                tls=tls,
                ca=ca,
            )
        )
    except KeyboardInterrupt:
        pass
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
