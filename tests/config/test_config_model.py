"""Skill expressions and the engine's view of a configuration: members selected by skills,
groups and queues as the collector counts them."""

from __future__ import annotations

import pytest

from wallboard.config.objects import object_config
from wallboard.config.schemas import check_object
from wallboard.config.skills import parse_skill_expression
from wallboard.core.errors import InvalidInput
from wallboard.stats import GroupConfig, ObjectConfig, QueueConfig, QueueGroupConfig
from wallboard.web.errors import FieldError


@pytest.mark.parametrize(
    ("text", "skills", "expected"),
    [
        ("sales", {"sales": 0}, True),
        ("sales", {}, False),
        ("sales >= 5", {"sales": 5}, True),
        ("sales>=5", {"sales": 4}, False),
        ("sales > 5 | english", {"english": 1}, True),
        ("sales >= 5 & english", {"sales": 9}, False),
        ("sales >= 5 & english", {"sales": 9, "english": 0}, True),
        ("!sales", {}, True),
        ("!(sales | loans) & english", {"english": 2, "loans": 1}, False),
        ("sales = 3", {"sales": 3}, True),
        ("sales == 3 & loans != 2", {"sales": 3, "loans": 2}, False),
        ("a | b & c", {"a": 1}, True),  # & binds tighter than |
        ("(a | b) & c", {"a": 1}, False),
        ("sales < 3", {}, False),  # no skill: every comparison on it fails
    ],
)
def test_skill_expressions_select_agents(text: str, skills: dict[str, int], expected: bool) -> None:
    assert parse_skill_expression(text).matches(skills) is expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("sales >=", "ends too early"),
        ("sales >= high", "expected a level"),
        ("(sales", "not closed"),
        ("sales english", "unexpected 'english'"),
        ("sales $ 3", "unexpected '$"),
        ("& sales", "expected a skill name"),
        ("(" * 60 + "a" + ")" * 60, "nested too deeply"),
    ],
)
def test_wrong_skill_expressions_say_why(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_skill_expression(text)
    assert says in raised.value.message


def test_the_engine_configuration_resolves_skill_groups() -> None:
    raw = [
        {"type": "agent", "name": "ann", "attributes": {"skills": {"sales": 8, "english": 1}}},
        {"type": "agent", "name": "bob", "attributes": {"skills": {"sales": 3}}},
        {"type": "agent", "name": "cid", "attributes": {"skills": {"loans": 9}}},
        {
            "type": "agent_group",
            "name": "sales-experts",
            "attributes": {"agents": ["cid"], "skill_expression": "sales >= 5 & english"},
        },
        {"type": "agent_group", "name": "all", "attributes": {"groups": ["sales-experts"]}},
        {
            "type": "queue",
            "name": "q1",
            "attributes": {"agents": ["bob", "ann", "bob"], "threshold_s": 30},
        },
        {"type": "queue_group", "name": "qs", "attributes": {"queues": ["q1"]}},
        {"type": "folder", "name": "f"},
        {"type": "access_group", "name": "everything", "attributes": {"all_objects": True}},
    ]
    config = object_config(check_object(item, ("objects", i)) for i, item in enumerate(raw))
    assert config == ObjectConfig(
        agent_groups={
            "sales-experts": GroupConfig(agents=("ann", "cid")),
            "all": GroupConfig(groups=("sales-experts",)),
        },
        queue_groups={"qs": QueueGroupConfig(queues=("q1",))},
        queues={"q1": QueueConfig(agents=("ann", "bob"), threshold_s=30.0)},
    )


def test_an_object_is_checked_field_by_field() -> None:
    with pytest.raises(FieldError) as raised:
        check_object({"type": "folder", "name": "f", "attributes": {"parent": ""}}, ("objects", 2))
    assert raised.value.loc == ("objects", 2, "attributes", "parent")
    with pytest.raises(FieldError) as raised:
        check_object(["agent"], ("objects", 0))
    assert raised.value.loc == ("objects", 0)
    data = check_object({"type": "skill", "name": "sales", "displayName": "  Sales  "}, ())
    assert data.display_name == "Sales"
