"""``wallboard serve collector``: the collector as a process, on NATS JetStream and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import typer

from wallboard.core.errors import ConfigError, InvalidInput, Unavailable, WallboardError
from wallboard.inputs import load_yaml_file
from wallboard.settings import Settings

app = typer.Typer(
    help="Run one of Wallboard's services (settings from WALLBOARD_* variables).",
    no_args_is_help=True,
)

log = logging.getLogger(__name__)


def collector_inputs(settings: Settings) -> tuple[object, dict[str, object]]:
    """The definitions and object configuration the settings name (checked)."""
    from wallboard.stats import ObjectConfig, decode_definitions, standard_library

    definitions = standard_library()
    if settings.collector_definitions:
        document = load_yaml_file(
            Path(settings.collector_definitions), "WALLBOARD_COLLECTOR_DEFINITIONS"
        )
        try:
            definitions = decode_definitions(
                document.get("statistics", document) if isinstance(document, dict) else document
            )
        except InvalidInput as exc:
            raise ConfigError(f"WALLBOARD_COLLECTOR_DEFINITIONS: {exc.message}") from None
    objects: dict[str, object] = {}
    if settings.collector_objects:
        document = load_yaml_file(Path(settings.collector_objects), "WALLBOARD_COLLECTOR_OBJECTS")
        try:
            objects = dict(msgspec.convert(document or {}, type=dict[str, ObjectConfig]))
        except msgspec.ValidationError as exc:
            raise ConfigError(f"WALLBOARD_COLLECTOR_OBJECTS: {exc}") from None
    try:
        ZoneInfo(settings.collector_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"WALLBOARD_COLLECTOR_TIME_ZONE: unknown time zone {settings.collector_time_zone!r}"
        ) from None
    return definitions, objects


async def run_collector(settings: Settings, host: str) -> None:
    """Connect to the log and the store, then collect until cancelled (SIGTERM, SIGINT)."""
    from wallboard.collector.service import Collector, CollectorSettings
    from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
    from wallboard.ops.server import serve_ops
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.store.interface import ValueStore
    from wallboard.store.memory import MemoryValueStore
    from wallboard.store.redis import RedisValueStore

    cancel_on_signals()
    definitions, objects = collector_inputs(settings)
    collector_settings = CollectorSettings(
        name=str(settings.collector_ordinal),
        replicas=settings.collector_replicas,
        ordinal=settings.collector_ordinal,
        flush_s=settings.collector_flush_ms / 1000,
        checkpoint_events=settings.collector_checkpoint_events,
        checkpoint_s=settings.collector_checkpoint_seconds,
        clock=settings.collector_clock,
        time_zone=settings.collector_time_zone,
    )
    try:
        collector_settings.check()
    except InvalidInput as exc:
        raise ConfigError(f"WALLBOARD_COLLECTOR_*: {exc.message}") from None
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
    event_log = await JetStreamEventLog.connect(log_settings)
    store: ValueStore
    if settings.redis_url:
        store = await RedisValueStore.connect(settings.redis_url, prefix=settings.redis_prefix)
    else:
        log.warning("WALLBOARD_REDIS_URL is empty: values stay in this process's memory")
        store = MemoryValueStore()
    collector = Collector(
        event_log,
        store,
        definitions,  # type: ignore[arg-type]
        collector_settings,
        objects=objects,  # type: ignore[arg-type]
    )

    async def log_reachable() -> bool:
        try:
            await collector.measure_lag()
        except Unavailable:
            return False
        return True

    async def store_reachable() -> bool:
        try:
            await store.current_version(collector.state_tenant)
        except Unavailable:
            return False
        return True

    try:
        async with serve_ops(
            host,
            settings.metrics_port,
            {"event_log": log_reachable, "value_store": store_reachable},
        ) as port:
            log.info(
                "collector %d of %d: reading %s, metrics on http://%s:%d",
                collector_settings.ordinal,
                collector_settings.replicas,
                settings.nats_url,
                host,
                port,
            )
            task = asyncio.create_task(collector.run())
            try:
                while not task.done():
                    await asyncio.wait({task}, timeout=5.0)
                    with contextlib.suppress(Unavailable):
                        await collector.measure_lag()
                task.result()
            except asyncio.CancelledError:
                log.info("collector: stopping, writing the last values and checkpoints")
            finally:
                # A clean stop writes every value and checkpoint before the process exits.
                collector.stop()
                await task
    finally:
        await event_log.close()
        await store.close()


@app.command("collector")
def collector_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address of /metrics, /healthz, /readyz."),
) -> None:
    """Compute statistics from the event log into the value store, exactly once across restarts."""
    from wallboard.ops.logging import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(settings)
        asyncio.run(run_collector(settings, host))
    except KeyboardInterrupt:
        pass
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
