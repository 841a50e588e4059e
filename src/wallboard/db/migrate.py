"""Bringing the metadata schema up to date: what ``wallboard db upgrade`` runs.

``upgrade_database`` is safe to run twice and concurrently (several init jobs, or every replica
at start-up): the whole upgrade runs in one transaction on one connection that first takes an
exclusive lock, so a second runner waits, then finds the schema already at head and does nothing.

- PostgreSQL: ``pg_advisory_xact_lock`` on a fixed key. DDL is transactional there, so the lock,
  the migrations and the version row commit (or roll back) together and the lock is released by
  that commit — it cannot leak, even if the process dies.
- SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before anything is read; other
  writers wait up to the busy timeout.

Waiting for the lock is bounded by ``lock_timeout``; when it passes, ``Unavailable`` is raised.
The migrations live in ``wallboard/db/migrations`` and are configured here, without an ini file.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wallboard.core.errors import Unavailable
from wallboard.db.database import (
    DEFAULT_BUSY_TIMEOUT,
    SQLITE_BEGIN_OPTION,
    create_database_engine,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Key of the PostgreSQL advisory lock that serializes upgrades ("Wallboar" in ASCII). Any
# process that changes the schema must take it.
UPGRADE_LOCK_KEY = 0x57616C6C626F6172

DEFAULT_LOCK_TIMEOUT = 300.0

DatabaseTarget = str | URL | AsyncEngine


@dataclasses.dataclass(frozen=True)
class SchemaChange:
    """What an upgrade or downgrade did: the revision before and after (None: no schema)."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclasses.dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations shipped with this code."""

    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def alembic_config() -> Config:
    """The Alembic configuration of the metadata migrations, built in code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    """The newest revision shipped with this code (the migrations have exactly one head)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def upgrade_database(
    target: DatabaseTarget, revision: str = "head", *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> SchemaChange:
    """Migrate the schema up to ``revision`` under the upgrade lock; a no-op when already there."""
    return await _migrate(target, "upgrade", revision, lock_timeout)


async def downgrade_database(
    target: DatabaseTarget, revision: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> SchemaChange:
    """Migrate the schema down to ``revision`` (``"base"``: drop everything) under the lock."""
    return await _migrate(target, "downgrade", revision, lock_timeout)


async def current_revision(target: DatabaseTarget) -> str | None:
    """The revision the database is at; None when it has no schema yet."""
    async with _connect(target) as connection:
        return await connection.run_sync(_read_revision)


async def check_database(target: DatabaseTarget) -> SchemaStatus:
    """Compare the database's revision with the head shipped with this code."""
    return SchemaStatus(current=await current_revision(target), head=head_revision())


def _read_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextlib.asynccontextmanager
async def _connect(
    target: DatabaseTarget, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> AsyncIterator[AsyncConnection]:
    if isinstance(target, AsyncEngine):
        async with target.connect() as connection:
            yield connection
        return
    engine = create_database_engine(target, pooled=False, busy_timeout=busy_timeout)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def _migrate(
    target: DatabaseTarget,
    direction: Literal["upgrade", "downgrade"],
    revision: str,
    lock_timeout: float,
) -> SchemaChange:
    def run(connection: sa.Connection) -> SchemaChange:
        before = _read_revision(connection)
        config = alembic_config()
        # env.py runs the migrations on this connection, inside the transaction holding the lock.
        config.attributes["connection"] = connection
        if direction == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
        change = SchemaChange(before=before, after=_read_revision(connection))
        if change.changed and connection.dialect.name == "sqlite":
            _check_sqlite_foreign_keys(connection)
        return change

    async with _connect(target, busy_timeout=lock_timeout) as connection:
        sqlite = connection.dialect.name == "sqlite"
        try:
            if sqlite:
                # SQLite rebuilds a table to alter it (batch mode); with foreign keys on, dropping
                # the old table would cascade-delete the rows that refer to it. SQLite's own
                # recipe: keys off around the change (only possible outside a transaction),
                # then a foreign_key_check before commit.
                await connection.run_sync(_set_sqlite_foreign_keys, False)
                await connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    await _take_postgres_lock(connection, lock_timeout)
                return await connection.run_sync(run)
        except DBAPIError as exc:
            if _is_lock_timeout(exc):
                raise Unavailable(
                    f"another schema {direction} held the lock for more than {lock_timeout:g} s",
                    lock_timeout=lock_timeout,
                ) from exc
            raise
        finally:
            if sqlite:
                # The connection may go back to an application's pool: keys on again.
                await connection.run_sync(_set_sqlite_foreign_keys, True)


def _set_sqlite_foreign_keys(connection: sa.Connection, on: bool) -> None:
    # Straight on the driver connection: through SQLAlchemy the PRAGMA would open a transaction,
    # inside which SQLite ignores it.
    driver_connection = connection.connection.dbapi_connection
    assert driver_connection is not None
    cursor = driver_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_sqlite_foreign_keys(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        # A bug in a migration; raising rolls the whole upgrade back.
        raise RuntimeError(
            f"the migration left {len(broken)} rows whose foreign keys point nowhere "
            f"in {', '.join(tables)}"
        )


async def _take_postgres_lock(connection: AsyncConnection, lock_timeout: float) -> None:
    # lock_timeout bounds only the wait for our lock; it is reset so the migrations themselves
    # are not cut short by it. Both settings are local to this transaction.
    timeout_ms = max(1, round(lock_timeout * 1000))
    previous = await connection.scalar(sa.select(sa.func.current_setting("lock_timeout")))
    await connection.execute(sa.select(sa.func.set_config("lock_timeout", f"{timeout_ms}ms", True)))
    await connection.execute(sa.select(sa.func.pg_advisory_xact_lock(UPGRADE_LOCK_KEY)))
    await connection.execute(sa.select(sa.func.set_config("lock_timeout", previous, True)))


def _is_lock_timeout(exc: DBAPIError) -> bool:
    # PostgreSQL: SQLSTATE 55P03 lock_not_available; SQLite: "database is locked".
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return sqlstate == "55P03" or "database is locked" in str(original)
