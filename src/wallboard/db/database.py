"""Opening the metadata database: async engines for SQLite and PostgreSQL, and session factories.

Two backends are supported, chosen by the URL: ``sqlite+aiosqlite:///path`` (the embedded
default) and ``postgresql+asyncpg://user@host/db`` (production). The plain forms ``sqlite:///``,
``postgresql://`` and ``postgres://`` are accepted and mapped to those drivers.

SQLite connections get foreign keys on, WAL journaling (readers do not block the writer), a busy
timeout, and real transactions: Python's sqlite3 module delays ``BEGIN`` until the first write,
which breaks isolation and SAVEPOINTs, so the driver's own transaction handling is switched off
and ``BEGIN`` is sent by us (``BEGIN IMMEDIATE`` when a connection asks for it with the
``SQLITE_BEGIN_OPTION`` execution option, as the migration runner does to serialize upgrades).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool, StaticPool

from wallboard.core.errors import ConfigError
from wallboard.settings import Settings

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"

# Execution option read by the SQLite ``begin`` hook: "DEFERRED" (default) or "IMMEDIATE".
SQLITE_BEGIN_OPTION = "wallboard_sqlite_begin"

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_BUSY_TIMEOUT = 60.0

_DRIVER_ALIASES = {
    "sqlite": SQLITE_DRIVER,
    SQLITE_DRIVER: SQLITE_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    "postgres": POSTGRES_DRIVER,
    POSTGRES_DRIVER: POSTGRES_DRIVER,
}


def normalize_database_url(url: str | URL) -> URL:
    """Parse a database URL and pin its async driver; ConfigError names what is wrong."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise ConfigError(
            f"database URL {url!r} cannot be parsed (expected e.g. sqlite+aiosqlite:///wallboard.db)",
            variable="WALLBOARD_DATABASE_URL",
        ) from None
    driver = _DRIVER_ALIASES.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"database URL scheme {parsed.drivername!r} is not supported; "
            f"use {SQLITE_DRIVER}:///path or {POSTGRES_DRIVER}://user@host/db",
            variable="WALLBOARD_DATABASE_URL",
            scheme=parsed.drivername,
        )
    return parsed.set(drivername=driver)


def is_sqlite(url: URL) -> bool:
    """True for a SQLite URL (after ``normalize_database_url``)."""
    return url.get_backend_name() == "sqlite"


def is_sqlite_memory(url: URL) -> bool:
    """True for an in-memory SQLite database, which lives only as long as its one connection."""
    return is_sqlite(url) and url.database in (None, "", ":memory:")


def create_database_engine(
    url: str | URL,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    pooled: bool = True,
    echo: bool = False,
) -> AsyncEngine:
    """An async engine for ``url`` with the per-backend setup described in the module docstring.

    ``connect_timeout`` bounds opening a PostgreSQL connection; ``busy_timeout`` is how long a
    SQLite writer waits for another writer's lock. ``pooled=False`` opens a connection per use
    (for short-lived tools such as the migration runner). The caller disposes the engine.
    """
    parsed = normalize_database_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(parsed):
        kwargs["connect_args"] = {"timeout": busy_timeout}
        if is_sqlite_memory(parsed):
            # Every new connection would be a new, empty database: keep exactly one.
            kwargs["poolclass"] = StaticPool
        elif not pooled:
            kwargs["poolclass"] = NullPool
        engine = create_async_engine(parsed, **kwargs)
        _configure_sqlite(engine, wal=not is_sqlite_memory(parsed), busy_timeout=busy_timeout)
        return engine
    kwargs["connect_args"] = {"timeout": connect_timeout}
    kwargs["pool_pre_ping"] = True
    if not pooled:
        kwargs["poolclass"] = NullPool
    return create_async_engine(parsed, **kwargs)


def _configure_sqlite(engine: AsyncEngine, *, wal: bool, busy_timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Stop the driver from issuing its own (late) BEGIN and implicit COMMITs before DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                # Persistent in the file; a no-op once set. Switching needs an exclusive lock,
                # and when several connections open a new file at once SQLite may answer
                # "locked" at once instead of waiting out the busy timeout: retry until it.
                deadline = time.monotonic() + busy_timeout
                while True:
                    try:
                        cursor.execute("PRAGMA journal_mode = WAL")
                        break
                    except sqlite3.OperationalError as exc:
                        if "locked" not in str(exc) or time.monotonic() > deadline:
                            raise
                        time.sleep(0.02)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"{SQLITE_BEGIN_OPTION}={mode!r} is not a SQLite transaction mode")
        connection.exec_driver_sql(f"BEGIN {mode}")


@dataclasses.dataclass(frozen=True)
class Database:
    """An open metadata database: the engine and the factory of sessions bound to it.

    Use as ``async with open_database(settings) as db: async with db.sessions() as session: ...``
    or call ``await db.close()`` when done; closing disposes every pooled connection.
    """

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def url(self) -> URL:
        return self.engine.url

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def open_database(target: Settings | str | URL, *, echo: bool = False) -> Database:
    """Open the metadata database named by ``settings.database_url`` (or by a URL given directly).

    Nothing is connected yet; the first session does. Sessions do not expire objects on commit,
    because an expired attribute would need a lazy load, which async sessions cannot do.
    """
    url = target.database_url if isinstance(target, Settings) else target
    engine = create_database_engine(url, echo=echo)
    return Database(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))
