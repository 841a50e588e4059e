"""``wallboard tenant init``: create a tenant and seed the out-of-the-box templates and boards.

Modes:

- ``setup``: create the tenant if missing, every seeded template it lacks and the demo
  dashboard and wallboard if missing. What exists is left alone, so running it twice (or two
  jobs at once) is harmless.
- ``update``: ``setup``, then bring each seeded template to its newest seed version — except a
  template a user has edited, which is kept and reported (``overwrite_edited`` replaces it, and
  says so).
- ``check-diff``: print what ``update`` would do and change nothing; the CLI exits 1 when it
  would do anything.
- ``teardown``: delete the tenant and everything it has in the metadata database.

The seed is ``seed.yaml`` beside this module; each template carries a ``version`` to bump when
its content changes.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from importlib import resources

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.db.models import Tenant, WidgetTemplate
from wallboard.db.tenants import TenantRepository, check_tenant_id
from wallboard.web.changes import next_change_number
from wallboard.web.dashboards.repository import DashboardRepository
from wallboard.web.dashboards.schemas import DashboardCreate
from wallboard.web.dashboards.service import DashboardService
from wallboard.web.policy import AllowAll, Subject
from wallboard.web.templates.repository import TemplateRepository
from wallboard.web.templates.schemas import TemplateCreate
from wallboard.web.templates.service import TemplateService, fields_of
from wallboard.web.widgets.service import WidgetService

SEED_OWNER = "wallboard"


class Mode(enum.StrEnum):
    SETUP = "setup"
    UPDATE = "update"
    CHECK_DIFF = "check-diff"
    TEARDOWN = "teardown"


@dataclasses.dataclass(frozen=True)
class SeedTemplate:
    version: int
    template: TemplateCreate


@dataclasses.dataclass(frozen=True)
class Seed:
    templates: tuple[SeedTemplate, ...]
    dashboards: tuple[DashboardCreate, ...]


@functools.cache
def load_seed() -> Seed:
    """The packaged seed, checked against the API's schemas (a bad seed fails every test)."""
    text = resources.files("wallboard.web").joinpath("seed.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    templates = []
    for item in document["templates"]:
        fields = dict(item)
        version = int(fields.pop("version"))
        templates.append(SeedTemplate(version, TemplateCreate.model_validate(fields)))
    dashboards = tuple(DashboardCreate.model_validate(item) for item in document["dashboards"])
    return Seed(tuple(templates), dashboards)


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing a mode does (or, for check-diff, would do)."""

    action: str  # create, update, keep, delete
    kind: str  # tenant, template, dashboard
    uid: str
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.action != "keep"

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.uid}" + (f": {self.note}" if self.note else "")


def _differences(template: WidgetTemplate, seed: TemplateCreate) -> list[str]:
    current = fields_of(template)
    names = []
    if template.name != seed.name:
        names.append("name")
    if template.description != seed.description:
        names.append("description")
    fields = ("object_types", "statistics", "default_display_type")
    names.extend(f for f in fields if getattr(current, f) != getattr(seed, f))
    return names


def _decide(existing: WidgetTemplate, item: SeedTemplate, overwrite_edited: bool) -> Step | None:
    """What update does to a seeded template the tenant has: None when it is current."""
    stored = existing.seed_version
    if stored is not None and stored >= item.version:
        return None
    differs = ", ".join(_differences(existing, item.template)) or "no content"
    edited = existing.edited or stored is None
    if edited and not overwrite_edited:
        why = "edited by a user" if stored is not None else "made by a user"
        return Step(
            "keep",
            "template",
            existing.key,
            f"{why}; seed v{item.version} not applied ({differs} would change; "
            "--overwrite-edited replaces it)",
        )
    note = f"v{stored or 0} -> v{item.version} ({differs} changed)"
    return Step(
        "update", "template", existing.key, note + ("; replaces a user's edits" if edited else "")
    )


def _services(session: AsyncSession, tenant: TenantId) -> tuple[TemplateService, DashboardService]:
    # The job acts for the installation itself: it sees and may change everything.
    policy = AllowAll()
    subject = Subject(user=SEED_OWNER)
    templates = TemplateRepository(session, policy, subject, tenant)
    template_service = TemplateService(templates)
    dashboards = DashboardService(
        DashboardRepository(session, policy, subject, tenant),
        template_service,
        WidgetService(session, templates),
    )
    return template_service, dashboards


async def plan_update(
    database: Database,
    tenant: TenantId,
    *,
    overwrite_edited: bool = False,
    seed: Seed | None = None,
) -> list[Step]:
    """What ``update`` would do to the tenant, read without writing anything."""
    seed = seed or load_seed()
    async with database.sessions() as session:
        if await session.get(Tenant, tenant) is None:
            steps = [Step("create", "tenant", tenant)]
            steps += [
                Step("create", "template", s.template.uid or "", f"v{s.version}")
                for s in seed.templates
            ]
            steps += [Step("create", "dashboard", d.uid or "") for d in seed.dashboards]
            return steps
        templates, dashboards = _services(session, tenant)
        steps = []
        for item in seed.templates:
            uid = item.template.uid or ""
            existing = await templates.repository.get(uid)
            if existing is None:
                steps.append(Step("create", "template", uid, f"v{item.version}"))
                continue
            step = _decide(existing, item, overwrite_edited)
            if step is not None:
                steps.append(step)
        for dashboard in seed.dashboards:
            if await dashboards.repository.get(dashboard.uid or "") is None:
                steps.append(Step("create", "dashboard", dashboard.uid or ""))
        return steps


async def init_tenant(
    database: Database,
    tenant_id: str,
    mode: Mode,
    *,
    display_name: str | None = None,
    time_zone: str = "UTC",
    overwrite_edited: bool = False,
    seed: Seed | None = None,
) -> list[Step]:
    """Run ``mode`` on the tenant; returns the steps taken (planned, for check-diff)."""
    tenant = check_tenant_id(tenant_id)
    seed = seed or load_seed()
    if mode is Mode.CHECK_DIFF:
        return await plan_update(database, tenant, overwrite_edited=overwrite_edited, seed=seed)
    async with database.sessions() as session, session.begin():
        if mode is Mode.TEARDOWN:
            row = await session.get(Tenant, tenant)
            if row is None:
                return []
            await session.delete(row)
            return [Step("delete", "tenant", tenant)]
        created = await TenantRepository(session).create_if_missing(
            tenant, display_name=display_name or tenant, time_zone=time_zone
        )
        # Takes the tenant's row lock first: concurrent init jobs of a tenant run one by one.
        await next_change_number(session, tenant)
        steps = [Step("create", "tenant", tenant)] if created.created else []
        templates, dashboards = _services(session, tenant)
        for item in seed.templates:
            uid = item.template.uid or ""
            existing = await templates.repository.get(uid)
            if existing is None:
                await templates.create(item.template, seed_version=item.version)
                steps.append(Step("create", "template", uid, f"v{item.version}"))
        if mode is Mode.UPDATE:
            steps.extend(await _updates(templates, seed, overwrite_edited))
        for dashboard in seed.dashboards:
            if await dashboards.repository.get(dashboard.uid or "") is None:
                await dashboards.create(dashboard)
                steps.append(Step("create", "dashboard", dashboard.uid or ""))
        return steps


async def _updates(templates: TemplateService, seed: Seed, overwrite_edited: bool) -> list[Step]:
    steps = []
    for item in seed.templates:
        existing = await templates.repository.get(item.template.uid or "")
        step = None if existing is None else _decide(existing, item, overwrite_edited)
        if step is None or existing is None:
            continue
        if step.action == "update":
            await templates.replace(
                existing, item.template, edited=False, seed_version=item.version
            )
        steps.append(step)
    return steps
