"""The configured objects the web tier knows: the collector's object configuration
(``WALLBOARD_COLLECTOR_OBJECTS``: per tenant its agent groups, queue groups and queues), read
once at start. Group selections of widgets are expanded with it, so a widget shows the same
members the collector counts in the group."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import msgspec

from wallboard.core.errors import ConfigError
from wallboard.inputs import load_yaml_file
from wallboard.settings import Settings
from wallboard.stats.state import ObjectConfig, flatten_groups


def load_object_config(settings: Settings) -> dict[str, ObjectConfig]:
    """Each tenant's configured objects from ``WALLBOARD_COLLECTOR_OBJECTS`` ({} when unset);
    ConfigError names the file when it is not valid."""
    if not settings.collector_objects or settings.collector_objects == "database":
        return {}  # "database": the configuration objects, followed (wallboard.config)
    document = load_yaml_file(Path(settings.collector_objects), "WALLBOARD_COLLECTOR_OBJECTS")
    try:
        return dict(msgspec.convert(document or {}, type=dict[str, ObjectConfig]))
    except msgspec.ValidationError as exc:
        raise ConfigError(f"WALLBOARD_COLLECTOR_OBJECTS: {exc}") from None


def group_members(config: ObjectConfig | None, object_type: str, group: str) -> list[str] | None:
    """The agents of an agent group (``object_type`` agent) or the queues of a queue group
    (``queue``), sub-groups included, sorted; None when the configuration does not name the
    group (its members are unknown here)."""
    if config is None:
        return None
    if object_type == "agent":
        if group not in config.agent_groups:
            return None
        agents = flatten_groups({n: (g.agents, g.groups) for n, g in config.agent_groups.items()})
        return sorted(agents[group])
    if group not in config.queue_groups:
        return None
    queues = flatten_groups({n: (g.queues, g.groups) for n, g in config.queue_groups.items()})
    return sorted(queues[group])


def configured_objects(config: ObjectConfig | None) -> Iterator[tuple[str, str]]:
    """Every (object type, object id) the configuration names, groups and members alike."""
    if config is None:
        return
    for name, agent_group in config.agent_groups.items():
        yield "agent_group", name
        for agent in agent_group.agents:
            yield "agent", agent
    for name, queue_group in config.queue_groups.items():
        yield "queue_group", name
        for queue in queue_group.queues:
            yield "queue", queue
        for point in queue_group.routing_points:
            yield "routing_point", point
    for name, queue_config in config.queues.items():
        yield "queue", name
        for agent in queue_config.agents:
            yield "agent", agent


def tenant_config(objects: Mapping[str, ObjectConfig], tenant: str) -> ObjectConfig | None:
    return objects.get(tenant)
