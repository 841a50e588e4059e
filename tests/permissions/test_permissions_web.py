"""Object permissions on every REST read that can carry object ids: the restricted supervisor
never receives a forbidden object's id (raw response bodies are searched), a widget mixing
allowed and forbidden objects shows only the allowed ones, a forbidden group is not expanded
nor named. The administrator (``all_objects``) reads the same endpoints and does see the
hidden objects: the check can fail."""

from __future__ import annotations

import httpx
from permissions_site import HIDDEN, START_MS, T, open_site

from wallboard.db.database import Database

W = f"{T}/dashboards/mixed/widgets"

READS = [
    f"{T}/dashboards",
    f"{T}/dashboards/mixed",
    f"{T}/dashboards/mixed/export",
    W,
    f"{W}/agents",
    f"{W}/queues",
    f"{W}/secret-team",
    f"{W}/front",
    f"{T}/sync?since=0",
    f"{T}/objects?limit=100",
    f"{T}/objects?q=zz",
    *(
        f"{W}/{widget}/{read}"
        for widget in ("agents", "queues", "team", "secret-team", "front", "every-queue")
        for read in ("values", "values.csv", f"history?from={START_MS}&to={START_MS + 3_600_000}")
    ),
]


def ids(kind: str, *names: str) -> dict[str, object]:
    return {"type": kind, "ids": list(names), "group": None}


async def bodies(client: httpx.AsyncClient) -> dict[str, str]:
    out = {}
    for path in READS:
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        out[path] = answer.text
    return out


async def test_no_read_sends_a_forbidden_object(database: Database) -> None:
    async with open_site(database) as (site, client):
        admin = await bodies(client)
        site.policy.user = "sup"
        sup = await bodies(client)
        site.policy.user = "stranger"  # listed by no access group: sees no object at all
        stranger = await bodies(client)
    # Every endpoint that can carry an object id carries a hidden one for the administrator…
    carrying = [path for path, text in admin.items() if HIDDEN in text]
    assert sorted(set(READS) - set(carrying)) == []
    # …and never for the supervisor nor a user without grants.
    assert [path for path, text in sup.items() if HIDDEN in text] == []
    assert [path for path, text in stranger.items() if HIDDEN in text] == []
    assert '"a1"' in sup[f"{W}/agents/values"]
    assert '"a1"' not in stranger[f"{W}/agents/values"]


async def test_a_mixed_widget_shows_only_the_allowed_objects(database: Database) -> None:
    async with open_site(database) as (site, client):
        site.policy.user = "sup"
        widgets = {w["uid"]: w for w in (await client.get(W)).json()}
        assert widgets["agents"]["objects"] == [ids("agent", "a1", "a2")]
        assert widgets["queues"]["objects"] == [ids("queue", "sales")]
        # A visible group stays a group; a forbidden one becomes an empty selection.
        assert widgets["team"]["objects"] == [{"type": "agent", "ids": None, "group": "sales-team"}]
        assert widgets["secret-team"]["objects"] == [ids("agent")]
        assert widgets["front"]["objects"] == [ids("queue")]

        def rows(body: dict[str, object]) -> list[tuple[str, str]]:
            return [(row["type"], row["id"]) for row in body["rows"]]  # type: ignore[attr-defined,index]

        values = {
            uid: (await client.get(f"{W}/{uid}/values")).json()
            for uid in ("agents", "queues", "team", "secret-team", "front", "every-queue")
        }
        assert rows(values["agents"]) == [("agent", "a1"), ("agent", "a2")]
        assert rows(values["queues"]) == [("queue", "sales")]
        # The visible group's members, only those visible (seeing a group shows no member).
        assert rows(values["team"]) == [("agent", "a1")]
        # The members of a forbidden group are not shown, even the visible ones (a2).
        assert rows(values["secret-team"]) == []
        assert values["secret-team"]["unexpandedGroups"] == []
        assert rows(values["front"]) == []
        assert rows(values["every-queue"]) == [("queue", "sales")]
        history = (
            await client.get(
                f"{W}/agents/history", params={"from": START_MS, "to": START_MS + 3_600_000}
            )
        ).json()
        assert {(s["type"], s["id"]) for s in history["series"]} == {
            ("agent", "a1"),
            ("agent", "a2"),
        }

        site.policy.user = "admin"
        admin = (await client.get(f"{W}/agents/values")).json()
        assert rows(admin) == [("agent", "a1"), ("agent", "zz-hidden-agent"), ("agent", "a2")]


async def test_a_restricted_change_keeps_the_objects_it_cannot_see(database: Database) -> None:
    async with open_site(database) as (site, client):
        site.policy.user = "sup"
        changed = await client.patch(f"{W}/agents", json={"title": "My agents"})
        assert changed.status_code == 200, changed.text
        assert HIDDEN not in changed.text
        site.policy.user = "admin"
        stored = (await client.get(f"{W}/agents")).json()
        assert stored["title"] == "My agents"
        assert stored["objects"] == [ids("agent", "a1", "zz-hidden-agent", "a2")]


async def test_a_restricted_change_of_the_objects_keeps_those_it_cannot_see(
    database: Database,
) -> None:
    async with open_site(database) as (site, client):
        site.policy.user = "sup"
        changed = await client.patch(
            f"{W}/agents", json={"objects": [{"type": "agent", "ids": ["a2"]}]}
        )
        assert changed.status_code == 200, changed.text
        assert HIDDEN not in changed.text
        rows = (await client.get(f"{W}/agents/values")).json()["rows"]
        assert [row["id"] for row in rows] == ["a2"]
        site.policy.user = "admin"
        stored = (await client.get(f"{W}/agents")).json()
        assert stored["objects"] == [ids("agent", "a2"), ids("agent", "zz-hidden-agent")]
