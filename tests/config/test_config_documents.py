"""Bulk import and export, YAML and CSV: round trips, all or nothing, errors naming the object
(YAML index, CSV line) and its field, the body size limit."""

from __future__ import annotations

from typing import Any

import httpx
import yaml
from prometheus_client import REGISTRY

from wallboard.web.errors import STATUS_OF_CODE

C = "/api/v1/config/acme"

DOCUMENT = """\
version: 1
objects:
  - {type: folder, name: site}
  - {type: folder, name: floor-1, attributes: {parent: site}}
  - {type: skill, name: sales}
  - type: agent
    name: a-1
    displayName: Ann
    folder: floor-1
    attributes: {login_ids: ["1001"], dns: ["5001"], skills: {sales: 7, english: 3}}
  - {type: agent, name: a-2, folder: floor-1, attributes: {skills: {sales: 2}}}
  - type: agent_group
    name: sales-experts
    folder: floor-1
    attributes: {agents: [a-2], skill_expression: "sales >= 5 & english"}
  - {type: queue, name: q-sales, attributes: {agents: [a-1], skill: sales, threshold_s: 20}}
  - {type: routing_point, name: rp-1}
  - {type: queue_group, name: all-queues, attributes: {queues: [q-sales], routing_points: [rp-1]}}
  - type: access_group
    name: floor-1-supervisors
    attributes:
      members: [supervisor]
      folders: [floor-1]
      objects: [{type: queue, name: q-sales}]
  - {type: access_group, name: everything, attributes: {all_objects: true, members: [admin]}}
"""


def assert_error(response: httpx.Response, loc: list[Any]) -> None:
    assert response.status_code == STATUS_OF_CODE["invalid_input"], response.text
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["detail"][0]["loc"] == loc, body


async def count(api: httpx.AsyncClient) -> int:
    response = await api.get(f"{C}/objects")
    total: int = response.json()["pagination"]["totalCount"]
    return total


async def test_a_yaml_document_round_trips_through_csv(api: httpx.AsyncClient) -> None:
    imported = await api.post(
        f"{C}/import", content=DOCUMENT, headers={"Content-Type": "application/yaml"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 11
    exported = await api.get(f"{C}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/yaml")
    objects = yaml.safe_load(exported.text)["objects"]
    assert [o["name"] for o in objects][:3] == ["floor-1", "site", "sales"]
    agent = next(o for o in objects if o["name"] == "a-1")
    assert agent == {
        "type": "agent",
        "name": "a-1",
        "displayName": "Ann",
        "folder": "floor-1",
        "attributes": {
            "login_ids": ["1001"],
            "dns": ["5001"],
            "skills": {"sales": 7, "english": 3},
        },
    }
    csv_text = (await api.get(f"{C}/export", params={"format": "csv"})).text
    assert csv_text.splitlines()[0].startswith("type,name,displayName,folder,login_ids")
    assert "a-1,Ann,floor-1,1001,5001,sales=7;english=3" in csv_text

    # The same document again changes nothing; its CSV form neither, in another tenant it
    # creates the same objects.
    again = await api.post(f"{C}/import", content=csv_text, headers={"Content-Type": "text/csv"})
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 11, "changeNumber": None}
    other = await api.post(
        "/api/v1/config/globex/import", params={"format": "csv"}, content=csv_text
    )
    assert other.json()["created"] == 11
    assert (await api.get("/api/v1/config/globex/export")).text == exported.text


async def test_a_wrong_yaml_object_is_named_and_nothing_is_written(
    api: httpx.AsyncClient,
) -> None:
    refused = REGISTRY.get_sample_value("wallboard_config_imports_total", {"outcome": "refused"})
    wrong = DOCUMENT.replace("skills: {sales: 2}", "skills: {sales: 12}")
    response = await api.post(f"{C}/import", content=wrong)
    assert_error(response, ["body", "objects", 4, "attributes", "skills", "sales"])
    counted = REGISTRY.get_sample_value("wallboard_config_imports_total", {"outcome": "refused"})
    assert counted == (refused or 0) + 1
    assert await count(api) == 0
    dangling = DOCUMENT.replace("queues: [q-sales]", "queues: [q-sales, q-nowhere]")
    response = await api.post(f"{C}/import", content=dangling)
    assert_error(response, ["body", "objects", 8, "attributes", "queues", 1])
    assert "queue 'q-nowhere' does not exist" in response.json()["message"]
    assert await count(api) == 0
    twice = DOCUMENT + "  - {type: skill, name: sales}\n"
    assert_error(await api.post(f"{C}/import", content=twice), ["body", "objects", 11, "name"])
    assert_error(
        await api.post(f"{C}/import", content="version: 2\nobjects: []"), ["body", "version"]
    )
    assert_error(await api.post(f"{C}/import", content="objects: [1"), ["body"])


async def test_a_wrong_csv_line_is_named_and_nothing_is_written(api: httpx.AsyncClient) -> None:
    lines = [
        "type,name,displayName,folder,skills,agents,parent",
        "folder,floor-1,,,,,",
        "agent,a-1,Ann,floor-1,sales=7,,",
        "agent,a-2,,floor-1,sales=high,,",
    ]
    response = await api.post(f"{C}/import", params={"format": "csv"}, content="\n".join(lines))
    assert_error(response, ["body", "line 4", "attributes", "skills", "sales"])
    assert await count(api) == 0
    lines[3] = "agent,a-2,,floor-1,,a-1,"
    response = await api.post(f"{C}/import", params={"format": "csv"}, content="\n".join(lines))
    assert_error(response, ["body", "line 4", "attributes", "agents"])
    assert "has no attribute" in response.json()["message"]
    lines[3] = "agent_group,team,,floor-9,,a-1,"
    response = await api.post(f"{C}/import", params={"format": "csv"}, content="\n".join(lines))
    assert_error(response, ["body", "line 4", "folder"])
    lines[0] = lines[0] + ",colour"
    response = await api.post(f"{C}/import", params={"format": "csv"}, content="\n".join(lines))
    assert_error(response, ["body", "line 1", "colour"])
    assert await count(api) == 0
    lines[0] = lines[0].removesuffix(",colour")
    lines[3] = "agent_group,team,,floor-1,,a-1,"
    response = await api.post(f"{C}/import", params={"format": "csv"}, content="\n".join(lines))
    assert response.status_code == 200, response.text
    assert await count(api) == 3


async def test_an_import_over_the_body_limit_is_refused(api: httpx.AsyncClient) -> None:
    big = "version: 1\nobjects:\n" + "".join(
        f"  - {{type: agent, name: agent-{i:06d}, displayName: {'x' * 80}}}\n" for i in range(3000)
    )
    response = await api.post(f"{C}/import", content=big)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await count(api) == 0
