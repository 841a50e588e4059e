"""Configuration from what other parts of Wallboard already know: the simulator's scenarios and
the objects an adapter's recorded data names. Both give objects to import (``wallboard config
from-scenario``, ``wallboard config discover``), and the demo loads its configuration this way.
"""

from __future__ import annotations

from collections.abc import Iterable

from wallboard.config.schemas import (
    AccessGroupAttributes,
    AgentAttributes,
    AgentGroupAttributes,
    ConfigType,
    FolderAttributes,
    NoAttributes,
    ObjectData,
    QueueAttributes,
    QueueGroupAttributes,
)
from wallboard.config.service import export_order
from wallboard.core.events import AgentLogin, AgentQueuesChanged, Event
from wallboard.sim.scenario import Scenario, Tenant

EVERYTHING = "everything"
"""The access group that sees every object (members: the demo's administrator)."""
ADMIN_USER = "admin"
SUPERVISOR_USER = "supervisor"


def team_folder(group: str) -> str:
    """The folder of a scenario's team (its floor)."""
    return f"floor-{group}"


def supervisors_group(group: str) -> str:
    return f"{team_folder(group)}-supervisors"


def _obj(
    kind: ConfigType,
    name: str,
    attributes: object,
    *,
    display: str | None = None,
    folder: str | None = None,
) -> ObjectData:
    return ObjectData.model_validate(
        {
            "type": kind,
            "name": name,
            "display_name": display or name,
            "folder": folder,
            "attributes": attributes,
        }
    )


def tenant_objects(tenant: Tenant) -> list[ObjectData]:
    """One simulated tenant as configuration objects.

    A folder per team (``floor-<group>``) holds the team's agents, its agent group and the
    queues it serves best (highest skill level), with their routing points and virtual queues;
    a queue group ``all-queues`` and the skills sit at the root. Access group ``everything``
    gives every object to ``admin``; ``floor-<first team>-supervisors`` gives the first team's
    floor to ``supervisor``.
    """
    objects: list[ObjectData] = []
    skills: set[str] = set()
    for group in tenant.groups:
        folder = team_folder(group.id)
        objects.append(
            _obj(ConfigType.FOLDER, folder, FolderAttributes(), display=f"Floor {group.id}")
        )
        skills.update(group.skills)
        agents = group.agent_ids()
        objects.extend(
            _obj(ConfigType.AGENT, agent, AgentAttributes(skills=dict(group.skills)), folder=folder)
            for agent in agents
        )
        objects.append(
            _obj(
                ConfigType.AGENT_GROUP,
                group.id,
                AgentGroupAttributes(agents=agents),
                display=f"Team {group.id}",
                folder=folder,
            )
        )
    for queue in tenant.queues:
        skill = queue.skill or queue.id
        skills.add(skill)
        best = max(tenant.groups, key=lambda g: g.skills.get(skill, -1), default=None)
        home = team_folder(best.id) if best is not None and skill in best.skills else None
        objects.append(_obj(ConfigType.QUEUE, queue.id, QueueAttributes(skill=skill), folder=home))
        if queue.routing_point is not None:
            objects.append(
                _obj(ConfigType.ROUTING_POINT, queue.routing_point, NoAttributes(), folder=home)
            )
        if queue.virtual_queue is not None:
            objects.append(
                _obj(ConfigType.VIRTUAL_QUEUE, queue.virtual_queue, NoAttributes(), folder=home)
            )
    objects.extend(_obj(ConfigType.SKILL, skill, NoAttributes()) for skill in sorted(skills))
    objects.append(
        _obj(
            ConfigType.QUEUE_GROUP,
            "all-queues",
            QueueGroupAttributes(
                queues=[q.id for q in tenant.queues],
                routing_points=sorted({q.routing_point for q in tenant.queues if q.routing_point}),
            ),
            display="All queues",
        )
    )
    objects.append(
        _obj(
            ConfigType.ACCESS_GROUP,
            EVERYTHING,
            AccessGroupAttributes(members=[ADMIN_USER], all_objects=True),
            display="Every object",
        )
    )
    if tenant.groups:
        first = tenant.groups[0].id
        objects.append(
            _obj(
                ConfigType.ACCESS_GROUP,
                supervisors_group(first),
                AccessGroupAttributes(members=[SUPERVISOR_USER], folders=[team_folder(first)]),
                display=f"Supervisors of floor {first}",
            )
        )
    return export_order(objects)


def scenario_objects(scenario: Scenario) -> dict[str, list[ObjectData]]:
    """Each tenant of a scenario as configuration objects (:func:`tenant_objects`)."""
    return {tenant.id: tenant_objects(tenant) for tenant in scenario.tenants}


def discovered_objects(events: Iterable[Event]) -> list[ObjectData]:
    """The agents and queues events name, as an adapter translated them from a platform's
    recorded data: every agent (with the DNs it logged in at), every queue (with the agents
    that were ever its members: an Asterisk ``ADDMEMBER``, a Connect routing profile's
    queues), and routing points. Only what the data says; nothing is filed in folders."""
    agents: dict[str, set[str]] = {}
    queues: dict[str, set[str]] = {}
    points: set[str] = set()
    for event in events:
        agent = getattr(event, "agent", None)
        if isinstance(agent, str):
            dns = agents.setdefault(agent, set())
            if isinstance(event, AgentLogin) and event.dn:
                dns.add(event.dn)
        queue = getattr(event, "queue", None)
        if isinstance(queue, str):
            queues.setdefault(queue, set())
        if isinstance(event, AgentLogin | AgentQueuesChanged):
            for member_of in event.queues:
                queues.setdefault(member_of, set()).add(event.agent)
        point = getattr(event, "routing_point", None)
        if isinstance(point, str):
            points.add(point)
    objects = [
        _obj(ConfigType.AGENT, agent, AgentAttributes(dns=sorted(dns)))
        for agent, dns in agents.items()
    ]
    objects += [
        _obj(ConfigType.QUEUE, queue, QueueAttributes(agents=sorted(members)))
        for queue, members in queues.items()
    ]
    objects += [_obj(ConfigType.ROUTING_POINT, point, NoAttributes()) for point in points]
    return export_order(objects)
