"""The change feed: what changed after a number, deletions, long-polling; and the live
follow: an agent created through the API counts in its group, in the collector's values and
the object search, within a second."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from wallboard.collector.service import CollectorSettings
from wallboard.config.follower import ConfigFollower
from wallboard.core.clock import SystemClock
from wallboard.core.events import AgentLogin
from wallboard.core.ids import AgentId, EventId, SourceId, TenantId
from wallboard.db.database import Database
from wallboard.embedded import Embedded
from wallboard.settings import Settings
from wallboard.stats import GroupConfig, ObjectConfig, QueueConfig
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll

C = "/api/v1/config/acme"


async def post(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post(f"{C}/objects", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_the_feed_gives_what_changed_after_a_number(api: httpx.AsyncClient) -> None:
    start = (await api.get(f"{C}/changes")).json()
    assert start["objects"] == []
    assert start["deletions"] == []
    await post(api, type="agent", name="a-1")
    await post(api, type="agent", name="a-2")
    first = (await api.get(f"{C}/changes", params={"since": start["changeNumber"]})).json()
    assert [o["name"] for o in first["objects"]] == ["a-1", "a-2"]
    assert first["changeNumber"] == first["objects"][-1]["changeNumber"]
    await api.delete(f"{C}/objects/agent/a-1")
    await api.patch(f"{C}/objects/agent/a-2", json={"displayName": "Bea"})
    second = (await api.get(f"{C}/changes", params={"since": first["changeNumber"]})).json()
    assert [(o["name"], o["displayName"]) for o in second["objects"]] == [("a-2", "Bea")]
    assert [(d["type"], d["name"]) for d in second["deletions"]] == [("agent", "a-1")]
    # Re-created after its deletion: an object again, not a deletion.
    await post(api, type="agent", name="a-1")
    third = (await api.get(f"{C}/changes", params={"since": first["changeNumber"]})).json()
    assert sorted(o["name"] for o in third["objects"]) == ["a-1", "a-2"]
    assert third["deletions"] == []
    # Another tenant's changes are not in it.
    other = (await api.get("/api/v1/config/globex/changes")).json()
    assert other["objects"] == []


async def test_a_waiting_request_answers_as_soon_as_something_changes(
    api: httpx.AsyncClient,
) -> None:
    since = (await api.get(f"{C}/changes")).json()["changeNumber"]
    started = time.monotonic()
    quiet = await api.get(f"{C}/changes", params={"since": since, "wait": 0.5})
    assert time.monotonic() - started >= 0.5
    assert quiet.json()["objects"] == []
    waiting = asyncio.create_task(api.get(f"{C}/changes", params={"since": since, "wait": 20}))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await post(api, type="queue", name="q-1")
    written = time.monotonic()
    answer = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - written < 1.0
    assert [o["name"] for o in answer.json()["objects"]] == ["q-1"]
    too_long = await api.get(f"{C}/changes", params={"wait": 31})
    assert too_long.status_code == 422


async def test_the_follower_reloads_only_a_changed_configuration(
    api: httpx.AsyncClient, database: Database
) -> None:
    follower = ConfigFollower(
        database, fallback={"acme": ObjectConfig(queues={"q": QueueConfig()})}
    )
    assert await follower.poll() == {}  # no configuration objects yet: the fallback is kept
    assert set(follower.objects["acme"].queues) == {"q"}
    await post(api, type="agent", name="a-1")
    await post(api, type="agent_group", name="team", attributes={"agents": ["a-1"]})
    changed = await follower.poll()
    assert changed == {"acme": ObjectConfig(agent_groups={"team": GroupConfig(agents=("a-1",))})}
    assert follower.objects["acme"] is changed["acme"]
    # A dashboard write moves the tenant's counter, not its configuration: nothing reloads.
    board = await api.post("/api/v1/tenants/acme/dashboards", json={"uid": "b", "name": "B"})
    assert board.status_code == 201, board.text
    assert await follower.poll() == {}
    # A change that gives the same engine configuration (a display name) is no change.
    await api.patch(f"{C}/objects/agent/a-1", json={"displayName": "Ann"})
    assert await follower.poll() == {}
    assert (await api.delete(f"{C}/objects/agent_group/team")).status_code == 204
    assert await follower.poll() == {"acme": ObjectConfig()}


async def test_a_new_agent_counts_in_its_group_within_a_second(
    api: httpx.AsyncClient, database: Database
) -> None:
    await post(api, type="agent", name="a-1", attributes={"skills": {"sales": 9}})
    await post(api, type="agent_group", name="sales", attributes={"skill_expression": "sales>=5"})
    clock = SystemClock()
    follower = ConfigFollower(
        database, fallback={"globex": ObjectConfig(agent_groups={"g": GroupConfig(agents=("x",))})}
    )
    await follower.poll()
    assert follower.objects["acme"].agent_groups["sales"].agents == ("a-1",)
    assert follower.objects["globex"].agent_groups["g"].agents == ("x",)  # the fallback
    embedded = Embedded(
        clock=clock,
        settings=CollectorSettings(name="t", flush_s=0.05),
        objects=follower.objects,
        registry=CollectorRegistry(),
    )
    async with embedded:
        following = asyncio.create_task(follower.run(embedded.collector.set_objects))
        app = create_app(
            Settings(),
            database=database,
            store=embedded.store,
            objects=follower.objects,
            registry=CollectorRegistry(),
            policy=AllowAll(),
        )
        web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w")
        try:
            for seq, agent in enumerate(("a-1", "a-2"), start=1):
                embedded.feed.put(
                    AgentLogin(
                        tenant=TenantId("acme"),
                        source=SourceId("voice"),
                        seq=seq,
                        id=EventId(f"e{seq}"),
                        ts=clock.now_ms(),
                        agent=AgentId(agent),
                    )
                )
            await embedded.settle()

            async def logged_in() -> object:
                snapshot = await embedded.store.snapshot(TenantId("acme"))
                group = snapshot.values.get("agent_group", {}).get("sales", {})
                return group.get("group.agents_logged_in")

            async def searched() -> list[tuple[str, bool]]:
                response = await web.get(
                    "/api/v1/tenants/acme/objects", params={"type": "agent", "q": "a-"}
                )
                return [(o["id"], o["configured"]) for o in response.json()["items"]]

            deadline = time.monotonic() + 5
            while await logged_in() != 1:
                assert time.monotonic() < deadline, await logged_in()
                await asyncio.sleep(0.05)
            assert await searched() == [("a-1", True), ("a-2", False)]

            # The agent is created through the API with a skill the group's expression
            # selects: the group counts it, and the search knows it, within a second of its
            # creation (the request's answer: the commit is done).
            response = await web.post(
                f"{C}/objects",
                json={"type": "agent", "name": "a-2", "attributes": {"skills": {"sales": 6}}},
            )
            written = time.monotonic()
            assert response.status_code == 201, response.text
            while await logged_in() != 2 or await searched() != [("a-1", True), ("a-2", True)]:
                assert time.monotonic() - written < 1.0, (await logged_in(), await searched())
                await asyncio.sleep(0.02)
        finally:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            await web.aclose()
