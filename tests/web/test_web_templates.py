"""Templates over HTTP: CRUD, validation naming the path, ETag/If-Match, errors in one shape."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from wallboard.web.errors import STATUS_OF_CODE

T = "/api/v1/tenants/acme/templates"

INLINE = {
    "id": "queue.sales_answered",
    "object": "queue",
    "category": "TotalNumber",
    "mask": ["answered"],
    "filter": {"data": {"line": "sales"}},
}


def template(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uid": "my-queues",
        "name": "My queues",
        "objectTypes": ["queue"],
        "defaultDisplayType": "grid",
        "statistics": [
            {"ref": "queue.calls_waiting", "alias": "Waiting", "thresholds": {"warning": 3}},
            {"definition": INLINE, "alias": "Sales answered", "format": "integer"},
        ],
    }
    body.update(changes)
    return body


def assert_error(response: httpx.Response, code: str, loc: list[Any] | None = None) -> None:
    assert response.status_code == STATUS_OF_CODE[code], response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    if loc is not None:
        assert [item["loc"] for item in body["detail"]][:1] == [loc], body


async def test_seeded_templates_are_listed_in_pages(api: httpx.AsyncClient) -> None:
    first = await api.get(T, params={"limit": 5, "sorting": "uid"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["pagination"] == {"totalCount": 17, "maxPage": 4}
    assert [item["uid"] for item in body["items"]] == [
        "agent-group-status",
        "agent-kpis",
        "agent-login",
        "alert",
        "callback-activity",
    ]
    last = (await api.get(T, params={"limit": 5, "page": 4, "sorting": "-uid"})).json()
    assert len(last["items"]) == 2
    past = (await api.get(T, params={"limit": 5, "page": 9})).json()
    assert past == {"items": [], "pagination": {"totalCount": 17, "maxPage": 4}}
    assert_error(await api.get(T, params={"limit": 101}), "invalid_input", ["query", "limit"])
    assert_error(
        await api.get(T, params={"sorting": "owner"}), "invalid_input", ["query", "sorting"]
    )


async def test_create_read_change_delete(api: httpx.AsyncClient) -> None:
    created = await api.post(T, json=template())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{T}/my-queues"
    body = created.json()
    assert (body["version"], body["seedVersion"], body["edited"]) == (1, None, False)
    assert body["statistics"][1]["definition"]["id"] == "queue.sales_answered"
    etag = created.headers["etag"]

    read = await api.get(f"{T}/my-queues")
    assert read.headers["etag"] == etag
    assert read.json() == body

    changed = await api.patch(f"{T}/my-queues", json={"name": "Queues"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["version"]) == ("Queues", 2)
    assert changed.headers["etag"] != etag

    # A second editor still holding the first version is refused, by header or by body.
    stale = await api.patch(f"{T}/my-queues", json={"name": "Mine"}, headers={"If-Match": etag})
    assert_error(stale, "version_mismatch")
    assert_error(await api.patch(f"{T}/my-queues", json={"version": 1}), "version_mismatch")
    assert_error(await api.delete(f"{T}/my-queues", headers={"If-Match": etag}), "version_mismatch")
    assert (await api.get(f"{T}/my-queues")).json()["name"] == "Queues"

    assert (await api.delete(f"{T}/my-queues", headers={"If-Match": "*"})).status_code == 204
    assert_error(await api.get(f"{T}/my-queues"), "not_found")
    assert_error(await api.post(T, json=template(uid="agent-kpis")), "conflict")


@pytest.mark.parametrize(
    ("statistics", "loc"),
    [
        ([{"ref": "queue.nothing"}], ["body", "statistics", 0, "ref"]),
        ([{"ref": "agent.status"}], ["body", "statistics", 0, "ref"]),
        (
            [{"ref": "queue.asa"}, {"ref": "queue.asa"}],
            ["body", "statistics", 1, "ref"],
        ),
        (
            [{"definition": {**INLINE, "category": "Sideways"}}],
            ["body", "statistics", 0, "definition", "category"],
        ),
        (
            [{"definition": {**INLINE, "mask": ["dancing"]}}],
            ["body", "statistics", 0, "definition", "mask"],
        ),
        (
            [{"definition": {**INLINE, "id": "queue.asa"}}],
            ["body", "statistics", 0, "definition", "id"],
        ),
        ([{"ref": "queue.asa", "definition": INLINE}], ["body", "statistics", 0]),
        (
            [{"ref": "queue.asa", "thresholds": {"warning": 10, "critical": 5}}],
            ["body", "statistics", 0, "thresholds"],
        ),
    ],
    ids=[
        "unknown-ref",
        "wrong-object-type",
        "twice",
        "bad-category",
        "bad-mask",
        "standard-id",
        "both",
        "thresholds-order",
    ],
)
async def test_bad_statistics_are_422_naming_the_path(
    api: httpx.AsyncClient, statistics: list[Any], loc: list[Any]
) -> None:
    response = await api.post(T, json=template(statistics=statistics))
    assert_error(response, "invalid_input")
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc, response.json()


async def test_an_inline_id_means_one_definition_per_tenant(api: httpx.AsyncClient) -> None:
    assert (await api.post(T, json=template())).status_code == 201
    other = template(
        uid="other",
        statistics=[{"definition": {**INLINE, "mask": ["abandoned"]}}],
    )
    assert_error(
        await api.post(T, json=other),
        "invalid_input",
        ["body", "statistics", 0, "definition", "id"],
    )
    same = template(uid="same", statistics=[{"definition": INLINE}])
    assert (await api.post(T, json=same)).status_code == 201


async def test_errors_share_one_shape(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/tenants/nobody/templates"), "not_found")
    assert_error(await api.get("/api/v1/tenants/NOT A SLUG/templates"), "not_found")
    assert_error(await api.get("/api/v1/nothing-here"), "not_found")
    assert_error(await api.put(f"{T}/agent-kpis", json={}), "method_not_allowed")
    bad_json = await api.post(T, content=b"{not json", headers={"content-type": "application/json"})
    assert_error(bad_json, "invalid_input")
    assert_error(
        await api.post(T, json={**template(), "colour": "red"}), "invalid_input", ["body", "colour"]
    )
    huge = template(description="x" * 70_000)
    assert_error(await api.post(T, json=huge), "payload_too_large")


async def test_a_user_edit_marks_a_seeded_template(api: httpx.AsyncClient) -> None:
    before = (await api.get(f"{T}/queue-kpis")).json()
    assert (before["seedVersion"], before["edited"]) == (1, False)
    after = (await api.patch(f"{T}/queue-kpis", json={"description": "Ours"})).json()
    assert after["edited"] is True


async def test_export_imports_to_the_same_template(api: httpx.AsyncClient) -> None:
    assert (await api.post(T, json=template())).status_code == 201
    exported = (await api.get(f"{T}/my-queues/export")).json()
    assert exported["schemaVersion"] == 1
    assert_error(await api.post(f"{T}/import", json=exported), "conflict")
    await api.delete(f"{T}/my-queues")
    imported = await api.post(f"{T}/import", json=exported)
    assert imported.status_code == 201, imported.text
    assert (await api.get(f"{T}/my-queues/export")).json() == exported
    replaced = await api.post(f"{T}/import", params={"overwrite": "true"}, json=exported)
    assert replaced.status_code == 200
    newer = {**exported, "schemaVersion": 99}
    assert_error(
        await api.post(f"{T}/import", json=newer), "invalid_input", ["body", "schemaVersion"]
    )


async def test_concurrent_editors_of_one_version_get_one_success(api: httpx.AsyncClient) -> None:
    read = await api.get(f"{T}/agent-login")
    etag = read.headers["etag"]

    async def edit(name: str) -> int:
        response = await api.patch(
            f"{T}/agent-login", json={"name": name}, headers={"If-Match": etag}
        )
        return response.status_code

    statuses = await asyncio.gather(*(edit(f"Editor {n}") for n in range(4)))
    assert sorted(statuses) == [200, 412, 412, 412]
    assert (await api.get(f"{T}/agent-login")).json()["version"] == 2
