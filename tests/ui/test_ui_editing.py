"""The editing side of the UI: dashboards created, changed, shared and deleted; widgets added
and changed through the wizard (with its live preview and the 412 of a concurrent save);
templates edited and created; export then import giving back the same documents; all of it
by keyboard where a person would use one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, expect

from browser import UiSession

API = "/api/v1/tenants/acme"


async def api_get(ui: UiSession, path: str) -> Any:
    response = await ui.page.request.get(ui.base_url + API + path)
    assert response.ok, f"GET {path}: {response.status} {await response.text()}"
    return await response.json()


async def api_send(ui: UiSession, method: str, path: str, body: Any) -> Any:
    response = await ui.page.request.fetch(
        ui.base_url + API + path,
        method=method,
        data=json.dumps(body),
        headers={"content-type": "application/json", "X-CSRF-Token": ui.csrf},
    )
    assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json()


async def has_object_search(ui: UiSession) -> bool:
    openapi = await (await ui.page.request.get(ui.base_url + "/api/v1/openapi.json")).json()
    return "/api/v1/tenants/{tenant}/objects" in openapi["paths"]


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def expect_refusals(ui: UiSession, status: int, count: int = 1) -> None:
    """Takes the browser's own report of the `count` refusals (HTTP `status`) a test provoked
    out of the console errors, so only those pass; any other error still fails the test."""
    refused = [e for e in ui.errors if f"status of {status}" in e]
    assert len(refused) == count, ui.errors
    for error in refused:
        ui.errors.remove(error)


def dialog(ui: UiSession, name: str) -> Locator:
    return ui.page.get_by_role("dialog", name=name)


async def test_a_dashboard_is_created_renamed_shared_and_deleted(ui: UiSession) -> None:
    page = ui.page
    await ui.open("/")
    await page.get_by_role("button", name="New dashboard").click()
    form = dialog(ui, "New dashboard")
    await expect(form.get_by_label("Name")).to_be_focused()
    await form.get_by_label("Name").fill("Team A")
    await form.get_by_label("Name").press("Enter")  # submits
    await expect(page).to_have_url(re.compile(r"#/dashboards/[0-9a-f]{32}$"))
    uid = page.url.rsplit("/", 1)[1]
    created = await api_get(ui, f"/dashboards/{uid}")
    assert (created["name"], created["kind"], created["shared"]) == ("Team A", "dashboard", False)

    await ui.open("/")
    await page.get_by_role("button", name="Settings of Team A").click()
    form = dialog(ui, "Dashboard settings")
    await form.get_by_label("Name").fill("Team Alpha")
    await form.get_by_label("Shared with everyone of the tenant").check()
    await form.get_by_label("Name").press("Enter")
    await expect(form).to_be_hidden()
    card = page.locator(".dashboard-card", has_text="Team Alpha")
    await expect(card).to_contain_text("shared")
    changed = await api_get(ui, f"/dashboards/{uid}")
    assert (changed["name"], changed["shared"], changed["version"]) == ("Team Alpha", True, 2)

    await card.get_by_role("button", name="Settings of Team Alpha").click()
    form = dialog(ui, "Dashboard settings")
    await form.get_by_role("button", name="Delete…").click()
    await form.get_by_role("button", name="Yes, delete").click()
    await expect(card).to_have_count(0)
    listed = await api_get(ui, "/dashboards?limit=100")
    assert uid not in [item["uid"] for item in listed["items"]]


async def test_a_wallboard_gets_a_rotation(ui: UiSession) -> None:
    page = ui.page
    await ui.open("/#/?kind=wallboard")
    await page.get_by_role("button", name="New wallboard").click()
    form = dialog(ui, "New wallboard")
    await form.get_by_label("Name").fill("Floor two")
    await expect(form.get_by_label("Kind")).to_have_value("wallboard")
    await form.get_by_label("Seconds each").fill("15")
    rotation = form.get_by_role("list", name="Rotate through")
    await rotation.get_by_label("Contact center overview").check()
    await rotation.get_by_label("Floor wallboard").check()
    await form.get_by_role("button", name="Create").click()
    # A new wallboard opens where its widgets are added.
    await expect(page).to_have_url(re.compile(r"#/dashboards/[0-9a-f]{32}$"))
    await expect(page.get_by_role("link", name="Add widget")).to_be_visible()
    created = await api_get(ui, f"/dashboards/{page.url.rsplit('/', 1)[1]}")
    assert created["kind"] == "wallboard"
    assert created["rotation"] == {
        "intervalSeconds": 15,
        "dashboards": ["demo-dashboard", "demo-wallboard"],
    }


async def test_the_wizard_adds_a_widget_with_a_live_preview_and_edits_it(ui: UiSession) -> None:
    page = ui.page
    await api_send(ui, "POST", "/dashboards", {"uid": "sales", "name": "Sales"})
    await ui.feed([("queue", "q-sales", "queue.calls_waiting", 12)])
    await ui.open("/#/dashboards/sales")
    await page.get_by_role("link", name="Add widget").click()
    wizard = dialog(ui, "Add a widget")
    await wizard.get_by_role("button", name=re.compile("^Queue KPIs")).click()

    # Objects: ids typed (Enter adds, it does not submit); the search has a test of its own.
    if not await has_object_search(ui):
        await expect(wizard.get_by_role("note")).to_contain_text("add objects by their id")
    await wizard.get_by_label("Add by id").fill("q-sales")
    await wizard.get_by_label("Add by id").press("Enter")
    await expect(wizard.get_by_role("list", name="Chosen queues")).to_contain_text("q-sales")
    preview = wizard.get_by_role("figure", name="Preview")
    cell = preview.get_by_role("row", name=re.compile("q-sales")).locator("td").first
    await expect(cell).to_have_text("12")
    await expect(cell).to_have_class(re.compile("level-critical"))  # the template's 10
    await ui.feed([("queue", "q-sales", "queue.calls_waiting", 3)])
    await expect(cell).to_have_text("3")

    await wizard.get_by_role("button", name="Next").click()
    await wizard.get_by_role("radio", name=re.compile("^KPI")).click()
    await wizard.get_by_role("button", name="Next").click()
    await wizard.get_by_label("Title").fill("Sales waiting")
    await wizard.get_by_role("list", name="Columns").get_by_label("Waiting").check()
    await wizard.get_by_label("Warning of Waiting").fill("2")
    await expect(preview.locator(".preview-kpi")).to_have_class(re.compile("level-warning"))
    await wizard.get_by_label("Title").press("Enter")  # saves
    await expect(wizard).to_be_hidden()
    await expect(page).to_have_url(re.compile(r"#/dashboards/sales$"))

    [widget] = (await api_get(ui, "/dashboards/sales"))["widgets"]
    assert widget["title"] == "Sales waiting"
    assert widget["templateUid"] == "queue-kpis"
    assert widget["displayType"] == "kpi"
    assert [(o["type"], o["ids"]) for o in widget["objects"]] == [("queue", ["q-sales"])]
    assert widget["options"]["columns"] == ["queue.calls_waiting"]
    assert widget["options"]["thresholds"] == {
        "queue.calls_waiting": {"warning": 2.0, "critical": None, "direction": "above"}
    }

    # The same wizard changes it; someone else saves meanwhile: 412, then overwrite.
    await ui.open(f"/#/dashboards/sales/widgets/{widget['uid']}/edit")
    wizard = dialog(ui, "Edit widget")
    await expect(wizard.get_by_label("Title")).to_have_value("Sales waiting")
    await api_send(
        ui, "PATCH", f"/dashboards/sales/widgets/{widget['uid']}", {"title": "Changed elsewhere"}
    )
    await wizard.get_by_label("Title").fill("Sales queue")
    await wizard.get_by_role("button", name="Save widget").click()
    await expect(wizard.get_by_role("alert")).to_contain_text("Someone else changed this widget")
    expect_refusals(ui, 412)
    await wizard.get_by_role("button", name="Overwrite").click()
    await expect(wizard).to_be_hidden()
    saved = await api_get(ui, f"/dashboards/sales/widgets/{widget['uid']}")
    assert (saved["title"], saved["version"]) == ("Sales queue", 3)


async def test_a_template_saved_elsewhere_meanwhile_is_a_clear_conflict(ui: UiSession) -> None:
    page = ui.page
    await ui.open("/#/templates/agent-login")
    name = page.get_by_label("Name")
    await expect(name).to_have_value("Agent Login")
    await api_send(ui, "PATCH", "/templates/agent-login", {"description": "Changed elsewhere"})
    await name.fill("Logins")
    await name.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("Someone else changed this template")
    expect_refusals(ui, 412)
    await page.get_by_role("button", name="Reload").click()
    await expect(name).to_have_value("Agent Login")
    await expect(page.get_by_label("Description")).to_have_value("Changed elsewhere")
    await name.fill("Logins")
    await name.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text(
        "Saved (version 3)."
    )


async def test_a_file_that_is_not_an_export_is_refused_with_a_reason(
    ui: UiSession, tmp_path: Path
) -> None:
    page = ui.page
    await ui.open("/#/templates")
    upload = page.locator("wb-import-button input[type=file]")
    (tmp_path / "notes.json").write_text("this is not json")
    await upload.set_input_files(str(tmp_path / "notes.json"))
    await expect(page.get_by_role("alert")).to_contain_text("notes.json is not a JSON file")
    (tmp_path / "other.json").write_text('{"kind": "report"}')
    await upload.set_input_files(str(tmp_path / "other.json"))
    await expect(page.get_by_role("alert")).to_contain_text("Not an export of Wallboard")


async def test_the_wizard_finds_objects_through_the_object_search(ui: UiSession) -> None:
    if not await has_object_search(ui):
        pytest.skip("this build has no object search (GET …/objects)")
    await api_send(ui, "POST", "/dashboards", {"uid": "search", "name": "Search"})
    await ui.feed(
        [
            ("queue", "q-sales", "queue.calls_waiting", 4),
            ("queue", "q-support", "queue.calls_waiting", 1),
        ]
    )
    await ui.open("/#/dashboards/search/add-widget")
    wizard = dialog(ui, "Add a widget")
    await wizard.get_by_role("button", name=re.compile("^Queue KPIs")).click()
    await wizard.get_by_label("Search queues").fill("SAL")
    found = wizard.get_by_role("list", name="Found objects")
    await expect(found.get_by_role("checkbox")).to_have_count(1)
    await found.get_by_label("q-sales").check()
    await expect(wizard.get_by_role("list", name="Chosen queues")).to_contain_text("q-sales")
    await expect(wizard.get_by_role("note")).to_have_count(0)


async def test_the_wizard_makes_a_static_text_and_escape_closes_it(ui: UiSession) -> None:
    page = ui.page
    await api_send(ui, "POST", "/dashboards", {"uid": "notes", "name": "Notes"})
    await ui.open("/#/dashboards/notes/add-widget")
    wizard = dialog(ui, "Add a widget")
    await expect(wizard.get_by_label("Find a template")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(wizard).to_be_hidden()
    await expect(page).to_have_url(re.compile(r"#/dashboards/notes$"))

    await page.get_by_role("link", name="Add widget").click()
    await wizard.get_by_label("Find a template").fill("static")
    await wizard.get_by_role("button", name=re.compile("^Static Text")).click()
    radios = wizard.get_by_role("radio")
    await expect(radios).to_have_count(2)  # a template without statistics: text or web page
    await expect(wizard.get_by_role("radio", name=re.compile("^Static text"))).to_be_checked()
    await wizard.get_by_role("button", name="Next").click()
    await wizard.get_by_label("Text").fill("Stand-up at 9:30")
    await expect(wizard.get_by_role("figure", name="Preview")).to_contain_text("Stand-up at 9:30")
    await wizard.get_by_role("button", name="Add widget").click()
    await expect(wizard).to_be_hidden()
    [widget] = (await api_get(ui, "/dashboards/notes"))["widgets"]
    assert (widget["displayType"], widget["templateUid"]) == ("static_text", None)
    assert widget["options"]["text"] == "Stand-up at 9:30"
    assert widget["position"] == {"x": 0, "y": 0, "w": 24, "h": 2}


async def test_a_template_is_edited_and_one_created_and_deleted(ui: UiSession) -> None:
    page = ui.page
    await ui.open("/")
    await page.get_by_role("link", name="Templates").click()
    await page.get_by_role("link", name="Queue KPIs", exact=True).click()
    await expect(page.get_by_role("heading", name="Queue KPIs")).to_be_visible()
    await page.get_by_label("Alias of queue.calls_waiting").fill("In queue")
    await page.get_by_label("Warning of queue.calls_waiting").fill("4")
    await page.get_by_label("Format of queue.offered").select_option("number")
    await page.get_by_label("Warning of queue.longest_wait").fill("90")  # seconds
    await page.get_by_label("Name").press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text(
        "Saved (version 2)."
    )
    template = await api_get(ui, "/templates/queue-kpis")
    by_ref = {s["ref"]: s for s in template["statistics"]}
    assert by_ref["queue.calls_waiting"]["alias"] == "In queue"
    assert by_ref["queue.calls_waiting"]["thresholds"]["warning"] == 4
    assert by_ref["queue.calls_waiting"]["thresholds"]["critical"] == 10
    assert by_ref["queue.offered"]["format"] == "number"
    assert by_ref["queue.longest_wait"]["thresholds"]["warning"] == 90_000
    assert template["edited"] is True

    await page.get_by_role("link", name="Back to templates").click()
    await page.get_by_role("link", name="New template").click()
    await page.get_by_label("Id (optional)").fill("my-queues")
    await page.get_by_label("Name").fill("My queues")
    await page.get_by_role("button", name="Add statistic").click()
    await page.get_by_label("Statistic 1", exact=True).fill("queue.offered")
    await page.get_by_label("Alias of queue.offered").fill("Offered")
    await page.get_by_role("button", name="Create template").click()
    await expect(page).to_have_url(re.compile(r"#/templates/my-queues$"))
    created = await api_get(ui, "/templates/my-queues")
    assert created["statistics"] == [
        {
            "ref": "queue.offered",
            "definition": None,
            "alias": "Offered",
            "format": None,
            "thresholds": None,
        }
    ]

    await page.get_by_role("link", name="Back to templates").click()
    await page.get_by_role("button", name="Delete My queues").click()
    await page.get_by_role("button", name="Yes, delete").click()
    await expect(page.get_by_role("link", name="My queues")).to_have_count(0)


async def test_export_then_import_gives_back_the_same_documents(
    ui: UiSession, tmp_path: Path
) -> None:
    page = ui.page
    await ui.open("/")
    card = page.locator(".dashboard-card", has_text="Contact center overview")
    async with page.expect_download() as download_info:
        await card.get_by_role("button", name="Export Contact center overview").click()
    download = await download_info.value
    assert download.suggested_filename == "demo-dashboard.dashboard.json"
    exported = read_json(await download.path())
    assert exported == await api_get(ui, "/dashboards/demo-dashboard/export")

    # Into a tenant that lacks it: delete it, import the file, export again.
    await card.get_by_role("button", name="Settings of Contact center overview").click()
    await dialog(ui, "Dashboard settings").get_by_role("button", name="Delete…").click()
    await dialog(ui, "Dashboard settings").get_by_role("button", name="Yes, delete").click()
    await expect(card).to_have_count(0)
    file = tmp_path / "board.json"
    file.write_text(json.dumps(exported))
    await page.locator("wb-import-button input[type=file]").set_input_files(str(file))
    await expect(page.get_by_role("status").filter(has_text="Imported")).to_contain_text(
        "Imported dashboard “Contact center overview”"
    )
    await expect(card).to_have_count(1)
    assert await api_get(ui, "/dashboards/demo-dashboard/export") == exported

    # Again: the uid exists (409); replacing it keeps the same document.
    await page.locator("wb-import-button input[type=file]").set_input_files(str(file))
    await expect(page.get_by_role("alert")).to_contain_text("exists already")
    expect_refusals(ui, 409)
    await page.get_by_role("button", name="Replace it").click()
    await expect(page.get_by_role("status").filter(has_text="Imported")).to_be_visible()
    assert await api_get(ui, "/dashboards/demo-dashboard/export") == exported

    # A template the same way, from the templates page.
    await api_send(
        ui,
        "POST",
        "/templates",
        {
            "uid": "waits",
            "name": "Waits",
            "objectTypes": ["queue"],
            "defaultDisplayType": "kpi",
            "statistics": [
                {"ref": "queue.longest_wait", "alias": "Longest", "thresholds": {"warning": 30000}}
            ],
        },
    )
    await ui.open("/#/templates")
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export Waits").click()
    template_file = Path(await (await download_info.value).path())
    exported_template = read_json(template_file)
    await page.get_by_role("button", name="Delete Waits").click()
    await page.get_by_role("button", name="Yes, delete").click()
    await expect(page.get_by_role("link", name="Waits")).to_have_count(0)
    await page.locator("wb-import-button input[type=file]").set_input_files(str(template_file))
    await expect(page.get_by_role("link", name="Waits")).to_be_visible()
    assert await api_get(ui, "/templates/waits/export") == exported_template


async def test_a_used_template_is_not_deleted_and_says_why(ui: UiSession) -> None:
    page = ui.page
    await ui.open("/#/templates")
    await page.get_by_role("button", name="Delete Queue KPIs", exact=True).click()
    await page.get_by_role("button", name="Yes, delete").click()
    await expect(page.get_by_role("alert")).to_contain_text("“Queue KPIs” is not deleted")
    expect_refusals(ui, 409)
    await expect(page.get_by_role("link", name="Queue KPIs", exact=True)).to_be_visible()


async def test_the_editors_work_from_the_keyboard(ui: UiSession) -> None:
    page = ui.page
    await ui.open("/")
    await expect(page.locator(".dashboard-card").first).to_be_visible()
    new = page.get_by_role("button", name="New dashboard")
    for _ in range(20):  # Tab through the header to the button
        if await new.evaluate("element => element === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await expect(new).to_be_focused()
    await page.keyboard.press("Enter")
    form = dialog(ui, "New dashboard")
    await expect(form.get_by_label("Name")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(form).to_be_hidden()
    await expect(new).to_be_focused()  # the focus is back on the button

    await page.keyboard.press("Enter")
    await expect(form.get_by_label("Name")).to_be_focused()
    await page.keyboard.type("By keyboard")
    await page.keyboard.press("Tab")  # description
    await page.keyboard.type("Typed, never clicked")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"#/dashboards/[0-9a-f]{32}$"))
    created = await api_get(ui, f"/dashboards/{page.url.rsplit('/', 1)[1]}")
    assert (created["name"], created["description"]) == ("By keyboard", "Typed, never clicked")


async def test_the_wizard_offers_only_the_display_types_the_template_allows(ui: UiSession) -> None:
    await api_send(ui, "POST", "/dashboards", {"uid": "floor", "name": "Floor"})
    states = {
        "uid": "states",
        "name": "States only",
        "objectTypes": ["agent"],
        "defaultDisplayType": "list",
        "statistics": [{"ref": "agent.status", "alias": "Status"}],
    }
    await api_send(ui, "POST", "/templates", states)
    await ui.open("/#/dashboards/floor/add-widget")
    wizard = dialog(ui, "Add a widget")
    await wizard.get_by_role("button", name=re.compile("^States only")).click()
    await wizard.get_by_role("button", name="Display").click()
    radios = wizard.get_by_role("radio")
    # Statuses are no numbers: no charts.
    await expect(radios).to_have_text(
        [re.compile(rf"^\s*{t}\b") for t in ("KPI", "List", "Grid", "Alert list")]
    )
    await expect(wizard.get_by_role("radio", name=re.compile("^List"))).to_be_checked()

    await wizard.get_by_role("button", name="Template").click()
    await wizard.get_by_role("button", name=re.compile("^Queue KPIs")).click()
    await wizard.get_by_role("button", name="Display").click()
    await expect(radios).to_have_count(7)
    await expect(wizard.get_by_role("radio", name=re.compile("^Grid"))).to_be_checked()
