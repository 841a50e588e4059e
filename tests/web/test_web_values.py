"""A widget's data over HTTP: values written into a real value store (in memory and Redis)
through its public API, read back through the REST API on SQLite and PostgreSQL — current
values with freshness, interval history, the CSV export — and the object search."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from test_web_templates import assert_error

from wallboard.core.clock import FakeClock
from wallboard.core.errors import ConfigError
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.settings import Settings
from wallboard.stats import GroupConfig, ObjectConfig, QueueGroupConfig
from wallboard.store.interface import ValueStore
from wallboard.store.memory import MemoryValueStore
from wallboard.store.redis import RedisValueStore, redis_client
from wallboard.store.values import Change, IntervalValue, Since
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll, Subject
from wallboard.web.values.csv_export import cell_text

ACME = TenantId("acme")
T = "/api/v1/tenants/acme"
W = f"{T}/dashboards/ops/widgets"
START_MS = 1_700_000_000_000
QUARTER_MS = 15 * 60 * 1000

OBJECTS = {
    "acme": ObjectConfig(
        agent_groups={
            "sales-team": GroupConfig(agents=("a2", "a1"), groups=("juniors",)),
            "juniors": GroupConfig(agents=("a9",)),
        },
        queue_groups={"front": QueueGroupConfig(queues=("sales", "support"))},
    )
}

DASHBOARD = {
    "uid": "ops",
    "name": "Operations",
    "widgets": [
        {
            "uid": "queues",
            "title": "Queues",
            "templateUid": "queue-kpis",
            "displayType": "grid",
            "objects": [{"type": "queue", "ids": ["sales", "support", "empty"]}],
        },
        {
            "uid": "front",
            "title": "Front queues",
            "templateUid": "queue-kpis",
            "displayType": "grid",
            "objects": [{"type": "queue", "group": "front"}],
        },
        {
            "uid": "team",
            "title": "Team",
            "templateUid": "agent-kpis",
            "displayType": "grid",
            "objects": [
                {"type": "agent", "group": "sales-team"},
                {"type": "agent", "group": "nobody-knows"},
            ],
        },
        {
            "uid": "every-queue",
            "title": "Every queue",
            "templateUid": "queue-kpis",
            "displayType": "grid",
        },
        {
            "uid": "chats",
            "title": "Chats",
            "templateUid": "chat-queue-activity",
            "displayType": "grid",
            "objects": [{"type": "queue", "ids": ["sales"]}],
        },
        {
            "uid": "odd",
            "title": "Odd names",
            "templateUid": "queue-kpis",
            "displayType": "grid",
            "objects": [{"type": "queue", "ids": ["=HYPERLINK(1)", "plain"]}],
        },
        {
            "uid": "notice",
            "title": "Notice",
            "displayType": "static_text",
            "options": {"text": "hello"},
        },
    ],
}


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ValueStore, FakeClock]]:
    """A value store of each kind, on a fake clock (so write times are known)."""
    clock = FakeClock(START_MS)
    if request.param == "memory":
        yield MemoryValueStore(clock=clock), clock
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"wbtest-{uuid.uuid4().hex[:12]}"
    redis_store = await RedisValueStore.connect(url, prefix=prefix, clock=clock)
    try:
        yield redis_store, clock
    finally:
        await redis_store.close()
        client = redis_client(url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await client.unlink(*keys)
        finally:
            await client.aclose()


@contextlib.asynccontextmanager
async def client_for(
    database: Database, store: ValueStore | None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on ``store``, with the ``ops`` dashboard created."""
    app = create_app(Settings(), database=database, store=store, objects=OBJECTS, policy=AllowAll())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
        created = await client.post(f"{T}/dashboards", json=DASHBOARD)
        assert created.status_code in (201, 409), created.text
        yield client


@pytest.fixture
async def web(
    database: Database, store: tuple[ValueStore, FakeClock]
) -> AsyncIterator[tuple[httpx.AsyncClient, ValueStore, FakeClock]]:
    async with client_for(database, store[0]) as client:
        yield client, store[0], store[1]


def cells(row: dict[str, Any]) -> dict[str, Any]:
    return {statistic: cell["value"] for statistic, cell in row["values"].items()}


async def test_values_are_the_stores_and_missing_is_null_never_zero(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock],
) -> None:
    client, store, clock = web
    version = await store.apply(
        ACME,
        [
            Change("queue", "sales", "queue.calls_waiting", 3),
            Change("queue", "sales", "queue.longest_wait", Since(START_MS - 42_000)),
            Change("queue", "sales", "queue.service_level", 92.5),
            Change("queue", "support", "queue.calls_waiting", 0),
            Change("queue", "elsewhere", "queue.calls_waiting", 9),
        ],
    )
    clock.set_ms(START_MS + 5_000)

    answer = await client.get(f"{W}/queues/values")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == version
    assert body["writtenAt"] == START_MS
    assert body["readAt"] > 0
    assert body["staleSources"] == []
    assert body["unexpandedGroups"] == []
    columns = {c["statistic"]: c for c in body["columns"]}
    assert columns["queue.calls_waiting"] == {
        "statistic": "queue.calls_waiting",
        "alias": "Waiting",
        "format": "integer",
    }
    assert columns["queue.longest_wait"]["format"] == "time"
    assert [(r["type"], r["id"]) for r in body["rows"]] == [
        ("queue", "sales"),
        ("queue", "support"),
        ("queue", "empty"),
    ]
    sales, support, empty = (cells(row) for row in body["rows"])
    assert set(sales) == set(columns)
    assert sales["queue.calls_waiting"] == 3
    # A clock-driven duration travels as its start, as on the live channel.
    assert sales["queue.longest_wait"] == {"since": START_MS - 42_000}
    assert sales["queue.service_level"] == 92.5
    assert sales["queue.asa"] is None
    assert support["queue.calls_waiting"] == 0
    assert support["queue.service_level"] is None
    assert set(empty.values()) == {None}
    assert all(not cell["stale"] for row in body["rows"] for cell in row["values"].values())

    # A removed value is missing again.
    await store.apply(ACME, [Change("queue", "sales", "queue.calls_waiting", None)])
    again = (await client.get(f"{W}/queues/values")).json()
    assert cells(again["rows"][0])["queue.calls_waiting"] is None
    assert again["version"] == version + 1


async def test_a_stale_source_marks_the_values_it_feeds(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock],
) -> None:
    client, store, clock = web
    await store.apply(
        ACME,
        [
            Change("queue", "sales", "queue.calls_waiting", 2),
            Change("queue", "sales", "queue.chats_entered", 5),
            Change(
                "source",
                "voice",
                "source.stale",
                {"since": START_MS - 1_000, "reason": "no heartbeat from pbx for 9 s"},
            ),
        ],
    )

    voice = (await client.get(f"{W}/queues/values")).json()
    assert voice["staleSources"] == [
        {"stream": "voice", "since": START_MS - 1_000, "reason": "no heartbeat from pbx for 9 s"}
    ]
    cell = voice["rows"][0]["values"]["queue.calls_waiting"]
    assert cell == {"value": 2, "stale": True, "staleSince": START_MS - 1_000}
    # Chat statistics come from the interactions streams: not stale.
    chats = (await client.get(f"{W}/chats/values")).json()
    assert chats["staleSources"] == voice["staleSources"]
    chat_cell = chats["rows"][0]["values"]["queue.chats_entered"]
    assert chat_cell == {"value": 5, "stale": False, "staleSince": None}

    clock.set_ms(START_MS + 60_000)
    await store.apply(ACME, [Change("source", "voice", "source.stale", None)])
    fresh = (await client.get(f"{W}/queues/values")).json()
    assert fresh["staleSources"] == []
    assert fresh["writtenAt"] == START_MS + 60_000
    assert fresh["rows"][0]["values"]["queue.calls_waiting"]["stale"] is False


async def test_groups_are_expanded_with_the_object_configuration(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock],
) -> None:
    client, store, _ = web
    await store.apply(
        ACME,
        [
            Change("agent", "a1", "agent.status", {"state": "ready"}),
            Change("agent", "a9", "agent.calls_handled", 4),
            Change("agent", "outsider", "agent.calls_handled", 8),
            Change("queue", "support", "queue.calls_waiting", 1),
            Change("queue", "other", "queue.calls_waiting", 6),
        ],
    )

    team = (await client.get(f"{W}/team/values")).json()
    assert [row["id"] for row in team["rows"]] == ["a1", "a2", "a9"]
    assert cells(team["rows"][0])["agent.status"] == {"state": "ready"}
    assert cells(team["rows"][1])["agent.status"] is None
    assert cells(team["rows"][2])["agent.calls_handled"] == 4
    assert team["unexpandedGroups"] == [{"type": "agent", "group": "nobody-knows"}]

    front = (await client.get(f"{W}/front/values")).json()
    assert [row["id"] for row in front["rows"]] == ["sales", "support"]

    # No selection: every object of the template's types that has values.
    every = (await client.get(f"{W}/every-queue/values")).json()
    assert [row["id"] for row in every["rows"]] == ["other", "support"]

    notice = (await client.get(f"{W}/notice/values")).json()
    assert notice["rows"] == []
    assert notice["columns"] == []


async def test_the_csv_export_holds_the_same_values_and_no_formulas(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock],
) -> None:
    client, store, _ = web
    await store.apply(
        ACME,
        [
            Change("queue", "=HYPERLINK(1)", "queue.calls_waiting", 7),
            Change("queue", "=HYPERLINK(1)", "queue.longest_wait", Since(START_MS - 5)),
            Change("queue", "plain", "queue.service_level", -12.5),
            Change("queue", "plain", "queue.asa", "@SUM(A1)"),
        ],
    )
    values = (await client.get(f"{W}/odd/values")).json()

    answer = await client.get(f"{W}/odd/values.csv")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == ["type", "id", *(c["alias"] for c in values["columns"])]
    assert len(table) == 1 + len(values["rows"])
    for line, row in zip(table[1:], values["rows"], strict=True):
        assert line[0] == row["type"]
        for text, column in zip(line[2:], values["columns"], strict=True):
            value = row["values"][column["statistic"]]["value"]
            assert text == cell_text(value)
            if value is None:
                assert text == ""
            elif isinstance(value, str):
                assert text.removeprefix("'") == value
            else:
                assert json.loads(text) == value
    odd, plain = table[1], table[2]
    assert odd[1] == "'=HYPERLINK(1)"
    assert odd[2] == "7"
    assert json.loads(odd[3]) == {"since": START_MS - 5}
    by_alias = dict(zip(table[0], plain, strict=True))
    assert by_alias["Service level"] == "-12.5"  # a number, not a formula
    assert by_alias["ASA"] == "'@SUM(A1)"
    assert by_alias["Offered"] == ""


async def test_history_reads_the_interval_buckets(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock],
) -> None:
    client, store, _ = web
    base = START_MS - START_MS % QUARTER_MS
    await store.write_intervals(
        ACME,
        [
            IntervalValue("queue.answered", "queue", "sales", base + i * QUARTER_MS, 10 * i)
            for i in range(6)
        ]
        + [IntervalValue("queue.answered", "queue", "support", base, 1)],
    )
    window = {"from": base + QUARTER_MS, "to": base + 5 * QUARTER_MS}

    answer = await client.get(
        f"{W}/queues/history", params={**window, "statistic": "queue.answered"}
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"]) == (window["from"], window["to"])
    assert [c["statistic"] for c in body["columns"]] == ["queue.answered"]
    by_id = {s["id"]: s for s in body["series"]}
    assert list(by_id) == ["sales", "support", "empty"]
    assert by_id["sales"]["points"] == [
        {"start": base + i * QUARTER_MS, "value": 10 * i} for i in range(1, 5)
    ]
    assert by_id["sales"]["truncated"] is False
    assert by_id["support"]["points"] == []  # its one bucket is before the window

    limited = (
        await client.get(
            f"{W}/queues/history", params={**window, "limit": 2, "statistic": "queue.answered"}
        )
    ).json()
    newest = limited["series"][0]
    assert [p["value"] for p in newest["points"]] == [30, 40]
    assert newest["truncated"] is True

    every = (await client.get(f"{W}/queues/history", params=window)).json()
    assert len(every["series"]) == 3 * len(every["columns"])

    assert_error(
        await client.get(f"{W}/queues/history", params={"from": 10, "to": 10}),
        "invalid_input",
        ["query", "from"],
    )
    assert_error(
        await client.get(f"{W}/queues/history", params={"statistic": "queue.nothing"}),
        "invalid_input",
        ["query", "statistic"],
    )


async def test_unknown_widgets_are_404_and_no_store_is_503(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock], database: Database
) -> None:
    client, _, _ = web
    for path in ("values", "values.csv", "history"):
        assert_error(await client.get(f"{W}/nothing/{path}"), "not_found")
        assert_error(await client.get(f"{T}/dashboards/nothing/widgets/queues/{path}"), "not_found")
        assert_error(
            await client.get(f"/api/v1/tenants/nobody/dashboards/ops/widgets/queues/{path}"),
            "not_found",
        )
    async with client_for(database, None) as storeless:
        for path in ("values", "values.csv", "history"):
            assert_error(await storeless.get(f"{W}/queues/{path}"), "no_value_store")
        # The search still answers, from the configuration.
        found = await storeless.get(f"{T}/objects", params={"q": "sales"})
        assert found.status_code == 200, found.text
        assert {(o["type"], o["id"]) for o in found.json()["items"]} == {
            ("agent_group", "sales-team"),
            ("queue", "sales"),
        }


async def test_object_search_pages_through_configured_and_stored_objects(
    web: tuple[httpx.AsyncClient, ValueStore, FakeClock],
) -> None:
    client, store, _ = web
    await store.apply(
        ACME,
        [
            Change("agent", "a1", "agent.calls_handled", 1),
            Change("agent", "Bob", "agent.calls_handled", 2),
            Change("queue", "Sales-VIP", "queue.calls_waiting", 3),
            Change("source", "voice", "source.stale", {"since": 1, "reason": "x"}),
        ],
    )

    everything = (await client.get(f"{T}/objects", params={"limit": 100})).json()
    found = {(o["type"], o["id"]): o for o in everything["items"]}
    assert everything["pagination"] == {"totalCount": len(found), "maxPage": 1}
    assert ("source", "voice") not in found
    assert found[("agent", "a1")] == {
        "type": "agent",
        "id": "a1",
        "name": "a1",
        "configured": True,
        "hasValues": True,
    }
    assert found[("agent", "Bob")]["configured"] is False
    assert found[("agent_group", "juniors")]["hasValues"] is False
    assert ("queue_group", "front") in found

    sales = (await client.get(f"{T}/objects", params={"q": "SALES"})).json()
    assert [(o["type"], o["id"]) for o in sales["items"]] == [
        ("queue", "sales"),
        ("agent_group", "sales-team"),
        ("queue", "Sales-VIP"),
    ]
    queues = (await client.get(f"{T}/objects", params={"q": "sales", "type": "queue"})).json()
    assert [o["id"] for o in queues["items"]] == ["sales", "Sales-VIP"]

    seen = []
    for page in (1, 2, 3):
        answer = (await client.get(f"{T}/objects", params={"limit": 2, "page": page})).json()
        assert answer["pagination"] == {
            "totalCount": len(found),
            "maxPage": -(-len(found) // 2),
        }
        seen += [(o["type"], o["id"]) for o in answer["items"]]
    assert seen == [(o["type"], o["id"]) for o in everything["items"]][:6]

    by_type = (await client.get(f"{T}/objects", params={"sorting": "-type"})).json()
    assert by_type["items"][0]["type"] == "queue_group"
    assert_error(
        await client.get(f"{T}/objects", params={"sorting": "updatedAt"}),
        "invalid_input",
        ["query", "sorting"],
    )
    assert_error(await client.get("/api/v1/tenants/nobody/objects"), "not_found")


class HidingPolicy(AllowAll):
    """Everything but the ``ops`` dashboard and the ``support`` queue."""

    name = "test-hiding"

    def readable_dashboards(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        from wallboard.db.models import Dashboard

        return statement.where(Dashboard.uid != "ops")

    def readable_objects(
        self, subject: Subject, tenant: TenantId, objects: Any
    ) -> list[tuple[str, str]]:
        return [key for key in objects if key != ("queue", "support")]


async def test_every_read_goes_through_the_policy(
    database: Database, store: tuple[ValueStore, FakeClock]
) -> None:
    value_store = store[0]
    await value_store.apply(ACME, [Change("queue", "support", "queue.calls_waiting", 1)])
    async with client_for(database, value_store) as allowed:
        shown = (await allowed.get(f"{W}/queues/values")).json()
        assert [row["id"] for row in shown["rows"]] == ["sales", "support", "empty"]
        copy = {**DASHBOARD, "uid": "copy"}
        assert (await allowed.post(f"{T}/dashboards", json=copy)).status_code == 201

    app = create_app(
        Settings(), database=database, store=value_store, policy=HidingPolicy(), objects=OBJECTS
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wb") as hiding:
        for path in ("values", "values.csv", "history"):
            assert_error(await hiding.get(f"{W}/queues/{path}"), "not_found")
        copied = (await hiding.get(f"{T}/dashboards/copy/widgets/queues/values")).json()
        assert [row["id"] for row in copied["rows"]] == ["sales", "empty"]
        history = (await hiding.get(f"{T}/dashboards/copy/widgets/queues/history")).json()
        assert {s["id"] for s in history["series"]} == {"sales", "empty"}
        found = (await hiding.get(f"{T}/objects", params={"type": "queue"})).json()
        assert "support" not in [o["id"] for o in found["items"]]
        assert "sales" in [o["id"] for o in found["items"]]


async def test_a_value_store_that_does_not_answer_is_503_unavailable(database: Database) -> None:
    # Built without connect (which would refuse it): nothing listens on port 1.
    unreachable = RedisValueStore("redis://127.0.0.1:1/0", prefix=f"wbtest-{uuid.uuid4().hex}")
    try:
        async with client_for(database, unreachable) as client:
            for path in ("values", "values.csv", "history"):
                assert_error(await client.get(f"{W}/queues/{path}"), "unavailable")
            assert_error(await client.get(f"{T}/objects"), "unavailable")
    finally:
        await unreachable.close()


async def test_the_object_configuration_is_read_from_the_collectors_file(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "objects.yaml"
    path.write_text("acme:\n  agent_groups:\n    night: {agents: [n1, n2]}\n")
    app = create_app(Settings(collector_objects=str(path)), database=database, policy=AllowAll())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wb") as client:
        found = (await client.get(f"{T}/objects", params={"q": "n"})).json()
    assert [(o["type"], o["id"]) for o in found["items"]] == [
        ("agent", "n1"),
        ("agent", "n2"),
        ("agent_group", "night"),
    ]
    path.write_text("acme:\n  agent_groups:\n    night: {members: [n1]}\n")
    with pytest.raises(ConfigError, match="WALLBOARD_COLLECTOR_OBJECTS"):
        create_app(Settings(collector_objects=str(path)), database=database, policy=AllowAll())
