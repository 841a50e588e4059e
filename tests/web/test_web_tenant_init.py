"""``wallboard tenant init``: setup is idempotent, check-diff and update follow seed versions and
never overwrite a user's edit without being told, teardown removes the tenant."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from wallboard.cli import app
from wallboard.db.database import Database, open_database
from wallboard.db.models import Dashboard, Tenant, WidgetTemplate
from wallboard.web.templates.service import fields_of
from wallboard.web.tenant_init import Mode, Seed, SeedTemplate, init_tenant, load_seed

runner = CliRunner()

REQUIRED = {
    "Agent KPIs",
    "Agent Group Status",
    "Agent Login",
    "Queue KPIs",
    "Queue Overflow Reason",
    "Callback Activity",
    "Chat Agent Activity",
    "Chat Queue Activity",
    "Chat Service Level Performance",
    "Chat Waiting Statistics",
    "Email Agent Activity",
    "Email Queue Activity",
    "eServices Agent Activity",
    "eServices Queue KPIs",
    "Alert",
    "Static Text",
    "IFRAME",
}


def newer_seed(uid: str, description: str) -> Seed:
    """The packaged seed with one template at the next version."""
    seed = load_seed()
    templates = tuple(
        SeedTemplate(
            item.version + 1,
            item.template.model_copy(update={"description": description}),
        )
        if item.template.uid == uid
        else item
        for item in seed.templates
    )
    return dataclasses.replace(seed, templates=templates)


async def counts(database: Database, tenant: str) -> tuple[int, int]:
    async with database.sessions() as session:
        templates = await session.scalar(
            sa.select(sa.func.count()).where(WidgetTemplate.tenant_id == tenant)
        )
        dashboards = await session.scalar(
            sa.select(sa.func.count()).where(Dashboard.tenant_id == tenant)
        )
    return int(templates or 0), int(dashboards or 0)


def test_the_seed_has_every_out_of_the_box_template() -> None:
    assert {item.template.name for item in load_seed().templates} >= REQUIRED
    assert {d.kind.value for d in load_seed().dashboards} == {"dashboard", "wallboard"}


async def test_setup_twice_and_concurrently_makes_one_tenant(migrated_url: str) -> None:
    async with open_database(migrated_url) as database:
        results = await asyncio.gather(
            *(init_tenant(database, "acme", Mode.SETUP) for _ in range(3))
        )
        created = [step for steps in results for step in steps if step.kind == "tenant"]
        assert len(created) == 1
        assert await counts(database, "acme") == (17, 2)
        assert await init_tenant(database, "acme", Mode.SETUP) == []
        assert await init_tenant(database, "acme", Mode.CHECK_DIFF) == []


async def test_update_applies_new_versions_but_keeps_edits(migrated_url: str) -> None:
    async with open_database(migrated_url) as database:
        await init_tenant(database, "acme", Mode.SETUP)
        seed = newer_seed("queue-kpis", "New words")
        plan = await init_tenant(database, "acme", Mode.CHECK_DIFF, seed=seed)
        assert [str(step) for step in plan] == [
            "update template queue-kpis: v1 -> v2 (description changed)"
        ]
        steps = await init_tenant(database, "acme", Mode.UPDATE, seed=seed)
        assert [step.action for step in steps] == ["update"]
        async with database.sessions() as session:
            row = await session.scalar(
                sa.select(WidgetTemplate).where(WidgetTemplate.key == "queue-kpis")
            )
            assert row is not None
            assert (row.description, row.seed_version, row.edited, row.version) == (
                "New words",
                2,
                False,
                2,
            )
            # A user edits it; the next seed version is not applied over the edit.
            row.edited = True
            row.description = "Ours"
            await session.commit()
        newest = newer_seed("queue-kpis", "Newest words")
        newest = dataclasses.replace(
            newest,
            templates=tuple(
                dataclasses.replace(t, version=3) if t.template.uid == "queue-kpis" else t
                for t in newest.templates
            ),
        )
        plan = await init_tenant(database, "acme", Mode.CHECK_DIFF, seed=newest)
        assert [step.action for step in plan] == ["keep"]
        assert "edited by a user" in plan[0].note
        await init_tenant(database, "acme", Mode.UPDATE, seed=newest)
        async with database.sessions() as session:
            row = await session.scalar(
                sa.select(WidgetTemplate).where(WidgetTemplate.key == "queue-kpis")
            )
            assert row is not None
            assert row.description == "Ours"
        steps = await init_tenant(database, "acme", Mode.UPDATE, seed=newest, overwrite_edited=True)
        assert "replaces a user's edits" in steps[0].note
        async with database.sessions() as session:
            row = await session.scalar(
                sa.select(WidgetTemplate).where(WidgetTemplate.key == "queue-kpis")
            )
            assert row is not None
            assert (row.description, row.seed_version, row.edited) == ("Newest words", 3, False)
            assert fields_of(row).statistics[0].ref == "queue.calls_waiting"


def test_cli_modes(migrated_sqlite_url: str) -> None:
    url = ["--url", migrated_sqlite_url]
    diff = runner.invoke(app, ["tenant", "init", "acme", "--mode", "check-diff", *url])
    assert diff.exit_code == 1, diff.output
    assert "create tenant acme" in diff.output
    assert "create template agent-kpis: v1" in diff.output

    setup = runner.invoke(app, ["tenant", "init", "acme", "--display-name", "Acme", *url])
    assert setup.exit_code == 0, setup.output
    assert "create dashboard demo-wallboard" in setup.output
    again = runner.invoke(app, ["tenant", "init", "acme", "--mode", "update", *url])
    assert (again.exit_code, again.output) == (0, "tenant acme: nothing to do\n")
    clean = runner.invoke(app, ["tenant", "init", "acme", "--mode", "check-diff", *url])
    assert (clean.exit_code, clean.output) == (0, "tenant acme is up to date\n")

    gone = runner.invoke(app, ["tenant", "init", "acme", "--mode", "teardown", *url])
    assert (gone.exit_code, gone.output) == (0, "delete tenant acme\n")

    async def tenants() -> list[str]:
        async with open_database(migrated_sqlite_url) as database, database.sessions() as session:
            return list((await session.scalars(sa.select(Tenant.id))).all())

    assert asyncio.run(tenants()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Not A Slug"], "not a slug"),
        (["acme", "--time-zone", "Mars/Olympus"], "IANA"),
        (["acme", "--mode", "sideways"], "sideways"),
    ],
)
def test_cli_refuses_bad_arguments_by_name(
    migrated_sqlite_url: str, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["tenant", "init", *arguments, "--url", migrated_sqlite_url])
    assert result.exit_code == 2, result.output
    assert message in result.output
