"""The configuration objects over HTTP: create, read, list, change, delete; validation naming
the field; references; ETag/If-Match; tenants apart."""

from __future__ import annotations

from typing import Any

import httpx

from wallboard.web.errors import STATUS_OF_CODE

C = "/api/v1/config/acme"


def assert_error(response: httpx.Response, code: str, loc: list[Any] | None = None) -> None:
    assert response.status_code == STATUS_OF_CODE[code], response.text
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    if loc is not None:
        assert [item["loc"] for item in body["detail"]][:1] == [loc], body


async def create(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post(f"{C}/objects", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_an_agent_is_created_read_changed_and_deleted(api: httpx.AsyncClient) -> None:
    created = await api.post(
        f"{C}/objects",
        json={
            "type": "agent",
            "name": "SIP/1001",
            "displayName": "Ann Smith",
            "attributes": {"login_ids": ["1001"], "skills": {"sales": 7}},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["attributes"] == {"login_ids": ["1001"], "dns": [], "skills": {"sales": 7}}
    assert body["version"] == 1
    assert body["changeNumber"] > 0
    assert created.headers["Location"] == f"{C}/objects/agent/SIP/1001"
    read = await api.get(created.headers["Location"])
    assert read.status_code == 200
    assert read.json() == body
    etag = read.headers["ETag"]

    changed = await api.patch(
        f"{C}/objects/agent/SIP/1001",
        json={"attributes": {"skills": {"sales": 8}}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["attributes"]["skills"] == {"sales": 8}
    assert changed.json()["displayName"] == "Ann Smith"
    assert changed.json()["changeNumber"] > body["changeNumber"]
    stale = await api.patch(
        f"{C}/objects/agent/SIP/1001", json={"displayName": "Ann"}, headers={"If-Match": etag}
    )
    assert_error(stale, "version_mismatch")

    deleted = await api.delete(
        f"{C}/objects/agent/SIP/1001", headers={"If-Match": changed.headers["ETag"]}
    )
    assert deleted.status_code == 204, deleted.text
    assert_error(await api.get(f"{C}/objects/agent/SIP/1001"), "not_found")


async def test_any_printable_name_is_an_id(api: httpx.AsyncClient) -> None:
    for name in ("李小龙", "Local/1001@from-queue/n", "a b", "<script>x</script>", "50%"):
        created = await api.post(f"{C}/objects", json={"type": "agent", "name": name})
        assert created.status_code == 201, created.text
        read = await api.get(f"http://wallboard{created.headers['Location']}")
        assert read.status_code == 200, (name, read.text)
        assert read.json()["name"] == name


async def test_wrong_fields_are_named(api: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        (
            {"type": "agent", "name": "a", "attributes": {"skills": {"sales": 11}}},
            ["body", "attributes", "skills", "sales"],
        ),
        (
            {"type": "agent", "name": "a", "attributes": {"pager": "x"}},
            ["body", "attributes", "pager"],
        ),
        ({"type": "agent", "name": " a"}, ["body", "name"]),
        ({"type": "agent", "name": "a\x1fb"}, ["body", "name"]),
        ({"type": "robot", "name": "a"}, ["body", "type"]),
        ({"type": "agent", "name": "a", "colour": "red"}, ["body", "colour"]),
        (
            {"type": "agent_group", "name": "g", "attributes": {"skill_expression": "sales >="}},
            ["body", "attributes", "skill_expression"],
        ),
        (
            {"type": "queue", "name": "q", "attributes": {"threshold_s": -1}},
            ["body", "attributes", "threshold_s"],
        ),
        ({"type": "agent", "name": "a", "folder": "nowhere"}, ["body", "folder"]),
        (
            {"type": "agent_group", "name": "g", "attributes": {"agents": ["ghost"]}},
            ["body", "attributes", "agents", 0],
        ),
        (
            {
                "type": "access_group",
                "name": "x",
                "attributes": {"objects": [{"type": "queue", "name": "q"}]},
            },
            ["body", "attributes", "objects", 0],
        ),
    ]
    for body, loc in cases:
        assert_error(await api.post(f"{C}/objects", json=body), "invalid_input", loc)
    listed = await api.get(f"{C}/objects")
    assert listed.json()["pagination"]["totalCount"] == 0


async def test_folders_and_groups_cannot_contain_themselves(api: httpx.AsyncClient) -> None:
    await create(api, type="folder", name="site")
    await create(api, type="folder", name="floor-1", attributes={"parent": "site"})
    cycle = await api.patch(f"{C}/objects/folder/site", json={"attributes": {"parent": "floor-1"}})
    assert_error(cycle, "invalid_input", ["body", "attributes", "parent"])
    await create(api, type="agent_group", name="all")
    await create(api, type="agent_group", name="team", attributes={"groups": ["all"]})
    cycle = await api.patch(
        f"{C}/objects/agent_group/all", json={"attributes": {"groups": ["team"]}}
    )
    assert_error(cycle, "invalid_input", ["body", "attributes", "groups", 0])


async def test_an_object_named_by_another_is_not_deleted(api: httpx.AsyncClient) -> None:
    await create(api, type="folder", name="floor-1")
    await create(api, type="agent", name="a1", folder="floor-1")
    refused = await api.delete(f"{C}/objects/folder/floor-1")
    assert_error(refused, "conflict")
    assert "agent 'a1'" in refused.json()["message"]
    duplicate = await api.post(f"{C}/objects", json={"type": "agent", "name": "a1"})
    assert_error(duplicate, "conflict")


async def test_lists_filter_by_type_and_page(api: httpx.AsyncClient) -> None:
    for index in range(7):
        await create(api, type="agent", name=f"agent-{index}")
    await create(api, type="queue", name="sales", attributes={"agents": ["agent-1"]})
    page = await api.get(f"{C}/objects", params={"type": "agent", "limit": 3, "page": 3})
    assert page.status_code == 200, page.text
    assert [item["name"] for item in page.json()["items"]] == ["agent-6"]
    assert page.json()["pagination"] == {"totalCount": 7, "maxPage": 3}
    both = await api.get(f"{C}/objects", params={"type": ["queue"], "q": "SAL"})
    assert [item["name"] for item in both.json()["items"]] == ["sales"]
    assert_error(
        await api.get(f"{C}/objects", params={"sorting": "colour"}),
        "invalid_input",
        ["query", "sorting"],
    )


async def test_tenants_are_apart(api: httpx.AsyncClient) -> None:
    await create(api, type="agent", name="a1")
    assert_error(await api.get("/api/v1/config/globex/objects/agent/a1"), "not_found")
    other = await api.get("/api/v1/config/globex/objects")
    assert other.json()["items"] == []
    assert_error(await api.get("/api/v1/config/nobody/objects"), "not_found")
