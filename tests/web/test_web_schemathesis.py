"""Property-based run of schemathesis over the OpenAPI document: no request it generates, valid
or not, gets a 5xx or a response that breaks the document's schema (status codes, content types
and bodies included)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from prometheus_client import CollectorRegistry
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import async_sessionmaker

from database_fixtures import run_blocking
from wallboard.core.ids import TenantId
from wallboard.db.database import Database, create_database_engine
from wallboard.settings import Settings
from wallboard.stats import GroupConfig, ObjectConfig
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import Change, IntervalValue, Since
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll
from wallboard.web.tenant_init import Mode, init_tenant


def web_schema(url: str) -> schemathesis.BaseSchema:
    """The app on the migrated database at ``url`` with tenant acme seeded and a value store
    holding values and history of its objects, as schemathesis sees it."""
    # No pool: schemathesis drives the app from event loops of its own, and a pooled
    # connection would belong to a loop already closed.
    engine = create_database_engine(url, pooled=False)
    database = Database(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))
    run_blocking(init_tenant(database, "acme", Mode.SETUP))
    store = MemoryValueStore()
    run_blocking(fill(store))
    objects = {"acme": ObjectConfig(agent_groups={"team": GroupConfig(agents=("a1", "a2"))})}
    # With a value store, as served: /status reads it (without one it is 503 by design).
    app = create_app(
        Settings(),
        database=database,
        store=store,
        objects=objects,
        registry=CollectorRegistry(),
        policy=AllowAll(),
    )
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


async def fill(store: MemoryValueStore) -> None:
    """Values of every kind the widgets of the seeded dashboards show, and some history."""
    tenant = TenantId("acme")
    await store.apply(
        tenant,
        [
            Change("queue", "sales", "queue.calls_waiting", 3),
            Change("queue", "sales", "queue.longest_wait", Since(1_700_000_000_000)),
            Change("queue", "sales", "queue.service_level", 87.5),
            Change("queue", "=1+1", "queue.asa", "-2"),
            Change("agent", "a1", "agent.status", {"state": "ready", "since": 1}),
            Change("agent_group", "team", "group.agents_ready", 1),
            Change("source", "voice", "source.stale", {"since": 1, "reason": "silent"}),
        ],
    )
    await store.write_intervals(
        tenant,
        [IntervalValue("queue.answered", "queue", "sales", 900_000 * i, i) for i in range(10)],
    )


DATA_PATHS = {"values": "queues", "values.csv": "queues", "history": "trend"}
"""Widget data routes, and a seeded widget (of demo-dashboard or demo-wallboard) to read."""


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def short_wait(case: schemathesis.Case) -> schemathesis.Case:
    """The case with a valid ``wait`` of the config change feed cut to 0.1 s."""
    try:
        wait = float((case.query or {}).get("wait"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return case  # absent or not a number: answered at once
    if 0 <= wait <= 30:
        case.query = {**(case.query or {}), "wait": min(wait, 0.1)}
    return case


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_no_server_error_and_every_response_as_documented(
    migrated_url: str, mode: GenerationMode
) -> None:
    schema = web_schema(migrated_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    tried = 0
    for operation in operations:
        strategy = operation.as_strategy(mode)
        if "{tenant}" in operation.path:
            # Mostly the seeded tenant, so that requests reach past the tenant lookup.
            seeded = operation.as_strategy(mode, path_parameters={"tenant": "acme"})
            strategy = st.one_of(seeded, seeded, strategy)
        widget = DATA_PATHS.get(operation.path.rsplit("/", 1)[-1])
        if widget is not None:
            # And mostly a seeded widget, so that requests reach the value store.
            board = "demo-wallboard" if widget == "trend" else "demo-dashboard"
            existing = operation.as_strategy(
                mode, path_parameters={"tenant": "acme", "dashboard": board, "uid": widget}
            )
            strategy = st.one_of(existing, existing, existing, strategy)

        if operation.path.endswith("/config/{tenant}/changes"):
            # A valid wait holds the answer up to 30 s when nothing changes: keep it short.
            strategy = strategy.map(short_wait)

        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Nothing to get wrong in this operation's requests (a GET with only the tenant
            # in its path has no negative case once the tenant is fixed).
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        tried += 1
    assert tried >= len(operations) // 2
