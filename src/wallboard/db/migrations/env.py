"""Alembic environment: runs the metadata migrations on a connection the caller already holds.

``wallboard.db.migrate`` passes a synchronous connection (already inside the transaction that
holds the upgrade lock) as ``config.attributes["connection"]``; the migrations then run inside
that transaction. Run through the ``alembic`` command instead (``alembic -c
src/wallboard/db/alembic.ini revision -m "..."`` for a contributor writing a migration), it opens
its own connection to ``WALLBOARD_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from wallboard.db.database import create_database_engine, normalize_database_url
from wallboard.db.models import Base
from wallboard.settings import Settings

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_on_connection(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


async def run_with_own_engine() -> None:
    engine = create_database_engine(_database_url(), pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on_connection)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline() -> None:
    url = normalize_database_url(_database_url())
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_on_connection(given)
else:
    asyncio.run(run_with_own_engine())
