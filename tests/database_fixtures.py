"""Fixtures of the metadata database tests (registered by tests/conftest.py): fresh SQLite
files and fresh PostgreSQL databases.

PostgreSQL: the schema is migrated once per test session into a template database (named with
the pid so parallel runs do not collide), and each test gets its own database cloned from it
with ``CREATE DATABASE ... TEMPLATE`` — a few milliseconds instead of a migration per test.
Every database made here is dropped when its test (or the session) ends.

All fixtures are synchronous (the admin work runs on its own event loop in a worker thread), so
both async tests and sync ones (the CLI tests) can use them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url

from wallboard.db.database import create_database_engine
from wallboard.db.migrate import upgrade_database

T = TypeVar("T")

_database_numbers = itertools.count(1)


def run_blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to completion on a new event loop in a worker thread.

    A thread keeps it off any loop pytest-asyncio has set up in the main thread.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def database_url(server_url: str, database: str) -> str:
    """``server_url`` pointing at another database, in the form our code is given (asyncpg)."""
    return (
        make_url(server_url)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )


def _quoted(name: str) -> str:
    assert name.replace("_", "").isalnum(), name
    return f'"{name}"'


async def _admin(server_url: str, *statements: str) -> None:
    engine = create_database_engine(server_url, pooled=False)
    try:
        async with engine.connect() as connection:
            # CREATE/DROP DATABASE cannot run inside a transaction.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def create_postgres_database(server_url: str, name: str, template: str = "template0") -> str:
    """Create database ``name`` as a copy of ``template``; return its asyncpg URL."""
    run_blocking(
        _admin(server_url, f"CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(template)}")
    )
    return database_url(server_url, name)


def drop_postgres_database(server_url: str, name: str) -> None:
    run_blocking(_admin(server_url, f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))


def new_database_name() -> str:
    return f"wb_db_test_{os.getpid()}_{next(_database_numbers)}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file that does not exist yet (no schema)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'wallboard.db'}"


@pytest.fixture
def migrated_sqlite_url(sqlite_url: str) -> str:
    """URL of a SQLite file migrated to head."""
    run_blocking(upgrade_database(sqlite_url))
    return sqlite_url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """Name of a database migrated to head once per session, to clone for each test."""
    name = f"wb_db_template_{os.getpid()}"
    drop_postgres_database(postgres_url, name)
    url = create_postgres_database(postgres_url, name)
    try:
        # upgrade_database disposes its engine: no connection is left that would block cloning.
        run_blocking(upgrade_database(url))
        yield name
    finally:
        drop_postgres_database(postgres_url, name)


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a fresh PostgreSQL database without any schema, dropped after the test."""
    name = new_database_name()
    url = create_postgres_database(postgres_url, name)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_url, name)


@pytest.fixture
def migrated_postgres_url(postgres_url: str, postgres_template: str) -> Iterator[str]:
    """URL of a fresh PostgreSQL database at head (a clone of the template), dropped after."""
    name = new_database_name()
    url = create_postgres_database(postgres_url, name, template=postgres_template)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "empty_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest) -> str:
    """A database at head on each backend."""
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url
