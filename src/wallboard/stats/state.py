"""The contact-center state the engine keeps per tenant: agents, contacts, queue contents.

Plain msgspec Structs so a snapshot is just their encoding. Everything here is state of the
contact center (who is talking, which calls wait where), not of statistics.
"""

from __future__ import annotations

import msgspec


class MediaState(msgspec.Struct, gc=False):
    """An agent's state on one media. ``base`` comes from agent events (ready, not ready, ACW,
    logged out); ``contacts`` from contact events (contact id → ringing/talking/held); the
    effective ``status`` is the contact state when there is one, else ``base``."""

    base: str
    reason: str | None
    status: str
    status_reason: str | None
    since: int
    contacts: dict[str, str] = {}


class AgentState(msgspec.Struct):
    logged_in: bool = False
    login_ts: int = -1
    dnd: bool = False
    dnd_since: int = -1
    media: dict[str, MediaState] = {}
    capacity: dict[str, int] = {}
    # Queues named by the agent's login (``AgentLogin.queues``); cleared at logout.
    queues: tuple[str, ...] = ()


class Leg(msgspec.Struct, gc=False):
    """One agent's part in a contact."""

    status: str  # ringing, talking, held
    rang: int  # when it started ringing (-1: never rang)
    answered: int = -1
    hold_since: int = -1


class ContactState(msgspec.Struct):
    """A call or interaction while it lives. ``queue`` is where it waits now (None when not
    waiting); ``answered_from`` the queue it was answered from, for outcomes after the answer."""

    media: str
    direction: str
    data: dict[str, str] = {}
    queue: str | None = None
    queue_type: str = "queue"
    entered: int = -1
    answered_from: str | None = None
    answered_type: str = "queue"
    answered_entered: int = -1
    answered_at: int = -1
    legs: dict[str, Leg] = {}
    # Configured skill of the last ACD queue entered, for skill filters when the contact's
    # attached data carries no ``skill``.
    skill: str | None = None


class TenantState(msgspec.Struct):
    agents: dict[str, AgentState] = {}
    calls: dict[str, ContactState] = {}
    interactions: dict[str, ContactState] = {}
    # object type (queue, routing_point, virtual_queue) → id → media → status → contact → since
    queues: dict[str, dict[str, dict[str, dict[str, dict[str, int]]]]] = {}
    # virtual queue waits: "vq\x1fcontact" → since
    vq_entries: dict[str, int] = {}


class ObjectConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Group membership from configuration. A group's members are its agents plus the members
    of its sub-groups; an agent reached twice counts once."""

    agent_groups: dict[str, GroupConfig] = {}
    queue_groups: dict[str, QueueGroupConfig] = {}
    queues: dict[str, QueueConfig] = {}


class QueueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An ACD queue's configured agents (members besides those whose login names the queue)
    and skill (used by skill filters when a contact's attached data has no ``skill``)."""

    agents: tuple[str, ...] = ()
    skill: str | None = None


class GroupConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agents: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


class QueueGroupConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    queues: tuple[str, ...] = ()
    routing_points: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


def flatten_groups(
    groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> dict[str, frozenset[str]]:
    """Members of each group (direct members plus sub-groups', cycles tolerated)."""
    resolved: dict[str, frozenset[str]] = {}

    def visit(name: str, path: frozenset[str]) -> frozenset[str]:
        if name in resolved:
            return resolved[name]
        direct, subgroups = groups.get(name, ((), ()))
        members = set(direct)
        for sub in subgroups:
            if sub not in path:
                members |= visit(sub, path | {sub})
        result = frozenset(members)
        if not path - {name}:
            resolved[name] = result
        return result

    for name in groups:
        resolved[name] = visit(name, frozenset({name}))
    return resolved
