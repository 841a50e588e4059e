"""The migrations: they match the models, go up and down, and are safe twice and concurrently."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from wallboard.core.errors import Unavailable
from wallboard.db.database import SQLITE_BEGIN_OPTION, create_database_engine, open_database
from wallboard.db.migrate import (
    UPGRADE_LOCK_KEY,
    check_database,
    current_revision,
    downgrade_database,
    head_revision,
    upgrade_database,
)
from wallboard.db.models import Base

SCHEMA_TABLES = {
    "tenants",
    "widget_templates",
    "dashboards",
    "widgets",
    "deleted_items",
    "launched_dashboards",
    "config_objects",
    "config_deletions",
    "users",
    "auth_sessions",
    "signing_keys",
    "api_tokens",
    "kiosk_links",
    "audit_log",
    "usage_limits",
}


async def schema_of(url: str) -> tuple[set[str], list[str]]:
    """The tables of ``url`` (without alembic's) and the rows of its alembic_version table."""
    engine = create_database_engine(url, pooled=False)
    try:
        async with engine.connect() as connection:

            def read(sync: sa.Connection) -> tuple[set[str], list[str]]:
                tables = set(sa.inspect(sync).get_table_names())
                versions: list[str] = []
                if "alembic_version" in tables:
                    versions = list(
                        sync.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
                    )
                return tables - {"alembic_version"}, versions

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def diff_against(url: str, metadata: sa.MetaData) -> list[Any]:
    """Alembic's autogenerate comparison of the database at ``url`` with ``metadata``."""
    engine = create_database_engine(url, pooled=False)
    try:
        async with engine.connect() as connection:

            def compare(sync: sa.Connection) -> list[Any]:
                context = MigrationContext.configure(
                    sync,
                    opts={
                        "compare_type": True,
                        "compare_server_default": True,
                        "target_metadata": metadata,
                    },
                )
                return list(compare_metadata(context, metadata))

            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    head = head_revision()
    assert await current_revision(empty_url) is None

    up = await upgrade_database(empty_url)
    assert (up.before, up.after, up.changed) == (None, head, True)
    assert await schema_of(empty_url) == (SCHEMA_TABLES, [head])

    down = await downgrade_database(empty_url, "base")
    assert (down.before, down.after) == (head, None)
    assert await schema_of(empty_url) == (set(), [])

    again = await upgrade_database(empty_url)
    assert (again.before, again.after) == (None, head)
    assert await schema_of(empty_url) == (SCHEMA_TABLES, [head])


async def test_models_match_migrations(migrated_url: str) -> None:
    assert await diff_against(migrated_url, Base.metadata) == []


def _add_column(metadata: sa.MetaData) -> None:
    metadata.tables["tenants"].append_column(sa.Column("region", sa.String(20), nullable=True))


def _widen_column(metadata: sa.MetaData) -> None:
    metadata.tables["dashboards"].c.name.type = sa.String(300)


def _change_server_default(metadata: sa.MetaData) -> None:
    metadata.tables["widget_templates"].c.version.server_default = sa.DefaultClause("2")


def _make_nullable(metadata: sa.MetaData) -> None:
    metadata.tables["widgets"].c.title.nullable = True


def _add_index(metadata: sa.MetaData) -> None:
    sa.Index("ix_widgets_template_key", metadata.tables["widgets"].c.template_key)


MODEL_CHANGES = {
    "add_column": _add_column,
    "modify_type": _widen_column,
    "modify_default": _change_server_default,
    "modify_nullable": _make_nullable,
    "add_index": _add_index,
}


@pytest.mark.parametrize("expected", sorted(MODEL_CHANGES))
async def test_model_comparison_sees_a_difference(migrated_url: str, expected: str) -> None:
    # The check above is only worth something if a model change would show up in it.
    changed = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    MODEL_CHANGES[expected](changed)
    diff = await diff_against(migrated_url, changed)
    # Column changes come as a list of changes per column; others as one tuple.
    kinds = [entry[0][0] if isinstance(entry, list) else entry[0] for entry in diff]
    assert kinds == [expected]


async def test_upgrade_twice_is_a_no_op(migrated_url: str) -> None:
    before = await schema_of(migrated_url)
    change = await upgrade_database(migrated_url)
    assert not change.changed
    assert change.before == change.after == head_revision()
    assert await schema_of(migrated_url) == before


async def test_check_reports_empty_and_migrated(empty_url: str) -> None:
    empty = await check_database(empty_url)
    assert (empty.current, empty.at_head) == (None, False)
    await upgrade_database(empty_url)
    migrated = await check_database(empty_url)
    assert (migrated.current, migrated.head, migrated.at_head) == (head_revision(),) * 2 + (True,)


async def test_concurrent_upgrades_make_one_schema(empty_url: str) -> None:
    changes = await asyncio.gather(*(upgrade_database(empty_url) for _ in range(6)))
    # Exactly one runner found the database empty; every other waited and found it at head.
    assert sorted(change.before is None for change in changes) == [False] * 5 + [True]
    assert {change.after for change in changes} == {head_revision()}
    assert await schema_of(empty_url) == (SCHEMA_TABLES, [head_revision()])


async def test_concurrent_upgrade_processes_make_one_schema(empty_url: str) -> None:
    async def run_cli() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wallboard.db.cli",
            "upgrade",
            "--url",
            empty_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, output.decode()

    results = await asyncio.gather(*(run_cli() for _ in range(3)))
    assert [code for code, _ in results] == [0, 0, 0], results
    outputs = [output for _, output in results]
    assert sum(output.startswith("upgraded ") for output in outputs) == 1, outputs
    assert sum("is already at" in output for output in outputs) == 2, outputs
    assert await schema_of(empty_url) == (SCHEMA_TABLES, [head_revision()])


async def test_upgrade_waits_for_the_lock_and_gives_up_after_the_timeout(empty_url: str) -> None:
    # Proves the upgrade really takes the lock: while another connection holds it, no upgrade.
    engine = create_database_engine(empty_url, pooled=False)
    try:
        async with engine.connect() as holder:
            if holder.dialect.name == "sqlite":
                await holder.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            await holder.begin()
            if holder.dialect.name == "postgresql":
                await holder.execute(sa.select(sa.func.pg_advisory_xact_lock(UPGRADE_LOCK_KEY)))
            with pytest.raises(Unavailable, match="held the lock"):
                await upgrade_database(empty_url, lock_timeout=0.3)
            await holder.rollback()
        assert await current_revision(empty_url) is None
        change = await upgrade_database(empty_url, lock_timeout=5)
        assert change.after == head_revision()
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_through_an_engine_leaves_foreign_keys_on(sqlite_url: str) -> None:
    # The upgrade switches SQLite's foreign keys off around the migration; the connection
    # goes back to the application's pool and must enforce them again.
    async with open_database(sqlite_url) as db:
        await upgrade_database(db.engine)
        pool = db.engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        assert pool.checkedin() == 1  # the migration's connection, now pooled
        async with db.engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


async def test_rows_made_before_0002_get_uids(empty_url: str) -> None:
    await upgrade_database(empty_url, "0001")
    engine = create_database_engine(empty_url, pooled=False)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO tenants (id, display_name, time_zone) VALUES ('acme', 'Acme', 'UTC')"
            )
            for name in ("One", "Two"):
                await connection.exec_driver_sql(
                    "INSERT INTO dashboards (tenant_id, name, kind, layout, owner) "
                    f"VALUES ('acme', '{name}', 'dashboard', '{{}}', 'me')"
                )
            await connection.exec_driver_sql(
                "INSERT INTO widgets (dashboard_id, title, display_type, options, position) "
                "SELECT id, 'w', 'kpi', '{}', '{}' FROM dashboards"
            )
        await upgrade_database(empty_url)
        async with engine.connect() as connection:
            dashboards = (
                await connection.exec_driver_sql(
                    "SELECT uid, version, shared, change_number FROM dashboards ORDER BY id"
                )
            ).all()
            widgets = (
                await connection.exec_driver_sql("SELECT uid, objects FROM widgets ORDER BY id")
            ).all()
    finally:
        await engine.dispose()
    assert [row[0] for row in dashboards] == ["1", "2"]
    assert {(row[1], bool(row[2]), row[3]) for row in dashboards} == {(1, False, 0)}
    assert [row[0] for row in widgets] == ["1", "2"]
    assert all(row[1] in ("[]", []) for row in widgets)
