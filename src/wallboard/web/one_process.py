"""The web tier inside a one-process run (``wallboard demo``): its metadata database, seeded
tenants, the widgets driving what the collector opens, and the app served on uvicorn.

The app is the one ``wallboard serve web`` serves (:func:`~wallboard.web.app.create_app`, the
live channel included), on the in-memory value store the embedded collector writes; so
whatever the app serves (the REST API, the live channel, the browser UI) is there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI

from wallboard.collector.inuse import InUse, Layout
from wallboard.collector.service import Collector
from wallboard.core.clock import Clock
from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.db.database import Database, open_database
from wallboard.db.migrate import upgrade_database
from wallboard.db.models import User
from wallboard.identity.users import add_user, new_password, set_password
from wallboard.stats import DefinitionSet
from wallboard.web.layouts import LayoutsFollower
from wallboard.web.tenant_init import Mode, init_tenant

log = logging.getLogger(__name__)

LAYOUTS_POLL_S = 1.0
"""How often the widgets are looked at again: a new widget's statistics open within it."""

SERVER_START_S = 10.0
SERVER_STOP_S = 3.0
"""Open connections (live channel clients) get this long to close at the end."""


@dataclass(frozen=True)
class WebOptions:
    """Where the one-process web app listens, and its metadata database: a SQLAlchemy URL, a
    SQLite file's path, or None for a temporary SQLite file removed at exit."""

    host: str = "127.0.0.1"
    port: int = 8080
    database: str | None = None


def database_url(database: str) -> str:
    """A URL as given; a path as the URL of that SQLite file."""
    if "://" in database:
        return database
    return f"sqlite+aiosqlite:///{Path(database).expanduser().resolve()}"


def site_url(host: str, port: int) -> str:
    """The address a browser opens (``0.0.0.0`` listens everywhere: this machine is one)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


@contextlib.asynccontextmanager
async def metadata_database(
    database: str | None, tenants: Sequence[str]
) -> AsyncIterator[Database]:
    """The metadata database at its newest schema with ``tenants`` set up (``tenant init``:
    the out-of-the-box templates, the demo dashboard and wallboard); what exists is kept."""
    with contextlib.ExitStack() as temporary:
        if database is None:
            folder = temporary.enter_context(tempfile.TemporaryDirectory(prefix="wallboard-"))
            database = str(Path(folder) / "metadata.db")
        url = database_url(database)
        await upgrade_database(url)
        opened = open_database(url)
        try:
            for tenant in tenants:
                await init_tenant(opened, tenant, Mode.SETUP)
            yield opened
        finally:
            await opened.close()


DEMO_USERS = (("admin", "administrator"), ("supervisor", "supervisor"))
"""The demo's users (docs/security.md): an administrator, and a supervisor whose session
expires and who sees what the access groups let them."""


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    password: str


async def demo_users(database: Database, tenant: str) -> list[DemoUser]:
    """The demo's users in ``tenant``, each with a fresh random password (a database kept from
    an earlier run gets new ones: only this run's output knows them)."""
    users = []
    async with database.sessions() as session:
        for username, role in DEMO_USERS:
            password = new_password()
            if await session.scalar(sa.select(User.id).where(User.username == username)):
                await set_password(session, username, password, actor="demo")
            else:
                await add_user(
                    session,
                    TenantId(tenant),
                    username,
                    password=password,
                    roles=[role],
                    actor="demo",
                )
            users.append(DemoUser(username, role, password))
        await session.commit()
    return users


async def follow_layouts(
    database: Database,
    definitions: DefinitionSet,
    collector: Collector,
    *,
    clock: Clock,
    extra: Sequence[Layout] = (),
) -> None:
    """Keep the collector's statistics those of the widgets (plus ``extra`` layouts) until
    cancelled: a widget created opens its statistics within :data:`LAYOUTS_POLL_S`."""
    follower = LayoutsFollower(database, definitions)
    while True:
        changed = await follower.poll()
        if changed is not None:
            await collector.set_in_use(with_layouts(changed, definitions, extra))
        await clock.sleep(LAYOUTS_POLL_S)


def with_layouts(in_use: InUse, definitions: DefinitionSet, extra: Sequence[Layout]) -> InUse:
    """``in_use`` with ``extra`` layouts too."""
    if not extra:
        return in_use
    return InUse(
        definitions, always=tuple(sorted(in_use.always)), layouts=(*in_use.layouts, *extra)
    )


async def initial_in_use(
    database: Database, definitions: DefinitionSet, extra: Sequence[Layout] = ()
) -> InUse:
    """What the widgets of the metadata database need open now (InUse's always-on set if the
    database does not answer)."""
    found = await LayoutsFollower(database, definitions).poll()
    return with_layouts(found or InUse(definitions), definitions, extra)


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, sock: socket.socket) -> AsyncIterator[None]:
    """Serve ``app`` on the bound socket while the block runs (uvicorn; signals are left to
    the process); at the end connections get :data:`SERVER_STOP_S` to close, the live
    channel's followers stop and the socket is closed."""
    import uvicorn

    from wallboard.ops.server import EmbeddedServer

    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=int(SERVER_STOP_S),
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="web-server")
    try:
        async with asyncio.timeout(SERVER_START_S):
            while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has a flag
                await asyncio.sleep(0.01)
        if task.done():
            task.result()
            raise Unavailable("the web server stopped as it started")
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        hub = getattr(app.state, "live_hub", None)
        if hub is not None:
            await hub.close()
        sock.close()
