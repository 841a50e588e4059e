"""``wallboard serve collector``: the collector as a process, on NATS JetStream and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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
    if settings.collector_objects and settings.collector_objects != OBJECTS_FROM_DATABASE:
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


OBJECTS_FROM_DATABASE = "database"
"""``WALLBOARD_COLLECTOR_OBJECTS=database``: the configuration objects in the metadata database
are the object configuration, followed live (:class:`wallboard.config.follower.ConfigFollower`).
They are followed too whenever the collector reads the widgets from the database."""

IN_USE_FROM_DATABASE = "database"
"""``WALLBOARD_COLLECTOR_IN_USE=database``: the widgets in the metadata database say what is in
use (``WALLBOARD_DATABASE_URL``), followed once a second."""


async def run_collector(settings: Settings, host: str) -> None:
    """Connect to the log and the store, then collect until cancelled (SIGTERM, SIGINT).

    With Redis, the collector runs under its ordinal's lease (a standby under whichever
    ordinal's lease it gets: :mod:`wallboard.collector.lease`); with the memory store, in one
    process, it needs none."""
    from wallboard.collector.inuse import InUse, InUseFile
    from wallboard.collector.lease import LeaseSettings, Membership
    from wallboard.collector.service import RESERVED_PREFIX, Collector, CollectorSettings
    from wallboard.core.ids import TenantId
    from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
    from wallboard.ops.server import serve_ops
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.store.interface import ValueStore
    from wallboard.store.memory import MemoryValueStore
    from wallboard.store.redis import RedisValueStore

    cancel_on_signals()
    definitions, objects = collector_inputs(settings)
    if settings.collector_standby and not settings.redis_url:
        raise ConfigError(
            "WALLBOARD_COLLECTOR_STANDBY=true needs WALLBOARD_REDIS_URL: a standby takes over "
            "under a lease in Redis, and from the checkpoints there"
        )
    collector_settings = CollectorSettings(
        name=str(settings.collector_ordinal),
        replicas=settings.collector_replicas,
        ordinal=0 if settings.collector_standby else settings.collector_ordinal,
        flush_s=settings.collector_flush_ms / 1000,
        checkpoint_events=settings.collector_checkpoint_events,
        checkpoint_s=settings.collector_checkpoint_seconds,
        clock=settings.collector_clock,
        time_zone=settings.collector_time_zone,
        history_s=settings.collector_history_minutes * 60,
        lateness_ms=settings.collector_lateness_ms,
    )
    lease_settings = LeaseSettings(ttl_s=settings.collector_lease_seconds)
    try:
        collector_settings.check()
        lease_settings.check()
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
    in_use_file = None
    layouts = None
    in_use = None
    if settings.collector_in_use == IN_USE_FROM_DATABASE:
        from wallboard.db.database import open_database
        from wallboard.web.layouts import LayoutsFollower

        database = open_database(settings)
        layouts = LayoutsFollower(database, definitions)  # type: ignore[arg-type]
        in_use = await layouts.poll() or InUse(definitions)  # type: ignore[arg-type]
    elif settings.collector_in_use:
        in_use_file = InUseFile(Path(settings.collector_in_use), definitions)  # type: ignore[arg-type]
        try:
            in_use = in_use_file.load()
        except InvalidInput as exc:
            raise ConfigError(f"WALLBOARD_COLLECTOR_IN_USE: {exc.message}") from None
    config_follower = None
    if OBJECTS_FROM_DATABASE in (settings.collector_objects, settings.collector_in_use):
        from wallboard.config.follower import ConfigFollower
        from wallboard.db.database import open_database

        config_follower = ConfigFollower(open_database(settings), fallback=objects)  # type: ignore[arg-type]
        await config_follower.poll()
        objects = config_follower.objects  # type: ignore[assignment]
    if settings.redis_url:
        store = await RedisValueStore.connect(
            settings.redis_url,
            prefix=settings.redis_prefix,
            interval_retention_ms=settings.history_retention_hours * 3_600_000,
        )
    else:
        log.warning("WALLBOARD_REDIS_URL is empty: values stay in this process's memory")
        store = MemoryValueStore()

    def make_collector(ordinal: int, store_: ValueStore) -> Collector:
        log.info(
            "collector %d of %d: reading %s",
            ordinal,
            collector_settings.replicas,
            settings.nats_url,
        )
        return Collector(
            event_log,
            store_,
            definitions,  # type: ignore[arg-type]
            dataclasses.replace(collector_settings, name=str(ordinal), ordinal=ordinal),
            objects=objects,  # type: ignore[arg-type]
            in_use=in_use,
        )

    membership: Membership | None = None
    collector: Collector | None = None
    if isinstance(store, RedisValueStore):
        membership = Membership(
            store.client,
            store,
            make_collector,
            prefix=settings.redis_prefix,
            replicas=collector_settings.replicas,
            ordinal=None if settings.collector_standby else collector_settings.ordinal,
            settings=lease_settings,
        )
    else:
        collector = make_collector(collector_settings.ordinal, store)

    async def collect() -> None:
        if membership is not None:
            await membership.run()
        elif collector is not None:
            await collector.run()

    def running() -> Collector | None:
        return membership.collector if membership is not None else collector

    async def status() -> dict[str, object]:
        current = running()
        body = await current.status() if current is not None else {}
        return {"role": role(), **body}

    def role() -> str:
        if membership is not None:
            return membership.state
        return f"collecting ordinal {collector_settings.ordinal} of {collector_settings.replicas}"

    async def log_reachable() -> bool:
        try:
            await event_log.last_seq(collector_settings.streams[0])
        except Unavailable:
            return False
        return True

    async def store_reachable() -> bool:
        try:
            await store.current_version(TenantId(RESERVED_PREFIX + collector_settings.name))
        except Unavailable:
            return False
        return True

    async def sources_live() -> bool:
        current = running()  # a standby has no sources to be behind on
        return current is None or not current.stale()

    try:
        async with serve_ops(
            host,
            settings.metrics_port,
            {"event_log": log_reachable, "value_store": store_reachable, "sources": sources_live},
            status=status,
            role=role,
        ) as port:
            log.info(
                "collector process %s: metrics on http://%s:%d",
                "standby" if settings.collector_standby else collector_settings.ordinal,
                host,
                port,
            )
            task = asyncio.create_task(collect())
            following = None
            if config_follower is not None:

                async def apply_config(tenant: str, config: object) -> None:
                    # A collector started later (a takeover) starts from follower.objects.
                    current = running()
                    if current is not None:
                        await current.set_objects(tenant, config)  # type: ignore[arg-type]

                following = asyncio.create_task(config_follower.run(apply_config))
            try:
                while not task.done():
                    await asyncio.wait({task}, timeout=1.0)
                    current = running()
                    if current is not None:
                        with contextlib.suppress(Unavailable):
                            await current.measure_lag()
                    changed = in_use_file.poll() if in_use_file is not None else None
                    if layouts is not None:
                        changed = await layouts.poll()
                    if changed is not None:
                        log.info("collector: the statistics in use changed; opening and closing")
                        in_use = changed  # for a collector started later (a takeover)
                        if current is not None:
                            await current.set_in_use(changed)
                task.result()
            except asyncio.CancelledError:
                log.info("collector: stopping, writing the last values and checkpoints")
            finally:
                # A clean stop writes every value and checkpoint before the process exits (and
                # gives the lease back).
                if collector is not None:
                    collector.stop()
                if membership is not None:
                    membership.stop()
                if following is not None:
                    following.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await following
                await task
    finally:
        await event_log.close()
        await store.close()
        if layouts is not None:
            await layouts.close()
        if config_follower is not None:
            await config_follower.close()


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
