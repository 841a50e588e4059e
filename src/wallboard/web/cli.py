"""The ``wallboard tenant`` commands and ``wallboard serve web``.

Exit codes: 0 success (check-diff: nothing to do), 1 check-diff found something ``update``
would change, 2 the database, the settings or the arguments could not be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

import typer

from wallboard.core.errors import WallboardError
from wallboard.db.cli import EXIT_UNUSABLE, UrlOption, _run, _url_or_exit
from wallboard.db.database import open_database
from wallboard.settings import Settings
from wallboard.web.tenant_init import Mode, Step, init_tenant

app = typer.Typer(
    name="tenant",
    help="Create, seed, update and remove tenants in the metadata database.",
    no_args_is_help=True,
)

EXIT_WOULD_CHANGE = 1

log = logging.getLogger(__name__)


async def _init(url: str, tenant: str, mode: Mode, **options: object) -> list[Step]:
    async with open_database(url) as database:
        return await init_tenant(database, tenant, mode, **options)  # type: ignore[arg-type]


@app.command("init")
def init_command(
    tenant: Annotated[str, typer.Argument(help="The tenant's id: a slug (acme, eu-west).")],
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            help="setup: create what is missing; update: also bring seeded templates to their "
            "newest version (never a user's edited one); check-diff: print what update would "
            "do, exit 1 if anything; teardown: delete the tenant.",
        ),
    ] = Mode.SETUP,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown for a new tenant.")
    ] = None,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA time zone of a new tenant's days.")
    ] = "UTC",
    overwrite_edited: Annotated[
        bool,
        typer.Option(
            "--overwrite-edited",
            help="With update: replace seeded templates even where a user edited them.",
        ),
    ] = False,
    url: UrlOption = None,
) -> None:
    """The init tenant job: create the tenant and seed the out-of-the-box templates and the
    demo dashboard and wallboard. Idempotent."""
    database_url = _url_or_exit(url)
    steps = _run(
        _init(
            database_url,
            tenant,
            mode,
            display_name=display_name,
            time_zone=time_zone,
            overwrite_edited=overwrite_edited,
        )
    )
    for step in steps:
        typer.echo(str(step))
    changing = [step for step in steps if step.changes]
    if mode is Mode.CHECK_DIFF:
        if changing:
            typer.echo(f"{len(changing)} change(s) would be made by --mode update")
            raise typer.Exit(EXIT_WOULD_CHANGE)
        typer.echo(f"tenant {tenant} is up to date")
    elif not changing:
        typer.echo(f"tenant {tenant}: nothing to do")


async def run_web(settings: Settings) -> None:
    """Serve the API on the web port and the operations endpoints on the metrics port."""
    import uvicorn

    from wallboard.config.follower import ConfigFollower
    from wallboard.live.channel import PER_MESSAGE_DEFLATE
    from wallboard.ops.server import EmbeddedServer, bind_socket, serve_ops
    from wallboard.ops.signals import cancel_on_signals
    from wallboard.store.interface import ValueStore
    from wallboard.store.redis import RedisValueStore
    from wallboard.web.app import create_app, readiness_checks
    from wallboard.web.objects.config import load_object_config

    cancel_on_signals()
    database = open_database(settings)
    sock = bind_socket(settings.web_host, settings.web_port, "the web API")
    store: ValueStore | None = None
    app = None
    following: asyncio.Task[None] | None = None
    resources = contextlib.AsyncExitStack()
    try:
        if settings.redis_url:
            store = await RedisValueStore.connect(settings.redis_url, prefix=settings.redis_prefix)
        # The configuration objects are followed live (a new agent is in its groups and the
        # object search within a second); tenants without any keep WALLBOARD_COLLECTOR_OBJECTS'.
        follower = ConfigFollower(database, fallback=load_object_config(settings))
        await follower.poll()
        following = asyncio.create_task(follower.run(), name="web-config-follower")
        from wallboard.permissions.service import permissions_in_process
        from wallboard.permissions.store import RedisPermissionsStore
        from wallboard.permissions.visibility import StoredVisibility
        from wallboard.web.live import VersionedVisibility

        visibility: VersionedVisibility
        if isinstance(store, RedisValueStore):
            # The sets ``wallboard serve permissions`` keeps beside the values: open live
            # connections follow permission changes.
            visibility = StoredVisibility(RedisPermissionsStore(store))
        else:
            # No Redis: the permissions service's work runs in this process, as in the demo
            # (a secured web tier never shows every object for want of a permissions service).
            in_process = await resources.enter_async_context(permissions_in_process(database))
            visibility = in_process.visibility
        app = create_app(
            settings,
            database=database,
            store=store,
            objects=follower.objects,
            visibility=visibility,
        )
        checks = readiness_checks(database, store)
        async with serve_ops(settings.web_host, settings.web_metrics_port, checks) as port:
            log.info(
                "web: API on http://%s:%d/api/v1, metrics on port %d",
                settings.web_host,
                sock.getsockname()[1],
                port,
            )
            config = uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="off",
                ws_per_message_deflate=PER_MESSAGE_DEFLATE,
            )
            server = EmbeddedServer(config)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                # SIGTERM or SIGINT: finish the requests in flight, then close.
                log.info("web: stopping")
                server.should_exit = True
                await task
    finally:
        await resources.aclose()
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
        sock.close()
        await database.close()
        if store is not None:
            if app is not None:
                await app.state.live_hub.close()
            await store.close()


def serve_web_command() -> None:
    """REST API (/api/v1) on WALLBOARD_WEB_PORT; /metrics, /healthz, /readyz on
    WALLBOARD_WEB_METRICS_PORT."""
    from wallboard.ops.logging import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(settings)
        asyncio.run(run_web(settings))
    except KeyboardInterrupt:
        pass
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
