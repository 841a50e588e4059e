"""The contact-center state the engine keeps per tenant: agents, contacts, queue contents.

Plain classes (extension types when compiled: ``state.pxd``) whose ``state()`` is what a
snapshot keeps (:func:`encode_state`, :func:`decode_state`). Everything here is state of
the contact center (who is talking, which calls wait where), not of statistics — except that
an agent carries the engine's node and routes for it (``AgentState.node``, ``.routes``, and
each of its media the status route: ``MediaState.route``), and a contact the routes and
contents of its queues (``waiting_in``, ``waiting_routes``, ``answered_in``,
``answered_routes``): derived, rebuilt on use, never in a snapshot, and kept here so that an
event reaches them through the agent or contact it names instead of more lookups by id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec

if TYPE_CHECKING:
    from wallboard.stats import _shadow as cython
    from wallboard.stats.engine import Node, Routes, StatusRoute
else:
    try:
        import cython
    except ImportError:  # running as Python without Cython
        from wallboard.stats import _shadow as cython


@cython.no_gc
@cython.cclass
class MediaState:
    """An agent's state on one media. ``base`` comes from agent events (ready, not ready, ACW,
    logged out); ``contacts`` from contact events (contact id → ringing/talking/held); the
    effective ``status`` is the contact state when there is one, else ``base``."""

    __slots__ = (
        "base",
        "contacts",
        "own",
        "own_actions",
        "own_statuses",
        "reason",
        "route",
        "since",
        "status",
        "status_reason",
        "wrap",
        "wrap_at",
    )

    def __init__(
        self,
        base: str,
        reason: str | None,
        status: str,
        status_reason: str | None,
        since: int,
        contacts: dict[str, str] | None = None,
        wrap_at: int = -1,
        wrap: ContactState | list[Any] | None = None,
        wrap_id: str = "",
    ) -> None:
        self.base = base
        self.reason = reason
        self.status = status
        self.status_reason = status_reason
        self.since = since
        self.contacts = {} if contacts is None else contacts
        # The contact answered from a queue whose release the agent's after-call work follows
        # (its queue's after-call work): set at the release (``wrap_at`` its instant), kept if
        # the agent enters after-call work at that instant (``wrap_at`` then -1) until it
        # leaves it, dropped at any other status change.
        self.wrap: ContactState | None = (
            ContactState.from_state(wrap) if isinstance(wrap, list) else wrap
        )
        if isinstance(wrap, list) and self.wrap is not None:
            # (an ``agent.acw`` naming the contact finds it by its id, which its state omits:
            # a contact's id is the key it is kept by)
            self.wrap.id = wrap_id
        self.wrap_at = wrap_at
        # The engine's status route for the agent's routes and this media (engine.StatusRoute;
        # not state), and, built with it, the accumulators of the agent's own node on this
        # media: its status-time accumulators flattened (accumulator, windows, ...), its status
        # accumulators by status and its action subscriptions by kind (in the engine's order of
        # kinds, ``engine._KIND_INDEX``; None when there are none).
        self.route: StatusRoute | None = None
        self.own: tuple[Any, ...] = ()
        self.own_statuses: dict[str, Any] | None = None
        self.own_actions: tuple[tuple[Any, ...], ...] | None = None

    def state(self) -> list[Any]:
        wrap = self.wrap
        return [
            self.base,
            self.reason,
            self.status,
            self.status_reason,
            self.since,
            self.contacts,
            self.wrap_at,
            None if wrap is None else wrap.state(),
            "" if wrap is None else wrap.id,
        ]


@cython.no_gc
@cython.cclass
class AgentState:
    __slots__ = (
        "capacity",
        "dnd",
        "dnd_since",
        "id",
        "logged_in",
        "login_ts",
        "marked",
        "media",
        "media_queues",
        "node",
        "queues",
        "routes",
        "voice",
    )

    def __init__(
        self,
        logged_in: bool = False,
        login_ts: int = -1,
        dnd: bool = False,
        dnd_since: int = -1,
        media: dict[str, MediaState] | None = None,
        capacity: dict[str, int] | None = None,
        # Queues named by the agent's logins (``AgentLogin.queues``) or the last change of its
        # queues (``AgentQueuesChanged``): those of every media in ``media_queues``, each once.
        # Cleared at logout.
        queues: tuple[str, ...] = (),
        # The queues of each media of the session, as its logins and changes named them: a
        # logout of a media, or a change of its queues, leaves the other media's queues alone.
        media_queues: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.logged_in = logged_in
        self.login_ts = login_ts
        self.dnd = dnd
        self.dnd_since = dnd_since
        self.media = {} if media is None else media
        # The state on voice, the most frequent media, also in ``media`` (the engine sets it
        # when it adds the voice media): reached without reading the dictionary.
        self.voice: MediaState | None = self.media.get("voice")
        self.capacity = {} if capacity is None else capacity
        self.queues = tuple(queues)
        self.media_queues = {} if media_queues is None else media_queues
        # The engine's view of this agent (not state): its own statistics (engine.Node) and
        # the routes it shares with the agents of the same groups and queues (engine.Routes;
        # the node is current while these are).
        self.node: Node | None = None
        self.routes: Routes | None = None
        # Its id: the key of its tenant's ``agents`` (set with it; see ``TenantState``).
        self.id = ""
        # The engine's change epoch in which ``node`` was last marked changed (-1: not yet).
        self.marked = -1

    def state(self) -> list[Any]:
        return [
            self.logged_in,
            self.login_ts,
            self.dnd,
            self.dnd_since,
            {media: ms.state() for media, ms in self.media.items()},
            self.capacity,
            list(self.queues),
            {media: list(queues) for media, queues in self.media_queues.items()},
        ]

    @classmethod
    def from_state(cls, values: list[Any]) -> AgentState:
        logged_in, login_ts, dnd, dnd_since, media, capacity, queues, media_queues = values
        return cls(
            logged_in,
            login_ts,
            dnd,
            dnd_since,
            {name: MediaState(*ms) for name, ms in media.items()},
            capacity,
            tuple(queues),
            {name: tuple(named) for name, named in media_queues.items()},
        )


@cython.no_gc
@cython.cclass
class Leg:
    """One agent's part in a contact."""

    __slots__ = ("answered", "hold_since", "rang", "status")

    def __init__(self, status: str, rang: int, answered: int = -1, hold_since: int = -1) -> None:
        self.status = status  # ringing, talking, held
        self.rang = rang  # when it started ringing (-1: never rang)
        self.answered = answered
        self.hold_since = hold_since

    def state(self) -> list[Any]:
        return [self.status, self.rang, self.answered, self.hold_since]


@cython.no_gc
@cython.cclass
class QueueContents:
    """One queue's contacts on one media: those waiting in it and those it answered that are
    still in progress, each contact id → since. A snapshot keeps it as ``{"waiting": …,
    "in_progress": …}``. (An object rather than that dictionary: its two fields are read
    without a lookup, and it stays out of the cyclic garbage collector's view — these are
    built while events flow, and dictionaries of dictionaries would be tracked.)"""

    __slots__ = ("in_progress", "waiting")

    def __init__(
        self, waiting: dict[str, int] | None = None, in_progress: dict[str, int] | None = None
    ) -> None:
        self.waiting = {} if waiting is None else waiting
        self.in_progress = {} if in_progress is None else in_progress

    def of(self, status: str) -> dict[str, int]:
        """The contacts in ``status``: ``waiting`` or ``in_progress``."""
        return self.waiting if status == "waiting" else self.in_progress

    def state(self) -> dict[str, dict[str, int]]:
        return {"waiting": self.waiting, "in_progress": self.in_progress}

    @classmethod
    def from_state(cls, values: dict[str, dict[str, int]]) -> QueueContents:
        unknown = set(values) - {"waiting", "in_progress"}
        if unknown:
            raise ValueError(f"a queue's contents hold waiting and in_progress, not {unknown}")
        for status, contacts in values.items():
            if not isinstance(contacts, dict) or not all(
                isinstance(k, str) and type(v) is int for k, v in contacts.items()
            ):
                raise ValueError(f"a queue's {status} must map contact ids to instants")
        return cls(values.get("waiting"), values.get("in_progress"))


@cython.no_gc
@cython.cclass
class ContactState:
    """A call or interaction while it lives. ``queue`` is where it waits now (None when not
    waiting); ``answered_from`` the queue it was answered from, for outcomes after the answer."""

    __slots__ = (
        "answered_at",
        "answered_entered",
        "answered_from",
        "answered_in",
        "answered_routes",
        "answered_type",
        "cause",
        "data",
        "direction",
        "entered",
        "first_answered",
        "first_entered",
        "id",
        "legs",
        "media",
        "queue",
        "queue_type",
        "reported",
        "skill",
        "transferred_at",
        "waiting_in",
        "waiting_routes",
    )

    def __init__(
        self,
        media: str,
        direction: str,
        data: dict[str, str] | None = None,
        queue: str | None = None,
        queue_type: str = "queue",
        entered: int = -1,
        answered_from: str | None = None,
        answered_type: str = "queue",
        answered_entered: int = -1,
        answered_at: int = -1,
        legs: dict[str, Leg] | None = None,
        # Configured skill of the last ACD queue entered, for skill filters when the contact's
        # attached data carries no ``skill``.
        skill: str | None = None,
        # The reason of its latest refusal or the cause of its latest diversion (their
        # statistics filter on it).
        cause: str | None = None,
        # The contact's first entry into an ACD queue and its first answer from one (-1: not
        # yet), for the tenant's counts per contact.
        first_entered: int = -1,
        first_answered: int = -1,
        # When an agent transferred it (-1: not since it last entered a queue): a call whose
        # last leg ends after a transfer is kept for its next queue (see the engine).
        transferred_at: int = -1,
    ) -> None:
        self.media = media
        self.direction = direction
        self.data = {} if data is None else data
        self.queue = queue
        self.queue_type = queue_type
        self.entered = entered
        self.answered_from = answered_from
        self.answered_type = answered_type
        self.answered_entered = answered_entered
        self.answered_at = answered_at
        self.legs = {} if legs is None else legs
        self.skill = skill
        self.cause = cause
        # While the engine counts a fact of the contact: the duration the platform reported
        # for it (-1: none), for statistics on reported durations. Not state: -1 between events.
        self.reported = -1
        self.first_entered = first_entered
        self.first_answered = first_answered
        self.transferred_at = transferred_at
        # Not state (see the module's docstring): the contents and the engine's routes of the
        # queue it waits in and of the one that answered it.
        self.waiting_in: QueueContents | None = None
        self.waiting_routes: Routes | None = None
        self.answered_in: QueueContents | None = None
        self.answered_routes: Routes | None = None
        # Its id: the key of its tenant's ``calls`` or ``interactions`` (see ``TenantState``).
        self.id = ""

    def state(self) -> list[Any]:
        return [
            self.media,
            self.direction,
            self.data,
            self.queue,
            self.queue_type,
            self.entered,
            self.answered_from,
            self.answered_type,
            self.answered_entered,
            self.answered_at,
            {agent: leg.state() for agent, leg in self.legs.items()},
            self.skill,
            self.cause,
            self.first_entered,
            self.first_answered,
            self.transferred_at,
        ]

    @classmethod
    def from_state(cls, values: list[Any]) -> ContactState:
        fields = list(values)
        if len(fields) != 16:
            raise ValueError(f"a contact's state has 16 fields, not {len(fields)}")
        fields[10] = {agent: Leg(*leg) for agent, leg in fields[10].items()}  # legs
        return cls(*fields)


@cython.cclass
class TenantState:
    """One tenant's contact center (an extension type when compiled: the engine reads its
    dictionaries as C fields). A snapshot keeps it as a :class:`TenantRecord`."""

    __slots__ = ("agents", "calls", "interactions", "queues", "vq_entries")

    def __init__(
        self,
        agents: dict[str, AgentState] | None = None,
        calls: dict[str, ContactState] | None = None,
        interactions: dict[str, ContactState] | None = None,
        queues: dict[str, dict[str, dict[str, QueueContents]]] | None = None,
        vq_entries: dict[str, int] | None = None,
    ) -> None:
        self.agents = {} if agents is None else agents
        self.calls = {} if calls is None else calls
        self.interactions = {} if interactions is None else interactions
        # Each agent and contact holds its id, the very string object that keys it here: the
        # engine keys every other dictionary of the agent or contact (its legs, the contacts of
        # an agent's media, a queue's contents) with it, so that a lookup with it is found by
        # identity, and one with an event's copy compares with a string already read.
        for by_id in (self.agents, self.calls, self.interactions):
            for key, value in by_id.items():
                value.id = key
        # object type (queue, routing_point, virtual_queue) → id → media → its contents
        self.queues = {} if queues is None else queues
        # virtual queue waits: "vq\x1fcontact" → since
        self.vq_entries = {} if vq_entries is None else vq_entries

    def record(self) -> TenantRecord:
        return TenantRecord(
            self.agents, self.calls, self.interactions, self.queues, self.vq_entries
        )

    @classmethod
    def from_record(cls, record: TenantRecord) -> TenantState:
        return cls(
            record.agents, record.calls, record.interactions, record.queues, record.vq_entries
        )


class TenantRecord(msgspec.Struct):
    """A :class:`TenantState` in a snapshot."""

    agents: dict[str, AgentState] = {}
    calls: dict[str, ContactState] = {}
    interactions: dict[str, ContactState] = {}
    queues: dict[str, dict[str, dict[str, QueueContents]]] = {}
    vq_entries: dict[str, int] = {}


class ObjectConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Group membership from configuration. A group's members are its agents plus the members
    of its sub-groups; an agent reached twice counts once."""

    agent_groups: dict[str, GroupConfig] = {}
    queue_groups: dict[str, QueueGroupConfig] = {}
    queues: dict[str, QueueConfig] = {}


class QueueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An ACD queue's configured agents (members besides those whose login names the queue),
    skill (used by skill filters when a contact's attached data has no ``skill``) and
    service-level threshold in seconds (used by interval reports; default 20 s)."""

    agents: tuple[str, ...] = ()
    skill: str | None = None
    threshold_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] | None = None


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


def encode_state(obj: Any) -> Any:
    """msgspec ``enc_hook``: agents, contacts and queue contents as their ``state()`` (which
    holds their media states and legs as plain data already)."""
    if isinstance(obj, AgentState | ContactState | QueueContents):
        return obj.state()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def decode_state(kind: type, values: Any) -> Any:
    """msgspec ``dec_hook``: agents, contacts and queue contents back from their ``state()``."""
    if kind is AgentState or kind is ContactState:
        if not isinstance(values, list):
            raise TypeError(f"{kind.__name__} state must be a list, got {values!r}")
        return kind.from_state(values)
    if kind is QueueContents:
        if not isinstance(values, dict):
            raise TypeError(f"a queue's contents must be a map, got {values!r}")
        return QueueContents.from_state(values)
    raise NotImplementedError(f"cannot decode {kind.__name__}")
