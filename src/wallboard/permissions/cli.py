"""``wallboard serve permissions``: the permissions service as a process, between the metadata
database (the configuration) and Redis (the computed visible sets the web tier reads)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import typer

from wallboard.core.errors import ConfigError, Unavailable, WallboardError
from wallboard.settings import Settings

log = logging.getLogger(__name__)

_PROBE_TENANT = "~permissions"
"""A tenant id no tenant has (the metadata refuses ``~`` in tenant ids): the Redis probe touches no data."""


async def run_permissions(settings: Settings, host: str) -> None:
    """Follow the configuration and keep the visible sets in Redis until cancelled."""
    import sqlalchemy as sa

    from wallboard.core.ids import TenantId
    from wallboard.db.database import open_database
    from wallboard.ops.server import serve_ops
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.permissions.service import PermissionsFollower
    from wallboard.permissions.store import RedisPermissionsStore
    from wallboard.store.redis import RedisValueStore

    cancel_on_signals()
    if not settings.redis_url:
        raise ConfigError(
            "WALLBOARD_REDIS_URL is empty: the permissions service stores the visible objects "
            "in Redis, where the web processes read them (the one-process demo computes them "
            "in memory itself)"
        )
    values = await RedisValueStore.connect(settings.redis_url, prefix=settings.redis_prefix)
    store = RedisPermissionsStore(values)
    database = open_database(settings)
    follower = PermissionsFollower(database, store)

    async def database_reachable() -> bool:
        async with database.sessions() as session:
            await session.execute(sa.select(1))
        return True

    async def store_reachable() -> bool:
        try:
            await store.version(TenantId(_PROBE_TENANT))
        except Unavailable:
            return False
        return True

    async def computed() -> bool:
        return follower.polled.is_set() and not follower.failing

    async def status() -> dict[str, object]:
        return dict(follower.status())

    try:
        async with serve_ops(
            host,
            settings.metrics_port,
            {"database": database_reachable, "value_store": store_reachable, "computed": computed},
            status=status,
        ) as port:
            log.info(
                "permissions: following the configuration; metrics on http://%s:%d", host, port
            )
            with contextlib.suppress(asyncio.CancelledError):
                await follower.run()
            log.info("permissions: stopping")
    finally:
        await values.close()
        await database.close()


def permissions_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address of /metrics, /healthz, /readyz."),
) -> None:
    """Compute each user's visible objects from the configuration, into Redis, within a second
    of a change (several replicas may run)."""
    from wallboard.ops.logging import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(settings)
        asyncio.run(run_permissions(settings, host))
    except KeyboardInterrupt:
        pass
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
