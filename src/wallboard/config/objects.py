"""A tenant's configuration as the statistics engine's :class:`ObjectConfig`: agent groups with
their static members plus the agents their skill expression selects, queue groups, queues.

The collector computes group statistics with it and the web tier expands group selections and
searches objects with it, so both count the same members.
"""

from __future__ import annotations

from collections.abc import Iterable

from wallboard.config.schemas import (
    AgentAttributes,
    AgentGroupAttributes,
    ObjectData,
    QueueAttributes,
    QueueGroupAttributes,
)
from wallboard.config.skills import parse_skill_expression
from wallboard.stats.state import GroupConfig, ObjectConfig, QueueConfig, QueueGroupConfig


def object_config(objects: Iterable[ObjectData]) -> ObjectConfig:
    """The engine's view of one tenant's objects (every list sorted, so equal configurations
    compare equal)."""
    skills: dict[str, dict[str, int]] = {}
    agent_groups: dict[str, AgentGroupAttributes] = {}
    queue_groups: dict[str, QueueGroupConfig] = {}
    queues: dict[str, QueueConfig] = {}
    for data in objects:
        attributes = data.attributes
        if isinstance(attributes, AgentAttributes):
            skills[data.name] = dict(attributes.skills)
        elif isinstance(attributes, AgentGroupAttributes):
            agent_groups[data.name] = attributes
        elif isinstance(attributes, QueueGroupAttributes):
            queue_groups[data.name] = QueueGroupConfig(
                queues=tuple(sorted(set(attributes.queues))),
                routing_points=tuple(sorted(set(attributes.routing_points))),
                groups=tuple(sorted(set(attributes.groups))),
            )
        elif isinstance(attributes, QueueAttributes):
            queues[data.name] = QueueConfig(
                agents=tuple(sorted(set(attributes.agents))),
                skill=attributes.skill,
                threshold_s=attributes.threshold_s,
            )
    groups: dict[str, GroupConfig] = {}
    for name, group in agent_groups.items():
        members = set(group.agents)
        if group.skill_expression is not None:
            expression = parse_skill_expression(group.skill_expression)
            members.update(agent for agent, levels in skills.items() if expression.matches(levels))
        groups[name] = GroupConfig(
            agents=tuple(sorted(members)), groups=tuple(sorted(set(group.groups)))
        )
    return ObjectConfig(agent_groups=groups, queue_groups=queue_groups, queues=queues)
