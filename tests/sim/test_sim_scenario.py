"""Scenario files: the documented example works, and mistakes are named precisely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallboard.core.errors import InvalidInput
from wallboard.sim.batch import run_batch
from wallboard.sim.scenario import load_scenario, parse_scenario

DOCS = Path(__file__).parents[2] / "docs" / "simulator.md"


def documented_example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_documented_example_loads_and_runs(tmp_path: Path) -> None:
    path = DOCS.parent / "simulator-example.yaml"
    scenario = parse_scenario(yaml.safe_load(documented_example()), base_dir=str(DOCS.parent))
    assert [q.id for q in scenario.tenants[0].queues] == ["retail", "loans", "web-chat"]
    summary = run_batch(scenario, seed=1, hours=9, out=tmp_path)
    assert summary.events > 1000
    assert summary.contacts > 500
    assert not path.exists()


def test_load_scenario_reads_a_file_relative_to_itself(tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures"
    (tmp_path / "s.yaml").write_text(
        "name: x\n"
        "profiles:\n"
        f"  bank: {{csv: {fixtures / 'bank_calls_excerpt.csv'}}}\n"
        "tenants:\n"
        "  - id: t\n"
        "    queues: [{id: q, arrivals: {per_hour: 60, profile: bank}, handle_time: {mean: 60}}]\n"
        "    groups: [{id: g, agents: 2, skills: {q: 1}}]\n",
        encoding="utf-8",
    )
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.tenants[0].groups[0].agents == 2


BASE: dict[str, Any] = {
    "name": "x",
    "tenants": [
        {
            "id": "t",
            "queues": [
                {"id": "q", "arrivals": {"per_hour": 10}, "handle_time": {"mean": 60}},
                {"id": "c", "media": "chat", "handle_time": {"mean": 60}},
            ],
            "groups": [{"id": "g", "agents": 2, "skills": {"q": 1}}],
        }
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(BASE)
    target: Any = data
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("tenants.0.queues.0.media", "fax", "tenants[0].queues[0].media", "fax"),
        ("tenants.0.queues.0.handle_time", {"mean": -1}, "tenants[0].queues[0].handle_time.mean", ">= 0"),
        ("tenants.0.queues.0.handle_time", {"dist": "lognormal", "mean": 5}, "tenants[0].queues[0].handle_time.sd", "sd"),
        ("tenants.0.queues.0.colour", "red", "tenants[0].queues[0]", "colour"),
        ("tenants.0.queues.0.arrivals", {"per_hour": 5, "profile": "nope"}, "tenants[0].queues[0].arrivals.profile", "unknown profile"),
        ("tenants.0.queues.0.transfer", {"probability": 0.1, "to": ["zz"]}, "tenants[0].queues[0].transfer.to[0]", "unknown queue"),
        ("tenants.0.queues.0.transfer", {"probability": 0.1, "to": ["c"]}, "tenants[0].queues[0].transfer.to[0]", "not a voice queue"),
        ("tenants.0.queues.1.hold", {"probability": 0.1, "duration": {"mean": 1}}, "tenants[0].queues[1].hold", "only voice"),
        ("tenants.0.queues.1.id", "q", "tenants[0].queues[1].id", "twice"),
        ("tenants.0.queues.1.max_waiting", 3, "tenants[0].queues[1].max_waiting", "only voice"),
        ("tenants.0.queues.0.max_waiting", -1, "tenants[0].queues[0].max_waiting", ">= 0"),
        ("tenants.0.queues.1.max_wait", 30, "tenants[0].queues[1].max_wait", "only voice"),
        ("tenants.0.groups.0.capacity", {"voice": 2}, "tenants[0].groups[0].capacity.voice", "one call"),
        ("tenants.0.groups.0.agents", 0, "tenants[0].groups[0].agents", ">= 1"),
        ("tenants.0.groups.0.shift", {"start": 5, "end": 2}, "tenants[0].groups[0].shift.end", "ends after"),
        ("tenants.0.groups.0.shifts", [{"start": 0, "end": 8, "agents": 1}], "tenants[0].groups[0].shifts", "add up to 2"),
        ("tenants.0.groups.0.shifts", [{"start": 0, "end": 8, "agents": 1}, {"start": 1}], "tenants[0].groups[0].shifts[1].agents", "how many"),
        ("tenants.0.groups.0.shifts", [{"start": 3, "end": 1, "agents": 2}], "tenants[0].groups[0].shifts[0].end", "ends after"),
        ("start", "2026-01-05T08:00:00", "start", "time zone"),
    ],
)  # fmt: skip
def test_errors_name_the_field(path: str, value: Any, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_scenario(_with(path, value))
    assert caught.value.message.startswith(field), caught.value.message
    assert words in caught.value.message


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.yaml: not valid YAML"):
        load_scenario(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="mapping"):
        load_scenario(bad)
    bad.write_text("name: x\ntenants: []\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad.yaml: tenants"):
        load_scenario(bad)
