"""The rules that span objects: what an object names must exist (its folder, a folder's parent,
a group's members and sub-groups, a queue's agents, an access group's folders and objects), and
folders and groups must not contain themselves.

Checked on every write against the tenant's whole configuration as it would be after the write
(cheap: a tenant has thousands of objects, not millions); an import is checked once, as a whole.
User names (access group members) and skills are not objects that must exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from wallboard.config.schemas import (
    AccessGroupAttributes,
    AgentGroupAttributes,
    ConfigType,
    FolderAttributes,
    ObjectData,
    QueueAttributes,
    QueueGroupAttributes,
)
from wallboard.web.errors import FieldError, Loc

Key = tuple[str, str]
State = Mapping[Key, ObjectData]


def references(data: ObjectData) -> Iterator[tuple[Loc, str, str]]:
    """Every object ``data`` names: (where in the object, type, name)."""
    if data.folder is not None:
        yield ("folder",), ConfigType.FOLDER, data.folder
    attributes = data.attributes
    if isinstance(attributes, FolderAttributes) and attributes.parent is not None:
        yield ("attributes", "parent"), ConfigType.FOLDER, attributes.parent
    elif isinstance(attributes, AgentGroupAttributes):
        for index, agent in enumerate(attributes.agents):
            yield ("attributes", "agents", index), ConfigType.AGENT, agent
        for index, group in enumerate(attributes.groups):
            yield ("attributes", "groups", index), ConfigType.AGENT_GROUP, group
    elif isinstance(attributes, QueueAttributes):
        for index, agent in enumerate(attributes.agents):
            yield ("attributes", "agents", index), ConfigType.AGENT, agent
    elif isinstance(attributes, QueueGroupAttributes):
        for index, queue in enumerate(attributes.queues):
            yield ("attributes", "queues", index), ConfigType.QUEUE, queue
        for index, point in enumerate(attributes.routing_points):
            yield ("attributes", "routing_points", index), ConfigType.ROUTING_POINT, point
        for index, group in enumerate(attributes.groups):
            yield ("attributes", "groups", index), ConfigType.QUEUE_GROUP, group
    elif isinstance(attributes, AccessGroupAttributes):
        for index, folder in enumerate(attributes.folders):
            yield ("attributes", "folders", index), ConfigType.FOLDER, folder
        for index, ref in enumerate(attributes.objects):
            yield ("attributes", "objects", index), ref.type, ref.name


def _contained(data: ObjectData) -> list[tuple[str, Loc]]:
    """The same-type objects ``data`` contains (a folder's parent contains it: reversed)."""
    attributes = data.attributes
    if isinstance(attributes, AgentGroupAttributes | QueueGroupAttributes):
        return [(group, ("attributes", "groups", i)) for i, group in enumerate(attributes.groups)]
    if isinstance(attributes, FolderAttributes) and attributes.parent is not None:
        return [(attributes.parent, ("attributes", "parent"))]
    return []


def _check_cycle(state: State, data: ObjectData, loc: Loc) -> None:
    # Depth-first from the object along its sub-groups (or parents): reaching it again is a
    # cycle. Bounded by the tenant's objects of the type.
    for start, where in _contained(data):
        stack = [start]
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name == data.name:
                raise FieldError(
                    (*loc, *where),
                    f"{data.type.value} {data.name!r} would contain itself (through {start!r})",
                )
            if name in seen:
                continue
            seen.add(name)
            other = state.get((data.type.value, name))
            if other is not None:
                stack.extend(contained for contained, _ in _contained(other))


def check_references(
    state: State, changed: Iterable[ObjectData], loc_of: Callable[[Key], Loc]
) -> None:
    """Each changed object's references exist in ``state`` (the configuration after the
    change, the changed objects included) and no folder or group contains itself."""
    for data in changed:
        loc = loc_of(data.key)
        for where, kind, name in references(data):
            if (str(kind), name) not in state:
                raise FieldError(
                    (*loc, *where), f"{kind} {name!r} does not exist in the configuration"
                )
        _check_cycle(state, data, loc)


def referrers(state: State, key: Key) -> list[Key]:
    """The objects of ``state`` that name ``key`` (which must not be deleted while they do)."""
    return sorted(
        other.key
        for other in state.values()
        if other.key != key and any((str(kind), name) == key for _, kind, name in references(other))
    )
