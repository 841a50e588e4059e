"""Engines and models on both backends: URLs, SQLite setup, constraints, JSON and timestamps."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from wallboard.core.errors import ConfigError
from wallboard.core.ids import TenantId
from wallboard.db.database import Database, normalize_database_url, open_database
from wallboard.db.migrate import current_revision, head_revision, upgrade_database
from wallboard.db.models import Dashboard, DashboardKind, Tenant, Widget, WidgetTemplate
from wallboard.settings import Settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u:secret@h/d", "postgresql+asyncpg://u:***@h/d"),
    ],
)
def test_normalize_database_url_pins_the_async_driver(given: str, expected: str) -> None:
    assert normalize_database_url(given).render_as_string(hide_password=True) == expected


@pytest.mark.parametrize(
    ("url", "named"), [("mysql://u@h/d", "'mysql'"), ("not a url", "cannot be parsed")]
)
def test_unsupported_database_url_is_refused_by_name(url: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        normalize_database_url(url)
    assert caught.value.detail["variable"] == "WALLBOARD_DATABASE_URL"


async def test_open_database_reads_the_settings(migrated_sqlite_url: str) -> None:
    async with open_database(Settings(database_url=migrated_sqlite_url)) as db:
        assert db.url.drivername == "sqlite+aiosqlite"
        async with db.sessions() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(
    migrated_sqlite_url: str,
) -> None:
    async with open_database(migrated_sqlite_url) as db, db.engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"


async def test_sqlite_savepoints_roll_back_only_their_part(migrated_sqlite_url: str) -> None:
    # Needs real BEGIN handling: with the sqlite3 module's own, SAVEPOINT rollbacks misbehave.
    async with open_database(migrated_sqlite_url) as db:
        async with db.sessions() as session, session.begin():
            session.add(Tenant(id=TenantId("kept"), display_name="Kept", time_zone="UTC"))
            await session.flush()
            nested = await session.begin_nested()
            session.add(Tenant(id=TenantId("dropped"), display_name="Dropped", time_zone="UTC"))
            await session.flush()
            await nested.rollback()
        async with db.sessions() as session:
            assert list(await session.scalars(sa.select(Tenant.id))) == ["kept"]


async def test_a_rolled_back_session_leaves_nothing(migrated_url: str) -> None:
    # On SQLite this needs our own BEGIN: in autocommit mode each statement would stick.
    async with open_database(migrated_url) as db:
        async with db.sessions() as session:
            session.add(Tenant(id=TenantId("gone"), display_name="Gone", time_zone="UTC"))
            await session.flush()
            await session.rollback()
        async with db.sessions() as session:
            assert list(await session.scalars(sa.select(Tenant.id))) == []


async def test_in_memory_sqlite_can_be_migrated_through_its_engine() -> None:
    async with open_database("sqlite+aiosqlite://") as db:
        change = await upgrade_database(db.engine)
        assert change.after == head_revision()
        assert await current_revision(db.engine) == head_revision()
        async with db.sessions() as session, session.begin():
            session.add(Tenant(id=TenantId("mem"), display_name="Memory", time_zone="UTC"))
        async with db.sessions() as session:
            assert list(await session.scalars(sa.select(Tenant.id))) == ["mem"]


async def _add_dashboard(db: Database, tenant: str = "acme") -> int:
    async with db.sessions() as session, session.begin():
        session.add(Tenant(id=TenantId(tenant), display_name="Acme", time_zone="Europe/Paris"))
        # No ORM relationship ties a dashboard to its tenant, so the tenant row goes in first.
        await session.flush()
        dashboard = Dashboard(
            tenant_id=TenantId(tenant),
            uid="sales-floor",
            name="Sales floor",
            kind=DashboardKind.WALLBOARD,
            layout={"columns": 12, "rows": [{"h": 2, "ids": [1, 2]}], "note": "étage 2 ☎"},
            owner="supervisor-1",
            widgets=[
                Widget(
                    uid="w1", title="Queues", display_type="table", options={"queues": ["q1", "q2"]}
                ),
                Widget(
                    uid="w2",
                    title="Agents",
                    display_type="list",
                    template_key="agent-states",
                    position={"x": 0, "y": 2, "w": 6, "h": 4},
                ),
            ],
        )
        session.add(dashboard)
        await session.flush()
        return dashboard.id


async def test_dashboard_round_trip_keeps_json_and_widgets(migrated_url: str) -> None:
    async with open_database(migrated_url) as db:
        dashboard_id = await _add_dashboard(db)
        async with db.sessions() as session:
            dashboard = await session.get_one(Dashboard, dashboard_id)
            assert dashboard.kind is DashboardKind.WALLBOARD
            assert dashboard.layout == {
                "columns": 12,
                "rows": [{"h": 2, "ids": [1, 2]}],
                "note": "étage 2 ☎",
            }
            assert [
                (w.title, w.template_key, w.options, w.position) for w in dashboard.widgets
            ] == [
                ("Queues", None, {"queues": ["q1", "q2"]}, {}),
                ("Agents", "agent-states", {}, {"x": 0, "y": 2, "w": 6, "h": 4}),
            ]


async def test_timestamps_come_back_as_aware_utc(migrated_url: str) -> None:
    paris_noon = dt.datetime(
        2024, 7, 1, 12, 0, 0, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    async with open_database(migrated_url) as db:
        async with db.sessions() as session, session.begin():
            session.add(
                Tenant(id=TenantId("t"), display_name="T", time_zone="UTC", created_at=paris_noon)
            )
        async with db.sessions() as session:
            stored = await session.scalar(sa.select(Tenant.created_at))
        assert stored is not None
        assert stored.utcoffset() == dt.timedelta(0)
        assert stored == paris_noon


async def test_naive_timestamps_are_refused(migrated_url: str) -> None:
    async with open_database(migrated_url) as db, db.sessions() as session:
        session.add(
            Tenant(
                id=TenantId("t"),
                display_name="T",
                time_zone="UTC",
                created_at=dt.datetime(2024, 1, 1, 12, 0),
            )
        )
        with pytest.raises(StatementError, match="has no time zone"):
            await session.flush()


async def test_deleting_a_dashboard_deletes_its_widgets_in_the_database(migrated_url: str) -> None:
    async with open_database(migrated_url) as db:
        dashboard_id = await _add_dashboard(db)
        async with db.engine.begin() as connection:
            # Plain SQL, not the ORM: the cascade must be the database's own (on SQLite it
            # works only with foreign keys switched on).
            await connection.execute(sa.delete(Dashboard).where(Dashboard.id == dashboard_id))
            remaining = await connection.scalar(sa.select(sa.func.count()).select_from(Widget))
        assert remaining == 0


async def test_deleting_a_tenant_deletes_its_dashboards_and_templates(migrated_url: str) -> None:
    async with open_database(migrated_url) as db:
        await _add_dashboard(db)
        async with db.sessions() as session, session.begin():
            session.add(
                WidgetTemplate(
                    tenant_id=TenantId("acme"), key="agent-states", name="Agents", definition={}
                )
            )
        async with db.engine.begin() as connection:
            await connection.execute(sa.delete(Tenant))
            counts = [
                await connection.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Dashboard, Widget, WidgetTemplate)
            ]
        assert counts == [0, 0, 0]


@pytest.mark.parametrize(
    "statement",
    [
        # A widget of a dashboard that does not exist.
        "INSERT INTO widgets (dashboard_id, uid, title, display_type, options, position, objects) "
        "VALUES (999, 'w', 'x', 'table', '{}', '{}', '[]')",
        # A kind outside the closed set.
        "INSERT INTO dashboards (tenant_id, uid, name, kind, layout, owner) "
        "VALUES ('acme', 'x', 'x', 'poster', '{}', 'me')",
        # A second template with the same key in the same tenant.
        "INSERT INTO widget_templates (tenant_id, key, name, definition) "
        "VALUES ('acme', 'agent-states', 'Again', '{}')",
    ],
    ids=["widget-without-dashboard", "unknown-kind", "duplicate-template-key"],
)
async def test_constraints_refuse_bad_rows(migrated_url: str, statement: str) -> None:
    async with open_database(migrated_url) as db:
        async with db.sessions() as session, session.begin():
            session.add(Tenant(id=TenantId("acme"), display_name="Acme", time_zone="UTC"))
            await session.flush()
            session.add(
                WidgetTemplate(
                    tenant_id=TenantId("acme"), key="agent-states", name="Agents", definition={}
                )
            )
        async with db.engine.connect() as connection:
            with pytest.raises(IntegrityError):
                await connection.exec_driver_sql(statement)
            await connection.rollback()
