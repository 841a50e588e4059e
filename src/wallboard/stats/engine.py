"""The statistics engine: events in, statistic values out — incremental, pure and deterministic.

Flow of one event: duplicate check (event id) → reorder buffer (released in timestamp order
once older than the watermark minus the allowed lateness) → the state model updates agents,
contacts and queue contents and emits *facts* (an agent or queue action with its duration, an
agent status change) → each fact reaches only the accumulators of statistics opened on the
objects it touches (the agent, its groups, the queue, its queue groups, the tenant), through a
route computed once per (object, media, kind) and dropped when what is open changes.
Statistics of one object that need the same tally share one accumulator; averages, rates,
service levels and formulas are derived on read, and values that grow with the clock are
computed on read from stored start times (see "How the engine keeps the cost down" in
``docs/engine.md``).

Ordering policy (explicit): with ``lateness_ms`` L, an event is held until the newest timestamp
seen (or the time given to :meth:`advance`) is at least its own plus L, then applied in
timestamp order (ties in arrival order). An event older than what was already released is
dropped and counted as ``too_late``. L = 0 applies events at once and drops any that go back
in time.
"""

from __future__ import annotations

import heapq
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from wallboard.core import events as ev
from wallboard.core.errors import InvalidInput, NotFound
from wallboard.core.memory import collector_paused
from wallboard.stats.definitions import (
    CURRENT_CATEGORIES,
    UNSPECIFIED_REASON,
    AgentAction,
    Attribution,
    Category,
    Counting,
    DefinitionSet,
    Durations,
    Filter,
    Growing,
    ObjectType,
    QueueAction,
    Selection,
    ServiceLevelType,
    SinceLogin,
    Sliding,
    StatisticDefinition,
)
from wallboard.stats.state import (
    AgentState,
    ContactState,
    Leg,
    MediaState,
    ObjectConfig,
    QueueContents,
    TenantRecord,
    TenantState,
    decode_state,
    encode_state,
    flatten_groups,
)
from wallboard.stats.tallies import (
    ACTION_WIDTH,
    COUNT,
    FIXED,
    IN_RANGE,
    MAX,
    MIN,
    RING,
    SESSION,
    SL_ABANDONED_WITHIN,
    SL_ANSWERED,
    SL_ANSWERED_WITHIN,
    SL_ENTERED,
    SL_EXCEEDED,
    SL_REMOVED_WITHIN,
    SL_WIDTH,
    STATUS_INDEX,
    TOTAL,
    AnyTally,
    SlidingStatusTally,
    SlidingStatusTimes,
    StatusTally,
    StatusTimes,
    Tally,
    merge_action_cells,
    merge_sum_cells,
    new_sliding_status_tally,
    new_sliding_status_times,
    new_tally,
    tally_from_record,
    tally_record,
)
from wallboard.stats.windows import FixedWindows, fixed_windows

if TYPE_CHECKING:
    from wallboard.stats import _shadow as cython
else:
    try:
        import cython
    except ImportError:  # running as Python without Cython
        from wallboard.stats import _shadow as cython

# 7: status times hold the busy status; 8: contacts counted once; 9: specs and lists of
# statistics written once (``EngineSnapshot.specs``, ``.statistics``), referred to by position,
# and an agent's after-call work keeps the id of the contact it follows
SNAPSHOT_VERSION: Final = 9
_ALL_MEDIA: Final = tuple(m.value for m in ev.Media)
# Enum members in events → their values as plain strings. The engine's dictionaries are keyed by
# plain strings: a StrEnum member as a key is compared through the generic (slower) path, and
# makes a dictionary holding it slower for every key; ``.value`` is a Python-level property.
_PLAIN: Final[dict[object, str]] = {
    member: member.value
    for kind in (
        ev.Media,
        ev.Direction,
        ev.QueueKind,
        ev.VirtualQueueExit,
        ev.RefusalReason,
        ev.DiversionCause,
    )
    for member in kind
}
# The event classes compared on every event (compiled, C globals: ``ev.X`` is a module attribute
# lookup each time), the handled ones in the order ``StatisticsEngine._dispatch`` tries them.
_UNKNOWN_EVENT: Final = ev.UnknownEvent
_AGENT_READY: Final = ev.AgentReady
_CALL_QUEUED: Final = ev.CallQueued
_CALL_RINGING: Final = ev.CallRinging
_CALL_ESTABLISHED: Final = ev.CallEstablished
_CALL_RELEASED: Final = ev.CallReleased
_AGENT_AFTER_CALL_WORK: Final = ev.AgentAfterCallWork
_AGENT_NOT_READY: Final = ev.AgentNotReady
_INTERACTION_QUEUED: Final = ev.InteractionQueued
_INTERACTION_OFFERED: Final = ev.InteractionOffered
_INTERACTION_ACCEPTED: Final = ev.InteractionAccepted
_INTERACTION_DONE: Final = ev.InteractionDone
_INTERACTION_CREATED: Final = ev.InteractionCreated
_VIRTUAL_QUEUE_ENTERED: Final = ev.VirtualQueueEntered
_VIRTUAL_QUEUE_LEFT: Final = ev.VirtualQueueLeft
_CALL_HELD: Final = ev.CallHeld
_CALL_RETRIEVED: Final = ev.CallRetrieved
_CALL_ABANDONED: Final = ev.CallAbandoned
_CALL_TRANSFERRED: Final = ev.CallTransferred
_AGENT_LOGIN: Final = ev.AgentLogin
_AGENT_CAPACITY: Final = ev.AgentCapacity
_AGENT_LOGOUT: Final = ev.AgentLogout
_AGENT_QUEUES_CHANGED: Final = ev.AgentQueuesChanged
_AGENT_DND_ON: Final = ev.AgentDndOn
_AGENT_DND_OFF: Final = ev.AgentDndOff
_CALL_REFUSED: Final = ev.CallRefused
_CALL_DIVERTED: Final = ev.CallDiverted
_CALL_CONFERENCED: Final = ev.CallConferenced
_CALL_DATA_UPDATED: Final = ev.CallDataUpdated
_INTERACTION_REJECTED: Final = ev.InteractionRejected
_INTERACTION_REVOKED: Final = ev.InteractionRevoked
_INTERACTION_TRANSFERRED: Final = ev.InteractionTransferred
_QUEUE_TYPES: Final = ("queue", "routing_point", "virtual_queue")
# How long a call whose last leg ended with a transfer is kept for its next queue (usually
# entered at once): past it, the call went out of view.
_TRANSFER_KEPT_MS: Final = 3_600_000
_QUEUE_OBJECT_TYPES: Final = frozenset({"queue", "queue_group"})
_LOGGED_IN_STATUSES: Final = ("ready", "not_ready", "acw", "ringing", "talking", "held", "busy")
_WAIT_EXITS: Final = frozenset(
    {"answered", "abandoned", "diverted", "stopped", "routed", "cleared", "timeout"}
)
# Every kind of fact (the actions of agents and of queues) → its place in a list of fact routes
# by kind (``Routes.facts``): one list item read per fact instead of a dictionary lookup.
# (Interned keys: the kinds the handlers pass are interned literals, found by identity.)
# A tenant's statistics counting contacts (``count: contacts``) take the contacts' facts under
# kinds of their own (``contact:answered``…), so that the queues' facts, which reach the tenant
# too, do not reach them.
_CONTACT_KIND: Final[dict[str, str]] = {
    kind: sys.intern(f"contact:{kind}")
    for kind in ("entered", "answered", "abandoned", "diverted", "stopped")
}
_KIND_INDEX: Final[dict[str, int]] = {
    sys.intern(kind): index
    for index, kind in enumerate(
        dict.fromkeys([*map(str, AgentAction), *map(str, QueueAction), *_CONTACT_KIND.values()])
    )
}
_KIND_COUNT: Final = len(_KIND_INDEX)
_NO_FACTS: Final[tuple[tuple[Any, ...], ...]] = ((),) * _KIND_COUNT
_NO_ROUTES: Final[tuple[None, ...]] = (None,) * _KIND_COUNT

ObjectKey = tuple[str, str, str]
"""(tenant, object type, object id)."""


def check_event_layouts(classes: Iterable[type]) -> None:
    """Compiled, the engine reads an event's fields straight from the object, where
    ``engine.pxd`` declares them: a msgspec Struct's fields are slots, laid out by CPython after
    the object header in ``__slots__`` order, :class:`~wallboard.core.events.Event`'s first.
    This checks that each class's slots are there in the running CPython and msgspec (wrong
    places would read wrong fields); run on every event class at import. As Python, fields are
    read by name and nothing is checked."""
    if cython.compiled:
        for kind in classes:
            slots = ev.Event.__dict__["__slots__"] + kind.__dict__.get("__slots__", ())
            for index, name in enumerate(slots):
                # (engine.pxd's C helpers)
                place = WB_FIRST_SLOT + index * WB_SLOT_SIZE  # type: ignore[name-defined]  # noqa: F821
                if wb_slot_offset(kind, name) != place:  # type: ignore[name-defined]  # noqa: F821
                    raise ImportError(
                        f"wallboard.stats.engine: field {name!r} of {kind.__name__} is not at"
                        f" byte {place} of the object, where the compiled engine reads it (the"
                        " layout of msgspec Structs changed); delete src/wallboard/stats/*.so"
                        " to run the engine as Python, or update engine.pxd"
                    )


check_event_layouts(ev.Event.__subclasses__())


def _same(a: object, b: object) -> bool:
    """``a == b`` for the strings compared on every event (statuses, reasons, fact kinds; or
    None). Compiled: the same object, else length and bytes; Cython compares two ``str``
    through ``PyUnicode_Compare``, which orders them (about 2 % of the engine's instructions)."""
    if cython.compiled:
        return wb_same(a, b)  # type: ignore[name-defined,no-any-return]  # noqa: F821  (engine.pxd)
    return a == b


def _media_state(agent: AgentState, media: str) -> MediaState | None:
    """The agent's state on ``media``: for voice, without reading the dictionary of its media
    (``AgentState.voice``), one cache miss fewer on most agents' events at scale."""
    if _same(media, "voice"):
        return agent.voice
    return agent.media.get(media)


def _busy_elsewhere(agent: AgentState, media: str) -> bool:
    """Whether a contact of another media keeps the agent from taking one of ``media`` now: a
    call excludes every other media, and a contact of any other media excludes calls (Amazon
    Connect's default routing profile; chats and emails go together up to their capacities)."""
    if _same(media, "voice"):
        # (A loop: compiled, a generator in ``any`` would be a closure object per call.)
        for other in agent.media.values():  # noqa: SIM110
            if other.contacts and other is not agent.voice:
                return True
        return False
    voice = agent.voice
    return voice is not None and len(voice.contacts) > 0


def _facts_of(routes: Routes, media: str) -> tuple[FactRoute | None, ...]:
    """The routes' fact routes on ``media`` by kind (``_KIND_INDEX``; None: not built yet): for
    voice without reading the dictionary by media (``Routes.voice``)."""
    if _same(media, "voice"):
        return routes.voice
    return routes.facts.get(media, _NO_ROUTES)


def _leg(call: ContactState | None, agent: str | None) -> Leg | None:
    """The call's leg of ``agent``; with no agent named, its only leg (None if several)."""
    if call is None:
        return None
    if agent is None:
        return next(iter(call.legs.values()), None) if len(call.legs) == 1 else None
    return call.legs.get(agent)


def _vq_contact(
    state: TenantState, call: str | None, interaction: str | None
) -> ContactState | None:
    """The contact a virtual-queue event names (a call or an interaction), if known."""
    if call is not None:
        return state.calls.get(call)
    if interaction is not None:
        return state.interactions.get(interaction)
    return None


class AgentStatusValue(msgspec.Struct, frozen=True):
    """The rich value of a CurrentState statistic."""

    state: str
    reason: str | None
    since: int
    media: str
    dnd: bool


# dict: a breakdown (not-ready reason → ms), JSON-able as it is.
Value = Union[int, float, AgentStatusValue, dict[str, int], None]  # noqa: UP007


class Reading(msgspec.Struct, frozen=True):
    """A value with what it was computed from; ``denominator`` is set for rates and levels."""

    value: Value
    numerator: float | None = None
    denominator: float | None = None


def _contact_matches(f: Filter, contact: ContactState | None) -> bool:
    if contact is None:
        return False
    if f.direction and contact.direction not in f.direction:
        return False
    data = contact.data
    if f.skill is not None and data.get("skill", contact.skill) != f.skill:
        return False
    return all(data.get(key) == value for key, value in f.data.items())


def _reason_set(reasons: tuple[str, ...]) -> frozenset[str | None] | None:
    """A not-ready reason filter; ``unspecified`` also matches a not-ready without reason."""
    if not reasons:
        return None
    found: set[str | None] = set(reasons)
    if UNSPECIFIED_REASON in found:
        found.add(None)
    return frozenset(found)


@cython.no_gc
@cython.cclass
class Sub(Tally):
    """Feeds its tally with the facts of its object (a route calls ``hit`` on each: compiled,
    through the C method table, whichever the kind of subscription).

    A subscription *is* its tally (one each: it is built from the tally a statistic opens or a
    snapshot restores, and ``tally`` is itself), so a fact reads one object: its fields and,
    compiled, the cells it holds in itself (``Tally.local``) — where a subscription beside its
    tally cost a cache miss for each, one after the other, at scale."""

    __slots__ = ("causes", "entered", "filter", "grace", "reported", "windows")

    def __init__(
        self,
        tally: Tally,
        windows: FixedWindows | None,
        f: Filter | None,
        entered: bool,
        grace: int,
    ) -> None:
        self._like(tally)
        self.windows = windows
        self.filter = f
        self.entered = entered
        # Fact kind → the refusal reasons or diversion causes it counts (None: all of every kind).
        self.causes: dict[str, frozenset[str]] | None = None
        # Whether durations are the platform's (``ContactState.reported``) where it gave one.
        self.reported = False
        self.grace = grace

    @property
    def tally(self) -> Tally:
        """The tally this subscription feeds: itself."""
        return self

    def _at(self, when: int, done: int) -> int:
        """``Tally.cell_at`` for a fact attributed to ``when`` that completed at ``done``, the
        usual case (a fact in the current fixed window) answered here."""
        windows = self.windows
        if (
            windows is not None
            and windows.lo <= when < windows.hi
            and self.cells[0] == windows.lo
            and self.mode == FIXED
            and done - self.grace < windows.hi
        ):
            return 1
        return self.cell_at(when, windows, done, self.grace)

    def hit(
        self, kind: str, t: int, entered_t: int, dur: int, contact: ContactState | None
    ) -> None:
        raise NotImplementedError


@cython.no_gc
@cython.cclass
class ActionSub(Sub):
    """Feeds one action tally."""

    __slots__ = ("hi", "lo")

    def __init__(
        self,
        tally: Tally,
        windows: FixedWindows | None,
        f: Filter | None,
        entered: bool,
        grace: int,
        lo: int,
        hi: int,
    ) -> None:
        super().__init__(tally, windows, f, entered, grace)
        self.lo = lo
        self.hi = hi

    def hit(
        self, kind: str, t: int, entered_t: int, dur: int, contact: ContactState | None
    ) -> None:
        if self.filter is not None and not _contact_matches(self.filter, contact):
            return
        causes = self.causes
        if causes is not None:
            allowed = causes.get(kind)
            if allowed is not None and (contact is None or contact.cause not in allowed):
                return
        if self.reported and contact is not None and contact.reported >= 0:
            dur = contact.reported
        at = self._at(entered_t if self.entered else t, t)
        if at < 0:
            return
        cells = self.cells
        cells[at + COUNT] += 1
        cells[at + TOTAL] += dur
        if self.lo <= dur <= self.hi:
            cells[at + IN_RANGE] += 1
        if dur > cells[at + MAX]:
            cells[at + MAX] = dur
        low = cells[at + MIN]
        if low < 0 or dur < low:
            cells[at + MIN] = dur


@cython.no_gc
@cython.cclass
class ServiceSub(Sub):
    """Feeds one service-level tally (see ``docs/statistics.md`` for the three families)."""

    __slots__ = ("threshold",)

    def __init__(
        self,
        tally: Tally,
        windows: FixedWindows | None,
        f: Filter | None,
        entered: bool,
        grace: int,
        threshold: int,
    ) -> None:
        super().__init__(tally, windows, f, entered, grace)
        self.threshold = threshold

    def hit(
        self, kind: str, t: int, entered_t: int, dur: int, contact: ContactState | None
    ) -> None:
        if self.filter is not None and not _contact_matches(self.filter, contact):
            return
        if self.reported and contact is not None and contact.reported >= 0:
            dur = contact.reported
        cells = self.cells
        if _same(kind, "entered"):
            at = self._at(t, t)
            if at >= 0:
                cells[at + SL_ENTERED] += 1
            return
        within = dur <= self.threshold
        if _same(kind, "answered"):
            at = self._at(entered_t if self.entered else t, t)
            if at >= 0:
                cells[at + SL_ANSWERED] += 1
                if within:
                    cells[at + SL_ANSWERED_WITHIN] += 1
                    cells[at + SL_REMOVED_WITHIN] += 1
        elif within:
            at = self._at(entered_t if self.entered else t, t)
            if at >= 0:
                cells[at + SL_REMOVED_WITHIN] += 1
                if _same(kind, "abandoned"):
                    cells[at + SL_ABANDONED_WITHIN] += 1
        if not within:
            # The service-level event of a late contact is the moment it reached the threshold.
            at = self._at(entered_t if self.entered else entered_t + self.threshold, t)
            if at >= 0:
                cells[at + SL_EXCEEDED] += 1


@cython.no_gc
@cython.cclass
class StatusSub:
    __slots__ = ("reasons", "tally", "windows")

    def __init__(
        self,
        tally: StatusTally | SlidingStatusTally,
        windows: FixedWindows | None,
        reasons: frozenset[str | None] | None,
    ) -> None:
        self.tally = tally
        self.windows = windows
        self.reasons = reasons


@cython.no_gc
@cython.cclass
class TimesSub:
    """Feeds one :class:`StatusTimes` (every TotalTime statistic of an object on one media)."""

    __slots__ = ("tally", "windows")

    def __init__(
        self, tally: StatusTimes | SlidingStatusTimes, windows: FixedWindows | None
    ) -> None:
        self.tally = tally
        self.windows = windows


AnySub = Sub | StatusSub | TimesSub


class CompiledStatistic:
    """What opening a statistic needs, computed once per definition and time zone and shared
    by every object it is open on: the accumulators it reads (spec, part) and its windows."""

    __slots__ = ("definition", "parts", "specs", "windows")

    def __init__(
        self,
        definition: StatisticDefinition,
        parts: tuple[StatisticDefinition, ...],
        windows: FixedWindows | None,
    ) -> None:
        self.definition = definition
        self.parts = parts
        self.specs = tuple(_spec(part) for part in parts)
        self.windows = windows


@cython.no_gc
@cython.cclass
class Node:
    """The open statistics of one object (id → open count) and the subscriptions feeding them.

    Per-statistic data lives in the shared :class:`CompiledStatistic`, so an open statistic
    costs one dict entry here plus its share of the accumulators.
    """

    __slots__ = (
        "actions",
        "dirty",
        "key",
        "sessions",
        "stats",
        "statuses",
        "tallies",
        "times",
        "watches_agents",
    )

    def __init__(self, key: ObjectKey) -> None:
        self.key = key
        # A queue or queue group with agent-status statistics: agents' status changes touch it.
        self.watches_agents = False
        # In the engine's list of changed nodes (until ``drain_changes``).
        self.dirty = False
        # Subscriptions in tuples (rebuilt when a statistic is opened or closed, which is rare):
        # unlike lists, tuples of the engine's untracked objects leave the cyclic collector's
        # view, so a full collection does not walk them.
        # media → by kind of fact (``_KIND_INDEX``), the subscriptions it feeds
        self.actions: dict[str, tuple[tuple[Sub, ...], ...]] = {}
        self.statuses: dict[str, dict[str, tuple[StatusSub, ...]]] = {}  # media → status
        self.times: dict[str, tuple[TimesSub, ...]] = {}
        self.sessions: tuple[AnyTally, ...] = ()
        self.stats: dict[str, int] = {}
        self.tallies: dict[str, AnySub] = {}


class _OpenPlan:
    """Opening a list of statistics on an object of one type with nothing open, worked out
    once on a template node (``StatisticsEngine._plan``): no event reaches the template, so
    its accumulators stay empty; an object opened by the plan gets a copy of each of its
    subscriptions (``_copy_sub``), linked into the object's node as the template's are.

    ``parts``: (spec, the template's subscription, the statistic part it was made for) in the
    template's order; ``actions``, ``statuses``, ``times`` and ``sessions`` are the template
    node's fields with each subscription replaced by its position in ``parts``; ``seeded``,
    the positions of those whose new accumulators start from the tenant's state
    (``StatisticsEngine._seed_sub``: every status accumulator, actions' in a session)."""

    __slots__ = ("actions", "parts", "seeded", "sessions", "statuses", "template", "times")

    def __init__(self, template: Node, parts: dict[str, StatisticDefinition]) -> None:
        self.template = template
        self.parts = tuple((spec, sub, parts[spec]) for spec, sub in template.tallies.items())
        position = {id(sub): i for i, (_, sub, _) in enumerate(self.parts)}
        of_tally = {id(sub.tally): i for i, (_, sub, _) in enumerate(self.parts)}

        def positions(subs: Iterable[AnySub]) -> tuple[int, ...]:
            return tuple(position[id(sub)] for sub in subs)

        self.actions = {
            media: tuple(positions(subs) for subs in by_kind)
            for media, by_kind in template.actions.items()
        }
        self.statuses = {
            media: {status: positions(subs) for status, subs in by_status.items()}
            for media, by_status in template.statuses.items()
        }
        self.times = {media: positions(subs) for media, subs in template.times.items()}
        self.sessions = tuple(of_tally[id(tally)] for tally in template.sessions)
        self.seeded = tuple(
            i
            for i, (_, sub, _) in enumerate(self.parts)
            if not isinstance(sub, Sub) or sub.mode == SESSION
        )


class TenantRuntime:
    """Derived, rebuildable per-tenant indexes: membership and routes."""

    __slots__ = (
        "agent_groups",
        "agent_routes",
        "config",
        "configured_queues",
        "group_members",
        "login_queues",
        "queue_group_members",
        "queue_groups",
        "queue_routes",
        "queue_skills",
        "transferred",
        "zone",
    )

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.config = ObjectConfig()
        # agent → the queues whose configuration names it (``config.queues``, by agent)
        self.configured_queues: dict[str, tuple[str, ...]] = {}
        # queue → the skill its configuration gives the contacts entering it
        self.queue_skills: dict[str, str | None] = {}
        self.group_members: dict[str, frozenset[str]] = {}
        self.agent_groups: dict[str, tuple[str, ...]] = {}
        self.queue_group_members: dict[str, frozenset[tuple[str, str]]] = {}
        self.queue_groups: dict[tuple[str, str], tuple[str, ...]] = {}
        # queue → agents whose login named it (rebuilt from the agents' state on restore)
        self.login_queues: dict[str, set[str]] = {}
        # Queue routes (computed on use): object type → queue id → its routes.
        self.queue_routes: dict[str, dict[str, Routes]] = {}
        # Agents' routes (computed on use), shared by the agents of the same groups and queues:
        # (groups, queues) → routes. Each agent holds its own on its state (``AgentState``).
        self.agent_routes: dict[tuple[tuple[str, ...], tuple[str, ...]], Routes] = {}
        # Calls kept after their last leg ended with a transfer, awaiting their next queue:
        # call id → transfer instant, oldest first (rebuilt from the calls on restore).
        self.transferred: dict[str, int] = {}


@cython.no_gc
@cython.cclass
class FactRoute:
    """The subscriptions a fact feeds and the nodes it changes (empty when nothing reads it).

    Routes are built while events flow (an agent's first fact of a kind builds its route), so
    they are made of objects the cyclic collector does not track — these, tuples of them and
    dictionaries of those — or each agent's routes would end in the collector's oldest
    generation and start full collections."""

    __slots__ = ("changed", "marked", "subs")

    def __init__(self, subs: tuple[Sub, ...], changed: tuple[Node, ...]) -> None:
        self.subs = subs
        self.changed = changed
        self.marked = -1  # the engine's change epoch in which ``changed`` were last marked


@cython.no_gc
@cython.cclass
class StatusRoute:
    """What a status change on one media of the agents of one :class:`Routes` reaches beyond
    each agent's own node, computed once (``Routes.statuses``) and kept on each agent's state
    for the media (``MediaState.route``) while ``generation`` is the engine's: the nodes it
    changes, the status times it feeds (sliding ones by the status left: only leaving a
    status of their mask adds time) and the status accumulators by status."""

    __slots__ = ("by_status", "changed", "generation", "marked", "sliding", "times")

    def __init__(
        self,
        generation: int,
        changed: tuple[Node, ...],
        times: tuple[tuple[StatusTimes, FixedWindows | None], ...],
        sliding: dict[str, tuple[SlidingStatusTimes, ...]],
        by_status: dict[str, tuple[StatusSub, ...]],
    ) -> None:
        self.generation = generation
        self.changed = changed
        self.marked = -1  # the engine's change epoch in which ``changed`` were last marked
        self.times = times
        self.sliding = sliding
        self.by_status = by_status


@cython.no_gc
@cython.cclass
class Routes:
    """Where the facts of a queue, or of the agents of the same groups and queues beyond each
    one's own node, go: computed on first use and valid until a statistic is opened or closed
    or membership changes (``_invalidate_routes``).

    ``nodes``: the objects with statistics its facts feed — a queue's own, its groups' and (an
    ACD queue's) the tenant's; the agents' groups'. ``status_nodes``: those a status change
    reaches — of a queue's nodes, those that count its agents' statuses
    (``Node.watches_agents``); the agents' groups' and the tenant's. ``facts``: by media, then
    kind of fact, the subscriptions fed and the nodes changed. Agents' routes also hold their
    ``queues`` (login and configured) and, by media, their :class:`StatusRoute`; a queue's,
    by media, its ``contents`` (``TenantState.queues``: the same objects, reached without
    lookups by queue id) and its configured ``skill``.

    A queue's routes are kept in its tenant's ``TenantRuntime.queue_routes``, found by its id
    (and on the contacts it holds); agents' in ``TenantRuntime.agent_routes`` by (groups,
    queues), and on each agent's state (``AgentState.routes``, beside its own ``node``) while
    ``generation`` is the engine's, so an event reaches them through the agent it names. Shared
    by every agent of the same groups and queues, they cost nothing per agent: an agent's own
    node needs no route (its subscriptions are found by media and kind on the node).
    """

    __slots__ = (
        "agents_marked",
        "contents",
        "facts",
        "generation",
        "marked",
        "nodes",
        "queues",
        "skill",
        "status_nodes",
        "statuses",
        "voice",
        "voice_contents",
    )

    def __init__(self, generation: int = -1) -> None:
        self.generation = generation
        self.marked = -1  # the engine's change epoch in which ``nodes`` were last marked
        self.agents_marked = -1  # ... and those but the tenant's (``_queue_agents_changed``)
        self.nodes: tuple[Node, ...] | None = None
        self.status_nodes: tuple[Node, ...] | None = None
        # Fact routes by media (voice's also in ``voice``), then kind (``_facts_of``).
        self.facts: dict[str, tuple[FactRoute | None, ...]] = {}
        # (Tuples, rebuilt when a route is added, which is rare: unlike lists, tuples of
        # objects the cyclic collector does not track leave its view.)
        self.voice: tuple[FactRoute | None, ...] = _NO_ROUTES
        self.queues: tuple[str, ...] = ()
        self.statuses: dict[str, StatusRoute] = {}
        # A queue's: its contents by media (voice's also in ``voice_contents``), the skill its
        # configuration gives the contacts entering it (``TenantRuntime.queue_skills``).
        self.contents: dict[str, QueueContents] = {}
        self.voice_contents: QueueContents | None = None
        self.skill: str | None = None


_EventUnion = Union[tuple(ev.EVENT_TYPES)]  # type: ignore[valid-type]  # noqa: UP007


class TallyRecord(msgspec.Struct, array_like=True):
    tenant: str
    object_type: str
    object_id: str
    spec: int  # its position in ``EngineSnapshot.specs``
    kind: str  # a key of tallies.TALLY_KINDS
    state: list[Any]


class OpenedRecord(msgspec.Struct, array_like=True):
    """An object's statistics opened by callers (not as formula inputs), each as many times
    as it was opened, in order: a list of ``EngineSnapshot.statistics`` by position."""

    tenant: str
    object_type: str
    object_id: str
    statistics: int


class _SnapshotVersion(msgspec.Struct):
    version: int


class EngineSnapshot(msgspec.Struct):
    version: int
    tenants: dict[str, TenantRecord]
    configs: dict[str, ObjectConfig]
    # Each distinct accumulator spec and list of opened statistics once (a million open
    # statistics are of a few dozen lists, and their accumulators of a few hundred specs).
    specs: list[str]
    statistics: list[list[str]]
    opened: list[OpenedRecord]
    tallies: list[TallyRecord]
    buffer: list[_EventUnion]  # type: ignore[valid-type]
    watermark: int
    cutoff: int
    seen: list[tuple[int, str]]
    anomalies: dict[str, int]


class StatisticsEngine:
    """Consumes :mod:`wallboard.core.events`, serves values of opened statistics.

    ``definitions``: the statistics that may be opened. ``lateness_ms``: how late (in event
    time) an event may arrive and still be applied in order. ``time_zones``: IANA zone per
    tenant for growing and selection profiles (``default_time_zone`` otherwise).
    """

    def __init__(
        self,
        definitions: DefinitionSet,
        *,
        lateness_ms: int = 0,
        time_zones: Mapping[str, str] | None = None,
        default_time_zone: str = "UTC",
    ) -> None:
        if lateness_ms < 0:
            raise InvalidInput("lateness_ms must not be negative", field="lateness_ms")
        self.definitions = definitions
        self.lateness_ms = lateness_ms
        self._time_zones = dict(time_zones or {})
        self._default_zone = default_time_zone
        self._zones: dict[str, ZoneInfo] = {}
        self.anomalies: dict[str, int] = {}
        self._tenants: dict[str, TenantState] = {}
        self._runtime: dict[str, TenantRuntime] = {}
        # The tenant of the event being applied and its runtime: helpers find it by the
        # identity of the tenant's name (the event's string, passed along), not by a lookup.
        self._last_tenant: str | None = None
        self._last_runtime: TenantRuntime | None = None
        self._nodes: dict[ObjectKey, Node] = {}
        # Routes kept on agents' state are valid while theirs is this (``_invalidate_routes``).
        self._generation = 0
        self._compiled: dict[tuple[str, str], CompiledStatistic] = {}
        self._windows: dict[tuple[str, str], FixedWindows | None] = {}
        # Nodes whose statistics may have changed, each once (its ``dirty`` flag: cheaper than
        # a set on every fact); reported by key in ``drain_changes``.
        self._changed: list[Node] = []
        # Counts the calls of ``drain_changes``. A route (or an agent's state, for its own
        # node) notes the epoch in which it marked its nodes: until the next drain they are
        # still marked, so its later facts skip them — reading each node's flag would cost a
        # cache miss per node on every fact at scale.
        self._epoch = 0
        self._buffer: list[tuple[int, int, ev.Event]] = []
        self._arrivals = 0
        self._watermark = -1
        self._cutoff = -1
        self._seen: dict[str, int] = {}
        self._seen_order: deque[tuple[int, str]] = deque()
        self.events_applied = 0
        # Plans of opening a list of statistics on an object with nothing open
        # (``open_many``), by (time zone, object type, statistic ids).
        self._plans: dict[tuple[str, str, tuple[str, ...]], _OpenPlan] = {}
        # Whether some routes were kept since they were last invalidated: opening a million
        # statistics must not clear every tenant's (empty) routes a million times.
        self._routed = False

    # --- input ---------------------------------------------------------------------------------

    def apply(self, event: ev.Event | ev.UnknownEvent) -> None:
        """Take one event; it is applied now or when the reorder buffer releases it."""
        # (``type() is``: isinstance asks msgspec's metaclass, a Python-level method call.)
        if type(event) is _UNKNOWN_EVENT:
            self._anomaly("unknown_event_type")
            return
        # Compiled, a C struct: fields read straight off the object (see engine.pxd).
        known: ev.Event = event  # type: ignore[assignment]  # (not an UnknownEvent: above)
        event_id = known.id
        seen = self._seen
        if event_id in seen:
            self._anomaly("duplicate")
            return
        stamp = known.ts  # (the event's own int object: kept in ``seen`` as it is)
        ts = stamp
        cutoff = self._cutoff
        if ts < cutoff:
            self._anomaly("too_late")
            return
        if ts > self._watermark:
            self._watermark = ts
        if self.lateness_ms == 0 and not self._buffer:
            # The common live path, inlined: no lateness, nothing buffered. With nothing
            # buffered every id kept has a timestamp at most the cutoff, so when time moves on
            # they all fall behind the horizon (what ``_forget_seen`` would drop one by one).
            # (``_seen_order`` is only kept for the buffered path: here ``seen`` holds the ids
            # of one instant.)
            if ts > cutoff:
                seen.clear()
                if self._seen_order:
                    self._seen_order.clear()
                self._cutoff = ts
            seen[event_id] = stamp
            self._process(known)
            return
        seen[event_id] = stamp
        self._seen_order.append((ts, event_id))
        self._arrivals += 1
        heapq.heappush(self._buffer, (ts, self._arrivals, known))
        self._release(self._watermark - self.lateness_ms)

    def apply_many(self, events: Iterable[ev.Event | ev.UnknownEvent]) -> None:
        for event in events:
            self.apply(event)

    def advance(self, now_ms: int) -> None:
        """Release buffered events older than ``now_ms`` minus the lateness (time passes even
        when no event arrives)."""
        if now_ms > self._watermark:
            self._watermark = now_ms
        self._release(self._watermark - self.lateness_ms)

    def flush(self) -> None:
        """Apply every buffered event (end of a replay)."""
        self._release(self._watermark)

    def _release(self, up_to: int) -> None:
        buffer = self._buffer
        while buffer and buffer[0][0] <= up_to:
            _, _, event = heapq.heappop(buffer)
            self._process(event)
        if up_to > self._cutoff:
            self._cutoff = up_to
            if not self.lateness_ms and not buffer:
                # Every id kept is of an instant before the new cutoff, and the live path keeps
                # no order of them (see ``apply``): all can go, as when an event moves time on.
                self._seen.clear()
                self._seen_order.clear()
        self._forget_seen()

    def _forget_seen(self) -> None:
        # An id is needed only while an event with its timestamp could still be accepted.
        horizon = self._cutoff - self.lateness_ms
        order, seen = self._seen_order, self._seen
        while order and order[0][0] < horizon:
            _, event_id = order.popleft()
            seen.pop(event_id, None)

    def _process(self, event: ev.Event) -> None:
        tenant = event.tenant
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenant(tenant)
        if self._dispatch(tenant, state, event):
            self.events_applied += 1
        else:
            self._anomaly("unhandled_event_type")

    def _dispatch(self, tenant: str, state: TenantState, event: Any) -> bool:
        """Apply the event with the handler of its class; False if no handler takes it.
        Compiled, a chain of pointer comparisons (the most frequent classes first) and direct
        calls of the handlers, each of which reads its class's fields straight off the event."""
        kind = type(event)
        if kind is _AGENT_READY:
            self._on_ready(tenant, state, event)
        elif kind is _CALL_QUEUED:
            self._on_call_queued(tenant, state, event)
        elif kind is _CALL_RINGING:
            self._on_call_ringing(tenant, state, event)
        elif kind is _CALL_ESTABLISHED:
            self._on_call_established(tenant, state, event)
        elif kind is _CALL_RELEASED:
            self._on_call_released(tenant, state, event)
        elif kind is _AGENT_AFTER_CALL_WORK:
            self._on_acw(tenant, state, event)
        elif kind is _AGENT_NOT_READY:
            self._on_not_ready(tenant, state, event)
        elif kind is _INTERACTION_QUEUED:
            self._on_ix_queued(tenant, state, event)
        elif kind is _INTERACTION_OFFERED:
            self._on_ix_offered(tenant, state, event)
        elif kind is _INTERACTION_ACCEPTED:
            self._on_ix_accepted(tenant, state, event)
        elif kind is _INTERACTION_DONE:
            self._on_ix_done(tenant, state, event)
        elif kind is _INTERACTION_CREATED:
            self._on_ix_created(tenant, state, event)
        elif kind is _VIRTUAL_QUEUE_ENTERED:
            self._on_vq_entered(tenant, state, event)
        elif kind is _VIRTUAL_QUEUE_LEFT:
            self._on_vq_left(tenant, state, event)
        elif kind is _CALL_HELD:
            self._on_call_held(tenant, state, event)
        elif kind is _CALL_RETRIEVED:
            self._on_call_retrieved(tenant, state, event)
        elif kind is _CALL_ABANDONED:
            self._on_call_abandoned(tenant, state, event)
        elif kind is _CALL_TRANSFERRED:
            self._on_call_transferred(tenant, state, event)
        elif kind is _AGENT_LOGIN:
            self._on_login(tenant, state, event)
        elif kind is _AGENT_CAPACITY:
            self._on_capacity(tenant, state, event)
        elif kind is _AGENT_LOGOUT:
            self._on_logout(tenant, state, event)
        elif kind is _AGENT_QUEUES_CHANGED:
            self._on_queues(tenant, state, event)
        elif kind is _AGENT_DND_ON:
            self._on_dnd_on(tenant, state, event)
        elif kind is _AGENT_DND_OFF:
            self._on_dnd_off(tenant, state, event)
        elif kind is _CALL_REFUSED:
            self._on_call_refused(tenant, state, event)
        elif kind is _CALL_DIVERTED:
            self._on_call_diverted(tenant, state, event)
        elif kind is _CALL_CONFERENCED:
            self._on_call_conferenced(tenant, state, event)
        elif kind is _CALL_DATA_UPDATED:
            self._on_call_data(tenant, state, event)
        elif kind is _INTERACTION_REJECTED:
            self._on_ix_rejected(tenant, state, event)
        elif kind is _INTERACTION_REVOKED:
            self._on_ix_revoked(tenant, state, event)
        elif kind is _INTERACTION_TRANSFERRED:
            self._on_ix_transferred(tenant, state, event)
        else:
            return False
        return True

    def _runtime_of(self, tenant: str) -> TenantRuntime:
        if tenant is self._last_tenant:
            runtime = self._last_runtime
            assert runtime is not None
            return runtime
        runtime = self._runtime[tenant]
        self._last_tenant, self._last_runtime = tenant, runtime
        return runtime

    def _anomaly(self, kind: str) -> None:
        self.anomalies[kind] = self.anomalies.get(kind, 0) + 1

    def _tenant(self, tenant: str) -> TenantState:
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenants[tenant] = TenantState(
                agents={}, calls={}, interactions={}, queues={}, vq_entries={}
            )
            self._runtime[tenant] = TenantRuntime(self._zone(tenant))
        return state

    def _zone(self, tenant: str) -> ZoneInfo:
        name = self._time_zones.get(tenant, self._default_zone)
        zone = self._zones.get(name)
        if zone is None:
            try:
                zone = self._zones[name] = ZoneInfo(name)
            except (ValueError, OSError, ZoneInfoNotFoundError) as exc:
                raise InvalidInput(f"unknown time zone {name!r}", field="time_zone") from exc
        return zone

    # --- configuration -----------------------------------------------------------------------

    def set_objects(self, tenant: str, config: ObjectConfig, ts_ms: int | None = None) -> None:
        """Set group membership; may change while running. Group status times move with the
        members from ``ts_ms`` (default: the newest event time seen)."""
        self._tenant(tenant)
        runtime = self._runtime[tenant]
        ts = self._watermark if ts_ms is None else ts_ms
        old_members = runtime.group_members
        groups = flatten_groups(
            {name: (g.agents, g.groups) for name, g in config.agent_groups.items()}
        )
        queue_groups = flatten_groups(
            {
                name: (
                    tuple(f"queue\x1f{q}" for q in g.queues)
                    + tuple(f"routing_point\x1f{q}" for q in g.routing_points),
                    g.groups,
                )
                for name, g in config.queue_groups.items()
            }
        )
        state = self._tenants[tenant]
        for group in set(old_members) | set(groups):
            before = old_members.get(group, frozenset())
            after = groups.get(group, frozenset())
            for agent in before - after:
                self._group_member_change(tenant, state, group, agent, ts, joining=False)
        runtime.config = config
        configured: dict[str, list[str]] = {}
        for queue, queue_config in config.queues.items():
            for agent in queue_config.agents:
                configured.setdefault(agent, []).append(queue)
        runtime.configured_queues = {a: tuple(q) for a, q in configured.items()}
        runtime.queue_skills = {queue: c.skill for queue, c in config.queues.items()}
        runtime.group_members = groups
        agent_groups: dict[str, list[str]] = {}
        for group, members in groups.items():
            for agent in members:
                agent_groups.setdefault(agent, []).append(group)
        runtime.agent_groups = {a: tuple(sorted(g)) for a, g in agent_groups.items()}
        runtime.queue_group_members = {
            name: frozenset(tuple(m.split("\x1f", 1)) for m in members)  # type: ignore[misc]
            for name, members in queue_groups.items()
        }
        queue_index: dict[tuple[str, str], list[str]] = {}
        for name, queue_members in runtime.queue_group_members.items():
            for member in queue_members:
                queue_index.setdefault(member, []).append(name)
        runtime.queue_groups = {k: tuple(sorted(v)) for k, v in queue_index.items()}
        for group, members in groups.items():
            for agent in members - old_members.get(group, frozenset()):
                self._group_member_change(tenant, state, group, agent, ts, joining=True)
        self._invalidate_routes()

    def _group_member_change(
        self,
        tenant: str,
        state: TenantState,
        group: str,
        agent: str,
        ts: int,
        *,
        joining: bool,
    ) -> None:
        agent_state = state.agents.get(agent)
        node = self._nodes.get((tenant, "agent_group", group))
        if agent_state is None or node is None:
            return
        for media, ms in agent_state.media.items():
            for times_sub in node.times.get(media, ()):
                if joining:
                    times_sub.tally.enter(agent, ts, times_sub.windows)
                else:
                    times_sub.tally.exit(
                        agent, ms.status, ms.status_reason, ms.since, ts, times_sub.windows
                    )
            for sub in node.statuses.get(media, {}).get(ms.status, ()):
                if sub.reasons is not None and ms.status_reason not in sub.reasons:
                    continue
                if joining:
                    sub.tally.enter(agent, ts, sub.windows)
                else:
                    sub.tally.exit(agent, ts, sub.windows)
        self._mark((node,))

    # --- routing -------------------------------------------------------------------------------

    def _invalidate_routes(self) -> None:
        self._generation += 1
        if self._routed:
            self._routed = False
            for runtime in self._runtime.values():
                runtime.queue_routes.clear()
                runtime.agent_routes.clear()

    def _agent_routes(self, tenant: str, agent_id: str, agent: AgentState) -> Routes:
        """The agent's shared routes, its own node beside them (``AgentState.routes``,
        ``.node``): set anew when they are not of the engine's generation."""
        routes = agent.routes
        if routes is not None and routes.generation == self._generation:
            return routes
        return self._route_agent(tenant, agent_id, agent)

    def _route_agent(self, tenant: str, agent_id: str, agent: AgentState) -> Routes:
        """``_agent_routes`` when they are not current: find them and set them."""
        runtime = self._runtime_of(tenant)
        agent.node = self._nodes.get((tenant, "agent", agent_id))
        groups = runtime.agent_groups.get(agent_id, ())
        queues = agent.queues
        configured = runtime.configured_queues.get(agent_id)
        if configured is not None:
            queues += configured
        key = (groups, queues)
        routes = runtime.agent_routes.get(key)
        if routes is None:
            routes = runtime.agent_routes[key] = Routes(self._generation)
            self._routed = True
            found = []
            for group in groups:
                node = self._nodes.get((tenant, "agent_group", group))
                if node is not None:
                    found.append(node)
            routes.nodes = tuple(found)
            node = self._nodes.get((tenant, "tenant", tenant))
            if node is not None:
                found.append(node)
            routes.status_nodes = tuple(found)
            routes.queues = queues
        agent.routes = routes
        return routes

    def _queue_routes(self, tenant: str, object_type: str, queue: str) -> Routes:
        runtime = self._runtime_of(tenant)
        by_id = runtime.queue_routes.get(object_type)
        if by_id is None:
            by_id = runtime.queue_routes[object_type] = {}
            self._routed = True
        routes = by_id.get(queue)
        if routes is None:
            routes = by_id[queue] = Routes(self._generation)
            found = []
            node = self._nodes.get((tenant, object_type, queue))
            if node is not None:
                found.append(node)
            for group in runtime.queue_groups.get((object_type, queue), ()):
                node = self._nodes.get((tenant, "queue_group", group))
                if node is not None:
                    found.append(node)
            if object_type == "queue":
                # The tenant sees ACD queues only, so a call through a routing point into a
                # queue counts once.
                node = self._nodes.get((tenant, "tenant", tenant))
                if node is not None:
                    found.append(node)
            routes.nodes = tuple(found)
            if object_type == "queue":
                routes.skill = runtime.queue_skills.get(queue)
        return routes

    # --- facts ---------------------------------------------------------------------------------

    def _agent_action(
        self,
        tenant: str,
        agent_id: str,
        agent: AgentState | None,
        media: str,
        kind: str,
        t: int,
        entered_t: int,
        dur: int,
        contact: ContactState | None,
    ) -> None:
        """An action of an agent: its own node's subscriptions, then its routes'."""
        if agent is None:
            agent = AgentState()  # a fact naming an agent never seen: routed for the occasion
        routes = self._agent_routes(tenant, agent_id, agent)
        node = agent.node
        if node is not None:
            # The node's subscriptions by kind for the media, as kept on the agent's media state
            # with its status route while that is current (no dictionary of the node's by media
            # to read); else from the node.
            ms = _media_state(agent, media)
            route = None if ms is None else ms.route
            if ms is not None and route is not None and route.generation == self._generation:
                by_kind = ms.own_actions
            else:
                by_kind = node.actions.get(media)
            subs = None if by_kind is None else by_kind[_KIND_INDEX[kind]]
            if subs:
                for sub in subs:
                    sub.hit(kind, t, entered_t, dur, contact)
                self._mark_own(agent, node)
        self._action_on(routes, media, kind, t, entered_t, dur, contact)

    def _fact_route(self, routes: Routes, media: str, kind: str) -> FactRoute:
        subs: list[Sub] = []
        changed: list[Node] = []
        index = _KIND_INDEX[kind]
        for node in routes.nodes or ():
            by_kind = node.actions.get(media)
            found = None if by_kind is None else by_kind[index]
            if found:
                subs.extend(found)
                changed.append(node)
        route = FactRoute(tuple(subs), tuple(changed))
        facts = list(_facts_of(routes, media))
        facts[index] = route
        routes_by_kind = routes.facts[media] = tuple(facts)
        if _same(media, "voice"):
            routes.voice = routes_by_kind
        return route

    def _queue_action(
        self,
        tenant: str,
        object_type: str,
        queue: str,
        media: str,
        kind: str,
        t: int,
        entered_t: int,
        dur: int,
        contact: ContactState | None,
    ) -> None:
        self._action_on(
            self._queue_routes(tenant, object_type, queue), media, kind, t, entered_t, dur, contact
        )

    def _action_on(
        self,
        routes: Routes,
        media: str,
        kind: str,
        t: int,
        entered_t: int,
        dur: int,
        contact: ContactState | None,
    ) -> None:
        """An action of an agent or a queue (its routes)."""
        if not routes.nodes:
            return  # nothing open on the object or its groups
        route = _facts_of(routes, media)[_KIND_INDEX[kind]]
        if route is None:
            route = self._fact_route(routes, media, kind)
        subs, changed = route.subs, route.changed
        if changed:
            for sub in subs:
                sub.hit(kind, t, entered_t, dur, contact)
            if route.marked != self._epoch:
                route.marked = self._epoch
                self._mark(changed)

    def _queue_fact(
        self,
        tenant: str,
        object_type: str,
        queue: str,
        media: str,
        kind: str,
        t: int,
        entered_t: int,
        dur: int,
        contact: ContactState | None,
    ) -> None:
        """A contact enters or leaves a queue: the queue's contents changed (its objects are
        marked) and an action happened (``_queue_action``), in one call."""
        self._fact_on(
            self._queue_routes(tenant, object_type, queue), media, kind, t, entered_t, dur, contact
        )

    def _fact_on(
        self,
        routes: Routes,
        media: str,
        kind: str,
        t: int,
        entered_t: int,
        dur: int,
        contact: ContactState | None,
    ) -> None:
        """``_queue_fact`` on the queue's routes."""
        touched = routes.nodes
        if not touched:
            return  # nothing open on the queue or its groups: no action route either
        if routes.marked != self._epoch:
            routes.marked = self._epoch
            self._mark(touched)  # a superset of the nodes the action changes
        route = _facts_of(routes, media)[_KIND_INDEX[kind]]
        if route is None:
            route = self._fact_route(routes, media, kind)
        for sub in route.subs:
            sub.hit(kind, t, entered_t, dur, contact)

    def _refresh(
        self, tenant: str, agent_id: str, agent: AgentState, ms: MediaState, media: str, ts: int
    ) -> None:
        """Set the agent's effective status on ``media``: its contacts' state, else its base —
        but ``busy`` for a ready base while a contact of another media is in the way."""
        contacts = ms.contacts
        if contacts:
            # Talking on any contact, else holding any, else ringing. (A loop: ``in`` over the
            # values would build a view and compare each value twice.)
            status = "ringing"
            for contact_status in contacts.values():
                if _same(contact_status, "talking"):
                    status = "talking"
                    break
                if _same(contact_status, "held"):
                    status = "held"
            if not _same(ms.status, status) or ms.status_reason is not None:
                self._set_status(tenant, agent_id, agent, ms, media, status, None, ts)
        else:
            base = ms.base
            if _same(base, "ready") and len(agent.media) > 1 and _busy_elsewhere(agent, media):
                base = "busy"
            if not _same(ms.status, base) or not _same(ms.status_reason, ms.reason):
                self._set_status(tenant, agent_id, agent, ms, media, base, ms.reason, ts)

    def _refresh_others(
        self, tenant: str, agent_id: str, agent: AgentState, ms: MediaState, ts: int
    ) -> None:
        """The agent's contacts on ``ms``'s media began or ended: its other media may become
        busy or ready (``_busy_elsewhere``)."""
        for media, other in agent.media.items():
            if other is not ms and not other.contacts:
                self._refresh(tenant, agent_id, agent, other, media, ts)

    def _set_status(
        self,
        tenant: str,
        agent_id: str,
        agent: AgentState,
        ms: MediaState,
        media: str,
        status: str,
        reason: str | None,
        ts: int,
    ) -> None:
        old, old_reason, since = ms.status, ms.status_reason, ms.since
        if _same(old, status) and _same(old_reason, reason):
            return
        if ms.wrap is not None:
            self._wrap_status(tenant, ms, old, status, since, ts)
        route = ms.route
        if route is None or route.generation != self._generation:
            route = self._status_route(tenant, agent_id, agent, ms, media)
        ms.status, ms.status_reason, ms.since = status, reason, ts
        node = agent.node  # (current: routed in this generation, as the route was)
        if node is not None:
            self._mark_own(agent, node)
            self._status_on_node(ms, agent_id, old, old_reason, since, status, reason, ts)
        changed = route.changed
        if not changed:
            return
        if route.marked != self._epoch:
            route.marked = self._epoch
            self._mark(changed)
        if route.times:
            index = STATUS_INDEX.get(old, -1)
            for times, windows in route.times:
                times.change(agent_id, index, old_reason, since, ts, windows)
        for sliding in route.sliding.get(old, ()):
            sliding.change(agent_id, old, old_reason, since, ts, None)
        by_status = route.by_status
        if by_status:
            self._move_status(by_status, agent_id, old, status, reason, ts)

    def _wrap_status(
        self, tenant: str, ms: MediaState, old: str, status: str, since: int, ts: int
    ) -> None:
        """After-call work following a contact answered from a queue is the queue's: it
        counts there when it ends (``after_call_work``, duration: its length) if it began at
        the contact's release, or later by an ``agent.acw`` naming the contact, with no other
        status between; any other status change after the release drops the contact."""
        contact = ms.wrap
        assert contact is not None
        if ms.wrap_at < 0:  # (in after-call work following the contact: ``old`` is acw)
            ms.wrap = None
            if contact.answered_from is not None:
                self._action_on(
                    self._answered_routes(tenant, contact),
                    contact.media,
                    "after_call_work",
                    ts,
                    contact.answered_entered,
                    ts - since,
                    contact,
                )
        elif ts != ms.wrap_at:
            ms.wrap = None
        elif _same(status, "acw"):
            ms.wrap_at = -1

    def _move_status(
        self,
        by_status: dict[str, tuple[StatusSub, ...]],
        agent_id: str,
        old: str,
        status: str,
        reason: str | None,
        ts: int,
    ) -> None:
        """The agent leaves the status accumulators of ``old`` and enters those of ``status``
        (by status: a :class:`StatusRoute`'s or a node's for one media). Each accumulator is
        exited before it is entered (a mask may hold both statuses)."""
        for sub in by_status.get(old, ()):
            sub.tally.exit(agent_id, ts, sub.windows)
        for sub in by_status.get(status, ()):
            if sub.reasons is None or reason in sub.reasons:
                sub.tally.enter(agent_id, ts, sub.windows)

    def _status_on_node(
        self,
        ms: MediaState,
        agent_id: str,
        old: str,
        old_reason: str | None,
        since: int,
        status: str,
        reason: str | None,
        ts: int,
    ) -> None:
        """A status change of the agent on its own node's accumulators for the media (what a
        :class:`StatusRoute` holds for the nodes of its routes, kept on the media state with
        it: ``MediaState.own``, ``own_statuses``). The accumulators are read from one flat
        tuple rather than through the node's dictionary by media and a subscription object
        each, several dependent cache misses fewer on every status change at scale."""
        own = ms.own
        if own:
            index = STATUS_INDEX.get(old, -1)
            for at in range(0, len(own), 2):
                tally = own[at]
                if isinstance(tally, StatusTimes):
                    fixed: StatusTimes = tally
                    fixed.change(agent_id, index, old_reason, since, ts, own[at + 1])
                else:
                    ring: SlidingStatusTimes = tally
                    if index >= 0 and ring.bits >> index & 1:
                        ring.change(agent_id, old, old_reason, since, ts, None)
        by_status = ms.own_statuses
        if by_status:
            self._move_status(by_status, agent_id, old, status, reason, ts)

    def _status_route(
        self, tenant: str, agent_id: str, agent: AgentState, ms: MediaState, media: str
    ) -> StatusRoute:
        """The status route of the agent's routes for the media, kept on its state for the
        media."""
        routes = self._agent_routes(tenant, agent_id, agent)
        route = routes.statuses.get(media)
        if route is None:
            route = routes.statuses[media] = self._build_status_route(tenant, routes, media)
        ms.route = route
        own: list[Any] = []
        own_statuses = own_actions = None
        node = agent.node  # (current: the routes just were)
        if node is not None:
            for sub in node.times.get(media, ()):
                own += (sub.tally, sub.windows)
            own_statuses = node.statuses.get(media) or None
            own_actions = node.actions.get(media)
        ms.own = tuple(own)
        ms.own_statuses = own_statuses
        ms.own_actions = own_actions
        return route

    def _build_status_route(self, tenant: str, routes: Routes, media: str) -> StatusRoute:
        nodes = routes.status_nodes or ()
        times: list[tuple[StatusTimes, FixedWindows | None]] = []
        sliding: dict[str, list[SlidingStatusTimes]] = {}
        for node in nodes:
            for sub in node.times.get(media, ()):
                tally = sub.tally
                if isinstance(tally, StatusTimes):
                    times.append((tally, sub.windows))
                else:
                    for status in tally.mask:
                        sliding.setdefault(status, []).append(tally)
        by_status: dict[str, list[StatusSub]] = {}
        for node in nodes:
            for status, subs in node.statuses.get(media, {}).items():
                if subs:
                    by_status.setdefault(status, []).extend(subs)
        changed = list(nodes)
        # Queue and queue-group nodes with agent-status statistics the agents count in.
        for queue in routes.queues:
            for queue_node in self._queue_watchers(tenant, queue):
                if queue_node not in changed:
                    changed.append(queue_node)
        return StatusRoute(
            self._generation,
            tuple(changed),
            tuple(times),
            {status: tuple(subs) for status, subs in sliding.items()},
            {status: tuple(subs) for status, subs in by_status.items()},
        )

    def _queue_watchers(self, tenant: str, queue: str) -> tuple[Node, ...]:
        """The nodes of an ACD queue (its own, its groups') that count its agents' statuses."""
        routes = self._queue_routes(tenant, "queue", queue)
        watchers = routes.status_nodes
        if watchers is None:
            found = [node for node in routes.nodes or () if node.watches_agents]
            watchers = routes.status_nodes = tuple(found)
        return watchers

    def _queue_agents(self, tenant: str, object_type: str, object_id: str) -> set[str]:
        """Agents of a queue (login queues and configured members), or of the queues of a
        queue group — a set, so an agent in two of them counts once."""
        runtime = self._runtime[tenant]
        if object_type == "queue":
            queues = [object_id]
        else:
            members = runtime.queue_group_members.get(object_id, frozenset())
            queues = sorted(q for kind, q in members if kind == "queue")
        agents: set[str] = set()
        for queue in queues:
            agents.update(runtime.login_queues.get(queue, ()))
            queue_config = runtime.config.queues.get(queue)
            if queue_config is not None:
                agents.update(queue_config.agents)
        return agents

    def _set_login_queues(
        self, tenant: str, agent_id: str, agent: AgentState, queues: tuple[str, ...]
    ) -> None:
        if agent.queues == queues:
            return
        runtime = self._runtime_of(tenant)
        index = runtime.login_queues
        # Per-queue agent counts are computed on read: tell the collector which queues (and
        # queue groups) gained or lost the agent.
        old = agent.queues
        for queue in old:
            if queue not in queues:
                self._queue_agents_changed(tenant, queue)
            members = index.get(queue)
            if members is not None:
                members.discard(agent_id)
        for queue in queues:
            if queue not in old:
                self._queue_agents_changed(tenant, queue)
            members = index.get(queue)
            if members is None:
                members = index[queue] = set()
            members.add(agent_id)
        agent.queues = queues
        agent.routes = None  # its queues changed: so do its routes
        for ms in agent.media.values():
            ms.route = None

    def _session_queues(self, tenant: str, agent_id: str, agent: AgentState) -> None:
        """The session's queues: those of each of its media (``AgentState.media_queues``),
        each once, in the order they were named."""
        queues: dict[str, None] = {}
        for named in agent.media_queues.values():
            for queue in named:
                queues[queue] = None
        self._set_login_queues(tenant, agent_id, agent, tuple(queues))

    def _queue_agents_changed(self, tenant: str, queue: str) -> None:
        """Mark the queue's objects, but not the tenant's (its agents did not change), once per
        change epoch (``Routes.agents_marked``; or all of them were: ``.marked``)."""
        routes = self._queue_routes(tenant, "queue", queue)
        epoch = self._epoch
        if routes.agents_marked == epoch or routes.marked == epoch:
            return
        routes.agents_marked = epoch
        changed = self._changed
        for node in routes.nodes or ():
            if not node.dirty and node.key[1] != "tenant":
                node.dirty = True
                changed.append(node)

    def _agent(self, tenant: str, state: TenantState, agent_id: str, ts: int) -> AgentState:
        agent = state.agents.get(agent_id)
        if agent is None:
            agent = state.agents[agent_id] = AgentState()
            agent.id = agent_id
        return agent

    def _media(
        self, tenant: str, agent_id: str, agent: AgentState, media: str, ts: int
    ) -> MediaState:
        ms = _media_state(agent, media)
        if ms is None:
            # (base, reason, status, status reason, since: positional arguments are cheaper)
            ms = agent.media[media] = MediaState("logged_out", None, "", None, ts)
            if _same(media, "voice"):
                agent.voice = ms
            self._set_status(tenant, agent_id, agent, ms, media, "logged_out", None, ts)
        return ms

    # --- agent events --------------------------------------------------------------------------

    def _on_login(self, tenant: str, state: TenantState, e: ev.AgentLogin) -> None:
        agent_id: str  # (then the agent's own id: see below)
        agent_id, ts, queues = e.agent, e.ts, e.queues
        medias = [_PLAIN[media] for media in e.media]
        agent = self._agent(tenant, state, agent_id, ts)
        # From here on the agent's own id (``AgentState.id``) keys what it is entered in: see
        # ``TenantState``. (So in every handler, for agents and contacts.)
        agent_id = agent.id
        joining = agent.logged_in
        if joining:
            # A login adding media to a session is normal; one adding nothing is not.
            for media in medias:
                ms = agent.media.get(media)
                if ms is None or ms.base == "logged_out":
                    break
            else:
                self._anomaly("login_while_logged_in")
            # It joins the session: its queues add to the session's (only ``agent.queues``
            # replaces them), and the login time and the since-login totals carry on.
        else:
            agent.logged_in = True
            agent.login_ts = ts
            agent.media_queues = {}
        if queues:
            named = tuple(dict.fromkeys(queues))
            by_media = agent.media_queues
            for media in medias:
                known = by_media.get(media, ())
                by_media[media] = known + tuple(queue for queue in named if queue not in known)
            self._session_queues(tenant, agent_id, agent)
        self._agent_routes(tenant, agent_id, agent)  # (so that ``agent.node`` is current)
        node = agent.node
        if node is not None and not joining:
            for tally in node.sessions:
                tally.reset_session(ts)
        for media in medias:
            ms = self._media(tenant, agent_id, agent, media, ts)
            if ms.base == "logged_out":
                ms.base, ms.reason = "not_ready", None
                self._refresh(tenant, agent_id, agent, ms, media, ts)
                self._agent_action(tenant, agent_id, agent, media, "login", ts, ts, 0, None)

    def _on_queues(self, tenant: str, state: TenantState, e: ev.AgentQueuesChanged) -> None:
        agent = state.agents.get(e.agent)
        if agent is None or not agent.logged_in:
            self._anomaly("queues_while_logged_out")
            return
        queues = tuple(e.queues)
        named = [_PLAIN[media] for media in e.media]
        if not named:
            # The whole set: every media of the session now serves these queues.
            named = list(agent.media_queues) or [
                media for media, ms in agent.media.items() if ms.base != "logged_out"
            ]
            agent.media_queues = {}
        for media in named:
            agent.media_queues[media] = queues
        if named:
            self._session_queues(tenant, agent.id, agent)
        else:  # logged in on no media at all: the queues are the session's still
            self._set_login_queues(tenant, agent.id, agent, queues)

    def _on_logout(self, tenant: str, state: TenantState, e: ev.AgentLogout) -> None:
        """The agent logs out of the media the event names (none named: of all of them); the
        session ends, and with it the agent's queues, when no media is left logged in."""
        agent = self._agent(tenant, state, e.agent, e.ts)
        agent_id, ts = agent.id, e.ts
        named = [_PLAIN[media] for media in e.media]
        ending = [
            media
            for media, ms in agent.media.items()
            if ms.base != "logged_out" and (not named or media in named)
        ]
        if not agent.logged_in or not ending:
            self._anomaly("logout_while_logged_out")
            return
        for media in ending:
            ms = agent.media[media]
            ms.base, ms.reason = "logged_out", None
            self._refresh(tenant, agent_id, agent, ms, media, ts)
            self._agent_action(
                tenant, agent_id, agent, media, "logout", ts, ts, ts - agent.login_ts, None
            )
        # After the status changes, so that the queues still see the agent leave.
        for ms in agent.media.values():
            if ms.base != "logged_out":
                # Logged in on another media still: the session goes on, without the queues
                # of the media it left.
                by_media = agent.media_queues
                if any(media in by_media for media in ending):
                    for media in ending:
                        by_media.pop(media, None)
                    self._session_queues(tenant, agent_id, agent)
                return
        agent.logged_in = False
        agent.media_queues = {}
        self._set_login_queues(tenant, agent_id, agent, ())

    def _on_ready(self, tenant: str, state: TenantState, e: ev.AgentReady) -> None:
        self._agent_state(tenant, state, e.agent, _PLAIN[e.media], e.ts, "ready", None)

    def _on_not_ready(self, tenant: str, state: TenantState, e: ev.AgentNotReady) -> None:
        self._agent_state(tenant, state, e.agent, _PLAIN[e.media], e.ts, "not_ready", e.reason)

    def _on_acw(self, tenant: str, state: TenantState, e: ev.AgentAfterCallWork) -> None:
        media = _PLAIN[e.media]
        if e.call is not None:
            # After-call work naming the call the agent released last follows it, however
            # long after the release it is reported (see ``_wrap_status``).
            agent = state.agents.get(e.agent)
            ms = None if agent is None else _media_state(agent, media)
            if ms is not None and ms.wrap is not None and ms.wrap_at >= 0 and ms.wrap.id == e.call:
                ms.wrap_at = e.ts
        self._agent_state(tenant, state, e.agent, media, e.ts, "acw", None)

    def _agent_state(
        self,
        tenant: str,
        state: TenantState,
        agent_id: str,
        media: str,
        ts: int,
        base: str,
        reason: str | None,
    ) -> None:
        """The agent's own status on ``media`` (ready, not ready for ``reason``, after-call
        work): its effective status unless contacts override it."""
        agent = state.agents.get(agent_id)
        if agent is None or not agent.logged_in:
            self._anomaly("state_while_logged_out")
            return
        agent_id = agent.id
        ms = _media_state(agent, media)
        if ms is None:
            ms = self._media(tenant, agent_id, agent, media, ts)
        ms.base, ms.reason = base, reason
        self._refresh(tenant, agent_id, agent, ms, media, ts)

    def _on_dnd_on(self, tenant: str, state: TenantState, e: ev.AgentDndOn) -> None:
        self._dnd(tenant, state, e.agent, e.ts, on=True)

    def _on_dnd_off(self, tenant: str, state: TenantState, e: ev.AgentDndOff) -> None:
        self._dnd(tenant, state, e.agent, e.ts, on=False)

    def _dnd(self, tenant: str, state: TenantState, agent_id: str, ts: int, *, on: bool) -> None:
        agent = self._agent(tenant, state, agent_id, ts)
        if agent.dnd != on:
            agent.dnd = on
            agent.dnd_since = ts
            self._agent_routes(tenant, agent_id, agent)  # (so that ``agent.node`` is current)
            node = agent.node
            if node is not None:
                self._mark_node(node)

    def _on_capacity(self, tenant: str, state: TenantState, e: ev.AgentCapacity) -> None:
        self._agent(tenant, state, e.agent, e.ts).capacity[_PLAIN[e.media]] = e.capacity

    # --- queue contents ------------------------------------------------------------------------

    def _queue_contents(
        self, state: TenantState, object_type: str, queue: str, media: str
    ) -> QueueContents:
        try:
            return state.queues[object_type][queue][media]
        except KeyError:
            pass
        by_id = state.queues.get(object_type)
        if by_id is None:
            by_id = state.queues[object_type] = {}
        by_media = by_id.get(queue)
        if by_media is None:
            by_media = by_id[queue] = {}
        contents = by_media.get(media)
        if contents is None:
            contents = by_media[media] = QueueContents()
        return contents

    def _enter_queue(
        self,
        tenant: str,
        state: TenantState,
        contact: ContactState,
        object_type: str,
        queue: str,
        ts: int,
    ) -> None:
        if contact.queue is not None:
            contact.cause = "routed"  # it moved on to another queue
            self._leave_queue(tenant, state, contact, "diverted", ts)
        if contact.transferred_at >= 0:  # (a transferred call going on)
            contact.transferred_at = -1
            self._runtime_of(tenant).transferred.pop(contact.id, None)
        contact.queue, contact.queue_type, contact.entered = queue, object_type, ts
        routes = self._queue_routes(tenant, object_type, queue)
        if object_type == "queue":
            contact.skill = routes.skill
        media = contact.media
        voice = _same(media, "voice")
        contents = routes.voice_contents if voice else routes.contents.get(media)
        if contents is None:
            contents = routes.contents[media] = self._queue_contents(
                state, object_type, queue, media
            )
            if voice:
                routes.voice_contents = contents
        waiting = contents.waiting
        waiting[contact.id] = ts
        # Kept on the contact for when it leaves: no lookups by queue id then.
        contact.waiting_in, contact.waiting_routes = contents, routes
        self._fact_on(routes, media, "entered", ts, ts, 0, contact)
        if contact.first_entered < 0 and _same(object_type, "queue"):
            contact.first_entered = ts
            self._contact_fact(tenant, contact, "entered", ts)

    def _leave_queue(
        self,
        tenant: str,
        state: TenantState,
        contact: ContactState,
        kind: str,
        ts: int,
        reported: int = -1,
    ) -> None:
        """The contact leaves the queue it waits in (``kind``: answered, abandoned…);
        ``reported`` is the wait the platform reported, -1 if none."""
        queue, object_type, entered = contact.queue, contact.queue_type, contact.entered
        if queue is None:
            return
        contact.queue = None
        contents = contact.waiting_in
        if contents is None:  # (a contact restored from a snapshot)
            contents = self._queue_contents(state, object_type, queue, contact.media)
        routes = contact.waiting_routes
        if routes is None or routes.generation != self._generation:
            routes = self._queue_routes(tenant, object_type, queue)
        contact.waiting_in = None
        contact.waiting_routes = None
        waiting = contents.waiting
        waiting.pop(contact.id, None)
        if kind == "answered":
            if contact.answered_from is not None:
                # Answered before in another queue (transferred back into a queue).
                self._end_contact(tenant, state, contact)
            in_progress = contents.in_progress
            in_progress[contact.id] = ts
            contact.answered_from, contact.answered_type = queue, object_type
            contact.answered_entered, contact.answered_at = entered, ts
            contact.answered_in, contact.answered_routes = contents, routes
        contact.reported = reported
        self._fact_on(routes, contact.media, kind, ts, entered, ts - entered, contact)
        contact.reported = -1
        if contact.first_answered < 0 and contact.first_entered >= 0 and kind != "diverted":
            # The contact's outcome, once: answered (its first answer), or it left the queues
            # unanswered. (A diversion to another queue is no outcome of the contact's; one
            # out of view is, where the engine forgets the contact: ``_forget_diverted``.)
            if kind == "answered":
                contact.first_answered = ts
            self._contact_fact(tenant, contact, kind, ts)

    def _contact_fact(self, tenant: str, contact: ContactState, kind: str, ts: int) -> None:
        """A fact of the contact as the tenant's customer sees it (``count: contacts``): its
        first queue entry, and its outcome timed from there."""
        routes = self._contact_routes(tenant)
        if not routes.nodes:
            return
        media, first = contact.media, contact.first_entered
        index_kind = _CONTACT_KIND[kind]
        route = _facts_of(routes, media)[_KIND_INDEX[index_kind]]
        if route is None:
            route = self._fact_route(routes, media, index_kind)
        if route.changed:
            for sub in route.subs:
                sub.hit(kind, ts, first, ts - first, contact)
            if route.marked != self._epoch:
                route.marked = self._epoch
                self._mark(route.changed)

    def _contact_routes(self, tenant: str) -> Routes:
        """The routes of the contacts' facts: the tenant's node (kept with the queues')."""
        runtime = self._runtime_of(tenant)
        by_id = runtime.queue_routes.get("tenant")
        if by_id is None:
            by_id = runtime.queue_routes["tenant"] = {}
            self._routed = True
        routes = by_id.get(tenant)
        if routes is None:
            routes = by_id[tenant] = Routes(self._generation)
            node = self._nodes.get((tenant, "tenant", tenant))
            routes.nodes = () if node is None else (node,)
        return routes

    def _forget_diverted(self, tenant: str, contact: ContactState, ts: int) -> None:
        """The contact, diverted out of view unanswered, leaves the tenant's queues."""
        if contact.first_answered < 0 and contact.first_entered >= 0:
            self._contact_fact(tenant, contact, "diverted", ts)

    def _answered_routes(self, tenant: str, contact: ContactState) -> Routes:
        """The routes of the queue the contact was answered from (``answered_from``)."""
        routes = contact.answered_routes
        if routes is None or routes.generation != self._generation:
            queue = contact.answered_from
            assert queue is not None
            routes = contact.answered_routes = self._queue_routes(
                tenant, contact.answered_type, queue
            )
        return routes

    def _end_contact(self, tenant: str, state: TenantState, contact: ContactState) -> None:
        if contact.answered_from is not None:
            contents = contact.answered_in
            if contents is None:  # (a contact restored from a snapshot)
                contents = self._queue_contents(
                    state, contact.answered_type, contact.answered_from, contact.media
                )
            in_progress = contents.in_progress
            in_progress.pop(contact.id, None)
            routes = self._answered_routes(tenant, contact)
            nodes = routes.nodes
            if nodes and routes.marked != self._epoch:
                routes.marked = self._epoch
                self._mark(nodes)

    def _drop_leg(
        self,
        tenant: str,
        state: TenantState,
        contact: ContactState,
        agent_id: str,
        ts: int,
        *,
        completed: bool,
        talk_ms: int = -1,
    ) -> None:
        """The agent's leg of the contact ends (``completed``: released, not missed);
        ``talk_ms`` is the talk time the platform reported, -1 if none."""
        leg = contact.legs.pop(agent_id, None)
        if leg is None:
            return
        media = contact.media
        entered = contact.answered_entered if contact.answered_entered >= 0 else ts
        agent = state.agents.get(agent_id)
        if agent is not None:
            agent_id = agent.id
        if leg.hold_since >= 0:
            self._agent_action(
                tenant, agent_id, agent, media, "hold", ts, entered, ts - leg.hold_since, contact
            )
        if leg.answered >= 0:
            if completed:
                talk = ts - leg.answered
                contact.reported = talk_ms
                self._agent_action(
                    tenant, agent_id, agent, media, "released", ts, entered, talk, contact
                )
                if contact.answered_from is not None:
                    self._action_on(
                        self._answered_routes(tenant, contact),
                        media,
                        "released",
                        ts,
                        entered,
                        talk,
                        contact,
                    )
                    if agent is not None:
                        # After-call work that begins now follows this contact: its queue's.
                        # (A copy as it is now: a transferred call goes on to another queue.)
                        wrap_ms = _media_state(agent, media)
                        if wrap_ms is not None:
                            wrap = ContactState(
                                media,
                                contact.direction,
                                dict(contact.data),
                                answered_from=contact.answered_from,
                                answered_type=contact.answered_type,
                                answered_entered=contact.answered_entered,
                                skill=contact.skill,
                            )
                            wrap.id = contact.id
                            wrap_ms.wrap, wrap_ms.wrap_at = wrap, ts
                contact.reported = -1
        elif contact.direction != "outbound":
            # An outbound call that rang and ended unanswered was the agent's own attempt,
            # not a call the agent missed.
            self._agent_action(tenant, agent_id, agent, media, "missed", ts, entered, 0, contact)
        if agent is not None:
            ms = _media_state(agent, media)
            if ms is not None and ms.contacts.pop(contact.id, None) is not None:
                self._refresh(tenant, agent_id, agent, ms, media, ts)
                if not ms.contacts and len(agent.media) > 1:
                    self._refresh_others(tenant, agent_id, agent, ms, ts)

    def _set_leg(
        self, tenant: str, contact: ContactState, agent: AgentState, status: str, ts: int
    ) -> Leg:
        """The agent's leg of the contact in ``status``, and the agent's status from it (both
        keyed by the agent's and the contact's own ids: see ``TenantState``)."""
        agent_id = agent.id
        leg = contact.legs.get(agent_id)
        if leg is None:
            leg = contact.legs[agent_id] = Leg(status, ts if status == "ringing" else -1)
        leg.status = status
        media = contact.media
        ms = _media_state(agent, media)
        if ms is None:
            ms = self._media(tenant, agent_id, agent, media, ts)
        contacts = ms.contacts
        first = not contacts
        contacts[contact.id] = status
        self._refresh(tenant, agent_id, agent, ms, media, ts)
        if first and len(agent.media) > 1:
            self._refresh_others(tenant, agent_id, agent, ms, ts)
        return leg

    # --- call events ---------------------------------------------------------------------------

    def _call(self, state: TenantState, call_id: str, direction: str) -> ContactState:
        call = state.calls.get(call_id)
        if call is None:
            call = state.calls[call_id] = ContactState("voice", direction)
            call.id = call_id
        return call

    def _on_call_queued(self, tenant: str, state: TenantState, e: ev.CallQueued) -> None:
        call_id, data = e.call, e.data
        call = state.calls.get(call_id)
        if call is None:
            call = self._call(state, call_id, _PLAIN[e.direction])
        if data:
            call.data.update(data)
        self._enter_queue(tenant, state, call, _PLAIN[e.point], e.queue, e.ts)

    def _on_call_refused(self, tenant: str, state: TenantState, e: ev.CallRefused) -> None:
        call = state.calls.get(e.call)
        if call is not None and call.queue == e.queue:
            self._anomaly("refused_while_queued")
            return
        routes = self._queue_routes(tenant, "queue", e.queue)
        if call is None:
            # Turned away at the door, the call is not kept; for the statistics' filters it is
            # what it would have been queued as: inbound, with the queue's skill.
            call = ContactState("voice", "inbound")
            call.id = e.call
            call.skill = routes.skill
        call.cause = _PLAIN[e.reason]
        self._action_on(routes, "voice", "refused", e.ts, e.ts, 0, call)

    def _on_call_diverted(self, tenant: str, state: TenantState, e: ev.CallDiverted) -> None:
        call = state.calls.get(e.call)
        if call is None or call.queue != e.queue:
            self._anomaly("diverted_not_queued")
            return
        cause, wait = e.cause, e.wait_ms
        call.cause = None if cause is None else _PLAIN[cause]
        self._leave_queue(tenant, state, call, "diverted", e.ts, -1 if wait is None else wait)
        if not call.legs:
            # Sent to a target outside our view: forget it (a later call.queued starts anew).
            self._forget_diverted(tenant, call, e.ts)
            self._end_contact(tenant, state, call)
            del state.calls[e.call]

    def _on_call_ringing(self, tenant: str, state: TenantState, e: ev.CallRinging) -> None:
        agent_id: str | None  # (then the agent's own id)
        call_id, agent_id, ts = e.call, e.agent, e.ts
        call = state.calls.get(call_id)
        if call is None:
            call = self._call(state, call_id, _PLAIN[e.direction])
        if agent_id is None:
            return
        if agent_id in call.legs:
            self._anomaly("ringing_twice")
            return
        agent = self._agent(tenant, state, agent_id, ts)
        agent_id = agent.id
        self._set_leg(tenant, call, agent, "ringing", ts)
        entered = call.entered if call.queue is not None else ts
        self._agent_action(tenant, agent_id, agent, "voice", "offered", ts, entered, 0, call)

    def _on_call_established(self, tenant: str, state: TenantState, e: ev.CallEstablished) -> None:
        agent_id: str | None  # (then the agent's own id)
        call_id, agent_id, ts = e.call, e.agent, e.ts
        call = state.calls.get(call_id)
        if call is None:
            call = self._call(state, call_id, _PLAIN[e.direction])
        if agent_id is not None:
            leg = call.legs.get(agent_id)
            if leg is not None and leg.answered >= 0:
                self._anomaly("established_twice")
                return
        if call.queue is not None:
            wait = e.wait_ms
            self._leave_queue(tenant, state, call, "answered", ts, -1 if wait is None else wait)
        elif e.queue is not None and call.answered_from is None:
            self._anomaly("established_not_queued")
        if call.answered_at < 0:
            call.answered_at = ts
        if agent_id is None:
            return
        # Offers ringing at other agents end unanswered.
        for other in [a for a, leg in call.legs.items() if leg.answered < 0 and a != agent_id]:
            self._drop_leg(tenant, state, call, other, ts, completed=False)
        agent = self._agent(tenant, state, agent_id, ts)
        agent_id = agent.id
        leg = self._set_leg(tenant, call, agent, "talking", ts)
        leg.answered = ts
        entered = call.answered_entered if call.answered_entered >= 0 else ts
        ring = ts - leg.rang if leg.rang >= 0 else 0
        ring_ms = e.ring_ms
        call.reported = -1 if ring_ms is None else ring_ms
        self._agent_action(tenant, agent_id, agent, "voice", "answered", ts, entered, ring, call)
        call.reported = -1

    def _on_call_held(self, tenant: str, state: TenantState, e: ev.CallHeld) -> None:
        call = state.calls.get(e.call)
        leg = _leg(call, e.agent)
        if call is None or leg is None or leg.status != "talking" or e.agent is None:
            self._anomaly("held_without_talking_call")
            return
        leg.hold_since = e.ts
        agent = self._agent(tenant, state, e.agent, e.ts)
        self._set_leg(tenant, call, agent, "held", e.ts)

    def _on_call_retrieved(self, tenant: str, state: TenantState, e: ev.CallRetrieved) -> None:
        call = state.calls.get(e.call)
        leg = _leg(call, e.agent)
        if call is None or leg is None or leg.status != "held" or e.agent is None:
            self._anomaly("retrieved_without_held_call")
            return
        entered = call.answered_entered if call.answered_entered >= 0 else e.ts
        agent = self._agent(tenant, state, e.agent, e.ts)
        self._agent_action(
            tenant, e.agent, agent, "voice", "hold", e.ts, entered, e.ts - leg.hold_since, call
        )
        leg.hold_since = -1
        self._set_leg(tenant, call, agent, "talking", e.ts)

    def _on_call_released(self, tenant: str, state: TenantState, e: ev.CallReleased) -> None:
        call_id, agent, ts = e.call, e.agent, e.ts
        talk = -1 if e.talk_ms is None else e.talk_ms
        calls = state.calls
        call = calls.get(call_id)
        if call is None:
            self._anomaly("released_unknown_call")
            return
        if agent is not None:
            leg = call.legs.get(agent)
            if leg is None:
                self._anomaly("released_without_leg")
                return
            # A leg released while still ringing (an unanswered outbound call, or a ring the
            # agent did not answer) ends without talk; the agent must not stay "ringing".
            self._drop_leg(
                tenant, state, call, agent, ts, completed=leg.answered >= 0, talk_ms=talk
            )
        else:
            for agent_id in list(call.legs):
                self._drop_leg(tenant, state, call, agent_id, ts, completed=True, talk_ms=talk)
        if call.queue is not None and agent is None:
            self._anomaly("released_while_queued")
            call.cause = None
            self._leave_queue(tenant, state, call, "diverted", ts)
            if not call.legs:
                self._forget_diverted(tenant, call, ts)
        if not call.legs and call.queue is None:
            self._end_contact(tenant, state, call)
            if call.transferred_at >= 0:
                self._keep_transferred(tenant, state, call, ts)
            else:
                del calls[call_id]

    def _keep_transferred(
        self, tenant: str, state: TenantState, call: ContactState, ts: int
    ) -> None:
        """A transferred call's last leg ended: the call goes on (into the transfer's target
        queue, usually at once), so it is kept — one contact, whose first queue entry and
        first answer the tenant's counts per contact need. Calls kept longer than
        ``_TRANSFER_KEPT_MS`` went out of view, and are forgotten."""
        kept = self._runtime_of(tenant).transferred
        kept.pop(call.id, None)
        kept[call.id] = call.transferred_at
        horizon = ts - _TRANSFER_KEPT_MS
        while kept:
            oldest = next(iter(kept))
            if kept[oldest] >= horizon:
                break
            at = kept.pop(oldest)
            old = state.calls.get(oldest)
            if old is not None and not old.legs and old.queue is None and old.transferred_at == at:
                del state.calls[oldest]

    def _on_call_abandoned(self, tenant: str, state: TenantState, e: ev.CallAbandoned) -> None:
        call = state.calls.get(e.call)
        if call is None or call.queue is None:
            self._anomaly("abandoned_not_queued")
            return
        if call.queue != e.queue:
            self._anomaly("abandoned_from_other_queue")
        wait = e.wait_ms
        self._leave_queue(tenant, state, call, "abandoned", e.ts, -1 if wait is None else wait)
        for agent_id in list(call.legs):
            self._drop_leg(tenant, state, call, agent_id, e.ts, completed=False)
        self._end_contact(tenant, state, call)
        del state.calls[e.call]

    def _on_call_transferred(self, tenant: str, state: TenantState, e: ev.CallTransferred) -> None:
        call = state.calls.get(e.call)
        if call is None:
            self._anomaly("transferred_unknown_call")
            return
        entered = call.answered_entered if call.answered_entered >= 0 else e.ts
        call.transferred_at = e.ts
        if e.agent is not None:
            agent = state.agents.get(e.agent)
            self._agent_action(
                tenant, e.agent, agent, "voice", "transferred", e.ts, entered, 0, call
            )
        if call.answered_from is not None:
            self._action_on(
                self._answered_routes(tenant, call), "voice", "transferred", e.ts, entered, 0, call
            )

    def _on_call_conferenced(self, tenant: str, state: TenantState, e: ev.CallConferenced) -> None:
        call = state.calls.get(e.call)
        if call is None:
            self._anomaly("conferenced_unknown_call")
            return
        if e.agent is not None:
            entered = call.answered_entered if call.answered_entered >= 0 else e.ts
            agent = state.agents.get(e.agent)
            self._agent_action(
                tenant, e.agent, agent, "voice", "conferenced", e.ts, entered, 0, call
            )

    def _on_call_data(self, tenant: str, state: TenantState, e: ev.CallDataUpdated) -> None:
        call = state.calls.get(e.call)
        if call is None:
            self._anomaly("data_for_unknown_call")
            return
        call.data.update(e.data)

    # --- virtual queues ------------------------------------------------------------------------

    def _on_vq_entered(self, tenant: str, state: TenantState, e: ev.VirtualQueueEntered) -> None:
        contact_id = e.call or e.interaction
        if contact_id is None:
            self._anomaly("vq_without_contact")
            return
        key = f"{e.vq}\x1f{contact_id}"
        if key in state.vq_entries:
            self._anomaly("vq_entered_twice")
            return
        state.vq_entries[key] = ts = e.ts
        media = _PLAIN[e.media]
        waiting = self._queue_contents(state, "virtual_queue", e.vq, media).waiting
        waiting[contact_id] = ts
        contact = _vq_contact(state, e.call, e.interaction)
        self._queue_fact(tenant, "virtual_queue", e.vq, media, "entered", ts, ts, 0, contact)

    def _on_vq_left(self, tenant: str, state: TenantState, e: ev.VirtualQueueLeft) -> None:
        contact_id = e.call or e.interaction
        since = (
            None if contact_id is None else state.vq_entries.pop(f"{e.vq}\x1f{contact_id}", None)
        )
        if since is None or contact_id is None:
            self._anomaly("vq_left_without_entering")
            return
        media, ts = _PLAIN[e.media], e.ts
        waiting = self._queue_contents(state, "virtual_queue", e.vq, media).waiting
        waiting.pop(contact_id, None)
        contact = _vq_contact(state, e.call, e.interaction)
        self._queue_fact(
            tenant, "virtual_queue", e.vq, media, _PLAIN[e.reason], ts, since, ts - since, contact
        )

    # --- interactions --------------------------------------------------------------------------

    def _interaction(
        self, state: TenantState, interaction_id: str, media: str, direction: str = "inbound"
    ) -> ContactState:
        contact = state.interactions.get(interaction_id)
        if contact is None:
            contact = state.interactions[interaction_id] = ContactState(media, direction)
            contact.id = interaction_id
        return contact

    def _on_ix_created(self, tenant: str, state: TenantState, e: ev.InteractionCreated) -> None:
        if e.interaction in state.interactions:
            self._anomaly("interaction_created_twice")
            return
        contact = self._interaction(state, e.interaction, _PLAIN[e.media], _PLAIN[e.direction])
        contact.data.update(e.data)

    def _on_ix_queued(self, tenant: str, state: TenantState, e: ev.InteractionQueued) -> None:
        contact = self._interaction(state, e.interaction, _PLAIN[e.media])
        self._enter_queue(tenant, state, contact, "queue", e.queue, e.ts)

    def _on_ix_offered(self, tenant: str, state: TenantState, e: ev.InteractionOffered) -> None:
        agent_id: str  # (then the agent's own id)
        media, agent_id, ts = _PLAIN[e.media], e.agent, e.ts
        contact = self._interaction(state, e.interaction, media)
        if agent_id in contact.legs:
            self._anomaly("offered_twice")
            return
        agent = self._agent(tenant, state, agent_id, ts)
        agent_id = agent.id
        self._set_leg(tenant, contact, agent, "ringing", ts)
        entered = contact.entered if contact.queue is not None else ts
        self._agent_action(tenant, agent_id, agent, media, "offered", ts, entered, 0, contact)

    def _on_ix_accepted(self, tenant: str, state: TenantState, e: ev.InteractionAccepted) -> None:
        agent_id: str  # (then the agent's own id)
        media, agent_id, ts = _PLAIN[e.media], e.agent, e.ts
        contact = self._interaction(state, e.interaction, media)
        leg = contact.legs.get(agent_id)
        if leg is not None and leg.answered >= 0:
            self._anomaly("accepted_twice")
            return
        if contact.queue is not None:
            self._leave_queue(tenant, state, contact, "answered", ts)
        agent = self._agent(tenant, state, agent_id, ts)
        agent_id = agent.id
        leg = self._set_leg(tenant, contact, agent, "talking", ts)
        leg.answered = ts
        entered = contact.answered_entered if contact.answered_entered >= 0 else ts
        ring = ts - leg.rang if leg.rang >= 0 else 0
        self._agent_action(tenant, agent_id, agent, media, "answered", ts, entered, ring, contact)

    def _on_ix_rejected(self, tenant: str, state: TenantState, e: ev.InteractionRejected) -> None:
        self._ix_ended_offer(tenant, state, e.interaction, e.agent, e.ts)

    def _on_ix_revoked(self, tenant: str, state: TenantState, e: ev.InteractionRevoked) -> None:
        self._ix_ended_offer(tenant, state, e.interaction, e.agent, e.ts)

    def _ix_ended_offer(
        self, tenant: str, state: TenantState, interaction_id: str, agent_id: str, ts: int
    ) -> None:
        """An offer the agent did not accept (rejected by the agent, or revoked)."""
        contact = state.interactions.get(interaction_id)
        leg = None if contact is None else contact.legs.get(agent_id)
        if contact is None or leg is None or leg.answered >= 0:
            self._anomaly("offer_ended_without_offer")
            return
        self._drop_leg(tenant, state, contact, agent_id, ts, completed=False)

    def _on_ix_transferred(
        self, tenant: str, state: TenantState, e: ev.InteractionTransferred
    ) -> None:
        contact = state.interactions.get(e.interaction)
        if contact is None:
            self._anomaly("transferred_unknown_interaction")
            return
        media, agent_id, ts = _PLAIN[e.media], e.agent, e.ts
        entered = contact.answered_entered if contact.answered_entered >= 0 else ts
        if agent_id is not None:
            agent = state.agents.get(agent_id)
            self._agent_action(
                tenant, agent_id, agent, media, "transferred", ts, entered, 0, contact
            )
            if agent_id in contact.legs:
                self._drop_leg(tenant, state, contact, agent_id, ts, completed=True)
        if contact.answered_from is not None:
            self._action_on(
                self._answered_routes(tenant, contact),
                media,
                "transferred",
                ts,
                entered,
                0,
                contact,
            )

    def _on_ix_done(self, tenant: str, state: TenantState, e: ev.InteractionDone) -> None:
        contact = state.interactions.get(e.interaction)
        if contact is None:
            self._anomaly("done_unknown_interaction")
            return
        if contact.queue is not None:
            kind = "abandoned" if e.outcome is ev.InteractionOutcome.ABANDONED else "stopped"
            self._leave_queue(tenant, state, contact, kind, e.ts)
        for agent_id in list(contact.legs):
            self._drop_leg(tenant, state, contact, agent_id, e.ts, completed=True)
        self._end_contact(tenant, state, contact)
        del state.interactions[e.interaction]

    # --- opening statistics --------------------------------------------------------------------

    def _fixed_windows(self, tenant: str, definition: StatisticDefinition) -> FixedWindows | None:
        zone = self._zone(tenant)
        key = (zone.key, msgspec.json.encode(definition.profile).decode())
        if key not in self._windows:
            self._windows[key] = fixed_windows(definition.profile, zone)
        return self._windows[key]

    def _compile(self, tenant: str, stat_id: str) -> CompiledStatistic:
        zone = self._runtime[tenant].zone.key
        compiled = self._compiled.get((zone, stat_id))
        if compiled is None:
            definition = self.definitions.by_id[stat_id]
            compiled = CompiledStatistic(
                definition,
                _accumulated_parts(definition),
                self._fixed_windows(tenant, definition),
            )
            self._compiled[(zone, stat_id)] = compiled
        return compiled

    def open(self, tenant: str, object_type: str, object_id: str, stat_id: str) -> None:
        """Start computing ``stat_id`` for the object (idempotent; counted per caller)."""
        self._check_open(tenant, object_type, object_id, stat_id)
        self._tenant(tenant)
        self._open(tenant, (tenant, object_type, object_id), stat_id)

    def open_many(
        self, tenant: str, object_type: str, object_id: str, stat_ids: Iterable[str]
    ) -> None:
        """``open`` of each of ``stat_ids`` on the object, in turn, in one call — what a
        collector or a replay does on each object it meets, and a restore on each object.

        On an object with nothing open yet, the usual case, nothing is worked out per
        statistic: the object gets copies of the subscriptions of a template node on which
        the same list was opened once per time zone and object type (``_OpenPlan``), and the
        routes are invalidated once. Either way the object ends as after the ``open`` calls."""
        ids = tuple(stat_ids)
        key = (tenant, object_type, object_id)
        if key in self._nodes:
            for stat_id in ids:  # (checked first: a bad one opens none)
                self._check_open(tenant, object_type, object_id, stat_id)
            for stat_id in ids:
                self.open(tenant, object_type, object_id, stat_id)
        elif ids:
            self._open_planned(key, ids, None)

    def _check_open(self, tenant: str, object_type: str, object_id: str, stat_id: str) -> None:
        """NotFound or InvalidInput when ``stat_id`` cannot be opened on the object."""
        definition = self.definitions.by_id.get(stat_id)
        if definition is None:
            raise NotFound(f"unknown statistic {stat_id!r}", stat_id=stat_id)
        if definition.object.value != object_type:
            raise InvalidInput(
                f"{stat_id} measures {definition.object.value}, not {object_type}",
                field="object_type",
            )
        if object_type == "tenant" and object_id != tenant:
            raise InvalidInput("the tenant object's id is the tenant id", field="object_id")

    def _open(self, tenant: str, key: ObjectKey, stat_id: str) -> None:
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = Node(key)
        self._open_on(tenant, node, stat_id)

    def _open_on(self, tenant: str, node: Node, stat_id: str, *, seed: bool = True) -> None:
        """Open ``stat_id`` on ``node``; new accumulators start from the tenant's state unless
        ``seed`` is false (a plan's template node, which no event reaches)."""
        refs = node.stats.get(stat_id)
        if refs is None:
            compiled = self._compile(tenant, stat_id)
            if _counts_queue_agents(compiled.definition, node.key[1]):
                node.watches_agents = True
            expression = self.definitions.formulas.get(stat_id)
            if expression is not None:
                for ref in sorted(expression.references()):
                    self._open_on(tenant, node, ref, seed=seed)
            for part, spec in zip(compiled.parts, compiled.specs, strict=True):
                self._attach_tally(tenant, node, part, spec, compiled.windows, seed=seed)
            refs = 0
            # New subscriptions change what facts reach: rebuild the dispatch lazily.
            self._invalidate_routes()
        node.stats[stat_id] = refs + 1

    def _open_planned(
        self, key: ObjectKey, ids: tuple[str, ...], restored: dict[str, AnyTally] | None
    ) -> None:
        """Open ``ids`` (``open`` of each, in turn) on the object of ``key``, which has nothing
        open, by the plan for them: on new accumulators started from the tenant's state, or
        (a restore) on those of ``restored`` (spec → accumulator, from a snapshot), new and
        empty where it has none."""
        tenant, object_type, object_id = key
        self._tenant(tenant)
        plan = self._plan(tenant, object_type, object_id, ids)
        node = Node(key)
        model = plan.template
        node.watches_agents = model.watches_agents
        node.stats = dict(model.stats)
        subs: list[Any] = []  # (each of the kind the plan's positions in it expect)
        tallies = node.tallies
        for spec, part, _ in plan.parts:
            sub = _copy_sub(part, None if restored is None else restored.get(spec))
            tallies[spec] = sub
            subs.append(sub)
        if restored is None:
            for i in plan.seeded:
                self._seed_sub(tenant, node, plan.parts[i][2], subs[i])
        node.actions = {
            media: tuple([tuple([subs[i] for i in kind]) if kind else () for kind in by_kind])
            for media, by_kind in plan.actions.items()
        }
        node.statuses = {
            media: {status: tuple([subs[i] for i in found]) for status, found in by_status.items()}
            for media, by_status in plan.statuses.items()
        }
        node.times = {media: tuple([subs[i] for i in found]) for media, found in plan.times.items()}
        node.sessions = tuple([subs[i].tally for i in plan.sessions])
        self._nodes[key] = node
        self._invalidate_routes()

    def _plan(
        self, tenant: str, object_type: str, object_id: str, ids: tuple[str, ...]
    ) -> _OpenPlan:
        """The plan of opening ``ids`` on an object of ``object_type`` of ``tenant``'s zone:
        made (and ``ids`` checked) on first use."""
        zone = self._runtime[tenant].zone.key
        plan = self._plans.get((zone, object_type, ids))
        if plan is not None:
            if object_type == "tenant" and object_id != tenant:
                raise InvalidInput("the tenant object's id is the tenant id", field="object_id")
            return plan
        for stat_id in ids:
            self._check_open(tenant, object_type, object_id, stat_id)
        template = Node(("", object_type, ""))
        for stat_id in ids:
            self._open_on(tenant, template, stat_id, seed=False)
        parts: dict[str, StatisticDefinition] = {}
        for stat_id in template.stats:  # (in the order their parts were attached)
            compiled = self._compile(tenant, stat_id)
            for part, spec in zip(compiled.parts, compiled.specs, strict=True):
                parts.setdefault(spec, part)
        plan = self._plans[(zone, object_type, ids)] = _OpenPlan(template, parts)
        return plan

    def _attach_tally(
        self,
        tenant: str,
        node: Node,
        d: StatisticDefinition,
        spec: str,
        windows: FixedWindows | None,
        *,
        seed: bool = True,
    ) -> None:
        """Feed ``node``'s statistic part ``d`` from the accumulator of ``spec``: the node's
        (one more reader) or a new one, which ``seed`` starts from the tenant's state."""
        entry = node.tallies.get(spec)
        if entry is not None:
            entry.tally.refs += 1
            return
        sub = _new_sub(d, windows)
        _link_sub(node, d, sub)
        if seed:
            self._seed_sub(tenant, node, d, sub)
        sub.tally.refs = 1
        node.tallies[spec] = sub

    def _seed_sub(self, tenant: str, node: Node, d: StatisticDefinition, sub: AnySub) -> None:
        """A new accumulator opened mid-run starts from the state of the tenant: the session
        of the agent logged in, the members now in a status, the window of the newest time."""
        if isinstance(sub, TimesSub):
            self._seed_status_times(tenant, node, sub)
        elif isinstance(sub, StatusSub):
            self._seed_status_tally(tenant, node, d, sub)
        elif isinstance(sub, Sub) and sub.mode == SESSION:
            agent = self._tenants[tenant].agents.get(node.key[2])
            if agent is not None and agent.login_ts >= 0:
                sub.reset_session(agent.login_ts)

    def _status_members(self, tenant: str, node: Node) -> Iterable[str]:
        """The agents whose statuses count for an agent, agent group or tenant object."""
        object_type, object_id = node.key[1], node.key[2]
        if object_type == "agent":
            return (object_id,)
        if object_type == "agent_group":
            return self._runtime[tenant].group_members.get(object_id, frozenset())
        return self._tenants[tenant].agents.keys()

    def _seed_status_tally(
        self, tenant: str, node: Node, d: StatisticDefinition, sub: StatusSub
    ) -> None:
        """A status statistic opened mid-run starts with the members already in the status."""
        state = self._tenants[tenant]
        tally = sub.tally
        object_id = node.key[2]
        members = self._status_members(tenant, node)
        if tally.mode == SESSION:
            agent = state.agents.get(object_id)
            if agent is not None and agent.login_ts >= 0:
                tally.reset_session(agent.login_ts)
        elif self._watermark >= 0:
            tally.roll(self._watermark, sub.windows)
        media = d.status_media.value
        for member in sorted(members):
            agent = state.agents.get(member)
            ms = None if agent is None else agent.media.get(media)
            if ms is None or ms.status not in d.mask:
                continue
            if sub.reasons is not None and ms.status_reason not in sub.reasons:
                continue
            tally.enter(member, ms.since, sub.windows)

    def _seed_status_times(self, tenant: str, node: Node, sub: TimesSub) -> None:
        """Status times opened mid-run count every member from the start of its current
        status, as if open all along (what an open interval is: see ``StatusTimes``)."""
        tally = sub.tally
        if tally.mode == SESSION:
            agent = self._tenants[tenant].agents.get(node.key[2])
            if agent is not None and agent.login_ts >= 0:
                tally.reset_session(agent.login_ts)
        elif self._watermark >= 0:
            tally.roll(self._watermark, sub.windows)

    def close(self, tenant: str, object_type: str, object_id: str, stat_id: str) -> None:
        """Stop computing a statistic once every caller that opened it has closed it."""
        key = (tenant, object_type, object_id)
        node = self._nodes.get(key)
        if node is None or stat_id not in node.stats:
            raise NotFound(f"{stat_id} is not open for {object_type} {object_id}", stat_id=stat_id)
        self._close(tenant, node, stat_id)
        if not node.stats:
            del self._nodes[key]
        node.watches_agents = any(
            _counts_queue_agents(self._compile(tenant, other).definition, object_type)
            for other in node.stats
        )
        self._invalidate_routes()

    def _close(self, tenant: str, node: Node, stat_id: str) -> None:
        refs = node.stats[stat_id] - 1
        if refs > 0:
            node.stats[stat_id] = refs
            return
        del node.stats[stat_id]
        expression = self.definitions.formulas.get(stat_id)
        if expression is not None:
            for ref in sorted(expression.references()):
                self._close(tenant, node, ref)
        for spec in self._compile(tenant, stat_id).specs:
            self._detach_tally(node, spec)

    def _detach_tally(self, node: Node, spec: str) -> None:
        sub = node.tallies[spec]
        tally = sub.tally
        tally.refs -= 1
        if tally.refs > 0:
            return
        del node.tallies[spec]
        # By identity: equal-looking accumulators of other statistics must stay.
        if isinstance(sub, TimesSub):
            for media, times_subs in node.times.items():
                node.times[media] = tuple(other for other in times_subs if other is not sub)
        elif isinstance(sub, StatusSub):
            for by_status in node.statuses.values():
                for status, status_subs in by_status.items():
                    by_status[status] = tuple(other for other in status_subs if other is not sub)
        else:
            for media, by_kind in node.actions.items():
                node.actions[media] = tuple(
                    tuple(other for other in action_subs if other is not sub)
                    for action_subs in by_kind
                )
        node.sessions = tuple(other for other in node.sessions if other is not tally)

    def is_open(self, tenant: str, object_type: str, object_id: str, stat_id: str) -> bool:
        node = self._nodes.get((tenant, object_type, object_id))
        return node is not None and stat_id in node.stats

    def opened(self) -> list[tuple[str, str, str, str]]:
        """Every open (tenant, object type, object id, statistic id), formula inputs included."""
        return [(*key, stat_id) for key, node in self._nodes.items() for stat_id in node.stats]

    def drain_changes(self) -> set[ObjectKey]:
        """Objects whose open statistics may have changed since the last call (events only;
        values that grow with the clock change without events — see ``ticks``)."""
        changed, self._changed = self._changed, []
        self._epoch += 1
        keys = set()
        for node in changed:
            node.dirty = False
            keys.add(node.key)
        return keys

    def _mark(self, nodes: tuple[Node, ...]) -> None:
        """Note that the statistics of ``nodes`` may have changed."""
        changed = self._changed
        for node in nodes:
            if not node.dirty:  # (``_mark_node`` written out: a call per node costs more)
                node.dirty = True
                changed.append(node)

    def _mark_node(self, node: Node) -> None:
        if not node.dirty:
            node.dirty = True
            self._changed.append(node)

    def _mark_own(self, agent: AgentState, node: Node) -> None:
        """``_mark_node`` for the agent's own node (``agent.node``), once per change epoch: the
        epoch is read off the agent's state, not the node."""
        if agent.marked != self._epoch:
            agent.marked = self._epoch
            self._mark_node(node)

    def ticks(self, stat_id: str) -> bool:
        """True when the value can change with the clock alone (a time in progress, a window
        that slides or resets), so a reader must re-read it or tick it locally."""
        d = self.definitions.by_id[stat_id]
        if d.category is Category.FORMULA:
            return any(self.ticks(r) for r in self.definitions.formulas[stat_id].references())
        return d.category not in (Category.CURRENT_NUMBER, Category.CURRENT_STATE)

    # --- reading -------------------------------------------------------------------------------

    def value(
        self,
        tenant: str,
        object_type: str,
        object_id: str,
        stat_id: str,
        now_ms: int,
        *,
        interval_start: int | None = None,
    ) -> Value:
        """The value at ``now_ms``; None is missing (shown "N/A"), never 0.

        With ``interval_start``, the value of the interval of the statistic's growing or
        selection profile that begins then, as known at ``now_ms`` — for an interval closed
        for longer than the statistic's grace, its final value (see :meth:`reading`)."""
        return self.reading(
            tenant, object_type, object_id, stat_id, now_ms, interval_start=interval_start
        ).value

    def reading(
        self,
        tenant: str,
        object_type: str,
        object_id: str,
        stat_id: str,
        now_ms: int,
        *,
        interval_start: int | None = None,
    ) -> Reading:
        """The value at ``now_ms`` with its numerator and denominator.

        ``interval_start`` addresses one interval ``[start, end)`` of a growing or selection
        profile (``interval_bounds`` lists them) rather than the one holding ``now_ms``. An
        action counts in it as long as the interval is kept (its end plus the grace); what is
        in progress counts only while the interval is the current one, and times in statuses
        up to its end. A status time of a closed interval is missing once the accumulator has
        moved to a later interval (the next status change of a member after the end): read it
        at the end. Current categories have no intervals."""
        node = self._nodes.get((tenant, object_type, object_id))
        if node is None or stat_id not in node.stats:
            raise NotFound(f"{stat_id} is not open for {object_type} {object_id}", stat_id=stat_id)
        opened = self._compile(tenant, stat_id)
        if interval_start is None:
            return self._read(node, opened, now_ms, -1)
        windows = opened.windows
        d = opened.definition
        if (
            windows is None
            or not isinstance(d.profile, Growing | Selection)
            or d.category in CURRENT_CATEGORIES
        ):
            raise InvalidInput(
                f"{stat_id}: only statistics of a growing or selection profile have intervals",
                field="interval_start",
            )
        if windows.start(interval_start) != interval_start:
            raise InvalidInput(
                f"{stat_id}: no interval begins at {interval_start}", field="interval_start"
            )
        if interval_start > now_ms:
            raise InvalidInput(
                f"{stat_id}: the interval at {interval_start} begins after {now_ms}",
                field="interval_start",
            )
        return self._read(node, opened, now_ms, interval_start)

    def interval_bounds(
        self, tenant: str, stat_id: str, from_ms: int, to_ms: int
    ) -> list[tuple[int, int]]:
        """The intervals ``[start, end)`` of ``stat_id``'s profile, in the tenant's zone, that
        overlap ``[from_ms, to_ms)``: what ``interval_start`` addresses."""
        self._tenant(tenant)
        windows = self._compile(tenant, stat_id).windows
        if windows is None:
            raise InvalidInput(f"{stat_id} has no intervals", field="stat_id")
        bounds = []
        at = from_ms
        while at < to_ms:
            start, end = windows.bounds(at)
            bounds.append((start, end))
            at = end
        return bounds

    def _read(self, node: Node, opened: CompiledStatistic, now: int, interval: int) -> Reading:
        """The value at ``now`` of the window holding it, or (``interval`` ≥ 0) of the fixed
        window beginning at ``interval``."""
        d = opened.definition
        category = d.category
        if category is Category.FORMULA:
            expression = self.definitions.formulas[d.id]

            def lookup(ref: str) -> float | None:
                value = self._read(node, self._compile(node.key[0], ref), now, interval).value
                if value is None or isinstance(value, AgentStatusValue | dict):
                    return None
                return float(value)

            return Reading(expression.evaluate(lookup))
        if category is Category.CURRENT_STATE:
            return Reading(self._current_state(node, d))
        if category in _CURRENT_CATS:
            return self._read_current(node, d, now)
        if category is Category.RATIO:
            numerator_tally = node.tallies[opened.specs[0]].tally
            denominator_tally = node.tallies[opened.specs[1]].tally
            assert isinstance(numerator_tally, Tally)
            assert isinstance(denominator_tally, Tally)
            top = self._read_actions(
                node, d, numerator_tally, opened.windows, now, d.mask, interval
            ).numerator
            bottom = self._read_actions(
                node, d, denominator_tally, opened.windows, now, d.denominator_mask, interval
            ).numerator
            if top is None or bottom is None:
                return Reading(None)
            return Reading(top / bottom if bottom else None, top, bottom)
        if not d.is_status:
            tally = node.tallies[opened.specs[0]].tally
            assert isinstance(tally, Tally)
            return self._read_actions(node, d, tally, opened.windows, now, d.mask, interval)
        status_tally = node.tallies[opened.specs[0]].tally
        if isinstance(status_tally, StatusTimes | SlidingStatusTimes):
            return self._read_status_times(node, d, status_tally, opened.windows, now, interval)
        assert isinstance(status_tally, StatusTally | SlidingStatusTally)
        return self._read_status_time(d, status_tally, opened.windows, now, interval)

    def _current_state(self, node: Node, d: StatisticDefinition) -> Value:
        tenant, _, agent_id = node.key
        agent = self._tenants[tenant].agents.get(agent_id)
        media = d.status_media.value
        ms = None if agent is None else agent.media.get(media)
        if agent is None or ms is None:
            return None
        return AgentStatusValue(
            state=ms.status, reason=ms.status_reason, since=ms.since, media=media, dnd=agent.dnd
        )

    def _members_since(self, node: Node, d: StatisticDefinition) -> list[int]:
        """Start times of the members now in the mask's statuses (agents or contacts)."""
        tenant, object_type, object_id = node.key
        state = self._tenants[tenant]
        mask = d.mask
        if mask[0] in ("waiting", "in_progress"):
            media_list = [m.value for m in d.filter.media] or list(_ALL_MEDIA)
            queues: list[dict[str, QueueContents]] = []
            if object_type in _QUEUE_TYPES:
                found = state.queues.get(object_type, {}).get(object_id)
                if found is not None:
                    queues.append(found)
            elif object_type == "queue_group":
                members = self._runtime[tenant].queue_group_members.get(object_id, frozenset())
                for member_type, queue in sorted(members):
                    found = state.queues.get(member_type, {}).get(queue)
                    if found is not None:
                        queues.append(found)
            else:  # tenant: ACD queues
                queues.extend(state.queues.get("queue", {}).values())
            f = d.filter if d.filter.contact_filtered else None
            if f is None:
                return [
                    since
                    for by_media in queues
                    for media in media_list
                    if media in by_media
                    for status in mask
                    for since in by_media[media].of(status).values()
                ]
            # Filtered: look each contact up (its direction, attached data, skill).
            starts: list[int] = []
            for by_media in queues:
                for media in media_list:
                    contacts = state.calls if media == "voice" else state.interactions
                    contents = by_media.get(media)
                    if contents is None:
                        continue
                    for status in mask:
                        for contact_id, since in contents.of(status).items():
                            if _contact_matches(f, contacts.get(contact_id)):
                                starts.append(since)
            return starts
        media = d.status_media.value
        reasons = _reason_set(d.filter.reasons)
        on_contact = self._contact_test(state, d, media)
        if object_type in ("queue", "queue_group"):
            # Agents of the queue(s), each once.
            starts = []
            for agent_id in sorted(self._queue_agents(tenant, object_type, object_id)):
                agent = state.agents.get(agent_id)
                ms = None if agent is None else agent.media.get(media)
                if ms is None or ms.status not in mask:
                    continue
                if reasons is not None and ms.status_reason not in reasons:
                    continue
                if on_contact is not None and not on_contact(ms):
                    continue
                starts.append(ms.since)
            return starts
        if object_type == "agent":
            agent = state.agents.get(object_id)
            ms = None if agent is None else agent.media.get(media)
            if ms is None or ms.status not in mask:
                return []
            if reasons is not None and ms.status_reason not in reasons:
                return []
            if on_contact is not None and not on_contact(ms):
                return []
            return [ms.since]
        # An agent group or the tenant: its members' statuses, read from their state (no index
        # kept per group: reading is rare beside status changes, which are on every event).
        agents = state.agents
        result: list[int] = []
        for agent_id in self._status_members(tenant, node):
            agent = agents.get(agent_id)
            ms = None if agent is None else agent.media.get(media)
            if ms is None or ms.status not in mask:
                continue
            if reasons is not None and ms.status == "not_ready" and ms.status_reason not in reasons:
                continue
            if on_contact is not None and not on_contact(ms):
                continue
            result.append(ms.since)
        return result

    @staticmethod
    def _contact_test(
        state: TenantState, d: StatisticDefinition, media: str
    ) -> Callable[[MediaState], bool] | None:
        """For a contact-filtered agent-status statistic: whether an agent is on a contact that
        matches the filter, in one of the mask's statuses (None: no contact filter)."""
        if not d.filter.contact_filtered:
            return None
        f, mask = d.filter, d.mask
        contacts = state.calls if media == "voice" else state.interactions

        def on_contact(ms: MediaState) -> bool:
            return any(
                status in mask and _contact_matches(f, contacts.get(contact_id))
                for contact_id, status in ms.contacts.items()
            )

        return on_contact

    def _read_current(self, node: Node, d: StatisticDefinition, now: int) -> Reading:
        starts = self._members_since(node, d)
        category = d.category
        n = len(starts)
        if category is Category.CURRENT_NUMBER:
            return Reading(n)
        if category is Category.CURRENT_TIME:
            if node.key[1] == "agent":
                return Reading(now - starts[0] if starts else None)
            return Reading(sum(now - s for s in starts))
        if category is Category.CURRENT_MAX_TIME:
            return Reading(now - min(starts) if starts else None)
        if category is Category.CURRENT_MIN_TIME:
            return Reading(now - max(starts) if starts else None)
        if category is Category.CURRENT_AVERAGE_TIME:
            return Reading(sum(now - s for s in starts) / n if starts else None, None, n)
        assert d.time_range is not None
        lo = round(d.time_range.from_s * 1000)
        hi = 1 << 62 if d.time_range.to_s is None else round(d.time_range.to_s * 1000)
        inside = sum(1 for s in starts if lo <= now - s <= hi)
        if category is Category.CURRENT_NUMBER_IN_TIME_RANGE:
            return Reading(inside)
        return Reading(100.0 * inside / n if n else None, inside, n)

    def _read_actions(
        self,
        node: Node,
        d: StatisticDefinition,
        tally: Tally,
        windows: FixedWindows | None,
        now: int,
        mask: tuple[str, ...],
        interval: int,
    ) -> Reading:
        cells = tally.cells_in_window(now, windows) if interval < 0 else tally.cells_of(interval)
        if cells is None:
            return Reading(None)
        category = d.category
        if category is Category.SERVICE_FACTOR:
            return self._read_service_level(node, d, cells, windows, now, interval)
        merged = merge_action_cells(cells)
        if d.counts_in_progress and _is_current(interval, now, windows):
            # Actions in progress count as if they completed now.
            lo, hi = 0, 1 << 62
            if d.time_range is not None:
                lo = round(d.time_range.from_s * 1000)
                hi = hi if d.time_range.to_s is None else round(d.time_range.to_s * 1000)
            for dur in self._ongoing_actions(node, d, mask, windows, now, interval):
                merged[COUNT] += 1
                merged[TOTAL] += dur
                if lo <= dur <= hi:
                    merged[IN_RANGE] += 1
                if dur > merged[MAX]:
                    merged[MAX] = dur
                if merged[MIN] < 0 or dur < merged[MIN]:
                    merged[MIN] = dur
        count = merged[COUNT]
        if category in (Category.TOTAL_NUMBER, Category.RATIO):
            return Reading(count, count)
        if category is Category.TOTAL_TIME:
            return Reading(merged[TOTAL])
        if category is Category.AVERAGE_TIME:
            return Reading(merged[TOTAL] / count if count else None, merged[TOTAL], count)
        if category is Category.MAX_TIME:
            return Reading(merged[MAX] if merged[MAX] >= 0 else None)
        if category is Category.MIN_TIME:
            return Reading(merged[MIN] if merged[MIN] >= 0 else None)
        if category is Category.TOTAL_NUMBER_IN_TIME_RANGE:
            return Reading(merged[IN_RANGE])
        inside = merged[IN_RANGE]
        return Reading(100.0 * inside / count if count else None, inside, count)

    def _ongoing_actions(
        self,
        node: Node,
        d: StatisticDefinition,
        mask: tuple[str, ...],
        windows: FixedWindows | None,
        now: int,
        interval: int,
    ) -> list[int]:
        """Durations so far of the mask's actions in progress (answered contacts not yet
        released, holds not yet retrieved, sessions not yet logged out) on the object."""
        tenant, object_type, object_id = node.key
        state = self._tenants[tenant]
        media_list = [m.value for m in d.filter.media] or list(_ALL_MEDIA)
        f = d.filter if d.filter.contact_filtered else None
        by_entry = d.attribution is Attribution.ENTERED
        durations: list[int] = []

        def add(start: int, entered: int, contact: ContactState | None) -> None:
            if f is not None and not _contact_matches(f, contact):
                return
            if by_entry and not _in_window(entered, now, windows, d, interval):
                return
            durations.append(now - start)

        if object_type in ("agent", "agent_group"):
            members = (
                (object_id,)
                if object_type == "agent"
                else self._runtime[tenant].group_members.get(object_id, frozenset())
            )
            for member in sorted(members):
                agent = state.agents.get(member)
                if agent is None:
                    continue
                for media in media_list:
                    ms = agent.media.get(media)
                    if ms is None:
                        continue
                    if "logout" in mask and ms.base != "logged_out" and agent.login_ts >= 0:
                        add(agent.login_ts, now, None)
                    if "released" not in mask and "hold" not in mask:
                        continue
                    contacts = state.calls if media == "voice" else state.interactions
                    for contact_id in ms.contacts:
                        contact = contacts.get(contact_id)
                        leg = None if contact is None else contact.legs.get(member)
                        if contact is None or leg is None:
                            continue
                        entered = contact.answered_entered if contact.answered_entered >= 0 else now
                        if "released" in mask and leg.answered >= 0:
                            add(leg.answered, entered, contact)
                        if "hold" in mask and leg.hold_since >= 0:
                            add(leg.hold_since, entered, contact)
            return durations
        if "released" not in mask:
            return durations
        runtime = self._runtime[tenant]
        if object_type == "queue_group":
            queues = sorted(runtime.queue_group_members.get(object_id, frozenset()))
        elif object_type == "tenant":
            queues = [("queue", q) for q in sorted(state.queues.get("queue", {}))]
        else:
            queues = [(object_type, object_id)]
        for queue_type, queue in queues:
            by_media = state.queues.get(queue_type, {}).get(queue)
            if by_media is None:
                continue
            for media in media_list:
                contacts = state.calls if media == "voice" else state.interactions
                contents = by_media.get(media)
                for contact_id in () if contents is None else contents.in_progress:
                    contact = contacts.get(contact_id)
                    if contact is None:
                        continue
                    # One released per answered leg, as when the legs end.
                    for leg in contact.legs.values():
                        if leg.answered >= 0:
                            add(leg.answered, contact.answered_entered, contact)
        return durations

    def _read_service_level(
        self,
        node: Node,
        d: StatisticDefinition,
        cells: list[list[int]],
        windows: FixedWindows | None,
        now: int,
        interval: int,
    ) -> Reading:
        assert d.service_level is not None
        merged = merge_sum_cells(cells, SL_WIDTH)
        threshold = round(d.service_level.threshold_s * 1000)
        pending = 0
        # Contacts still waiting past the threshold are service-level events already.
        if d.count is Counting.CONTACTS:
            starts = self._contacts_waiting_since(node, d)
        else:
            starts = self._members_since(node, msgspec.structs.replace(d, mask=("waiting",)))
        for since in starts:
            if since + threshold > now:
                continue
            when = since if d.attribution is Attribution.ENTERED else since + threshold
            if _in_window(when, now, windows, d, interval):
                pending += 1
        answered_within = merged[SL_ANSWERED_WITHIN]
        abandoned_within = merged[SL_ABANDONED_WITHIN]
        offered = answered_within + abandoned_within + merged[SL_EXCEEDED] + pending
        kind = d.service_level.type
        if kind is ServiceLevelType.REMOVED_FROM_QUEUE:
            numerator, denominator = merged[SL_REMOVED_WITHIN], merged[SL_ENTERED]
        elif kind is ServiceLevelType.IGNORE_ABANDONED:
            numerator, denominator = answered_within, offered - abandoned_within
        elif kind is ServiceLevelType.ABANDONED_NEGATIVE:
            numerator, denominator = answered_within, offered
        elif kind is ServiceLevelType.ABANDONED_POSITIVE:
            numerator, denominator = answered_within + abandoned_within, offered
        else:
            numerator, denominator = answered_within, merged[SL_ANSWERED]
        value = 100.0 * numerator / denominator if denominator else None
        return Reading(value, numerator, denominator)

    def _contacts_waiting_since(self, node: Node, d: StatisticDefinition) -> list[int]:
        """First queue entries of the tenant's contacts waiting in a queue, never answered."""
        state = self._tenants[node.key[0]]
        f = d.filter
        media_list = [m.value for m in f.media] or list(_ALL_MEDIA)
        starts: list[int] = []
        for by_media in state.queues.get("queue", {}).values():
            for media in media_list:
                contents = by_media.get(media)
                if contents is None:
                    continue
                contacts = state.calls if media == "voice" else state.interactions
                for contact_id in contents.waiting:
                    contact = contacts.get(contact_id)
                    if (
                        contact is not None
                        and contact.first_answered < 0
                        and contact.first_entered >= 0
                        and _contact_matches(f, contact)
                    ):
                        starts.append(contact.first_entered)
        return starts

    def _read_status_time(
        self,
        d: StatisticDefinition,
        tally: StatusTally | SlidingStatusTally,
        windows: FixedWindows | None,
        now: int,
        interval: int,
    ) -> Reading:
        if isinstance(tally, SlidingStatusTally):
            start, closed, started, done, dur, longest, shortest = tally.summary(now)
        else:
            read_at = _status_window(tally, windows, now, interval)
            if read_at is None:
                return Reading(None)
            start, now = read_at
            current = tally.key == start
            closed = tally.closed if current else 0
            started = tally.started if current else 0
            done = tally.done if current else 0
            dur = tally.dur if current else 0
            longest = tally.max if current else -1
            shortest = tally.min if current else -1
        in_progress = d.counts_in_progress
        if in_progress:
            for since in tally.open.values():
                closed += now - max(since, start)
                if since >= start:
                    length = now - since
                    dur += length
                    if length > longest:
                        longest = length
                    if shortest < 0 or length < shortest:
                        shortest = length
        count = started if in_progress else done
        category = d.category
        if category is Category.TOTAL_TIME:
            return Reading(closed)
        if category is Category.TOTAL_NUMBER:
            return Reading(count)
        if category is Category.AVERAGE_TIME:
            return Reading(dur / count if count else None, dur, count)
        if category is Category.MAX_TIME:
            return Reading(longest if longest >= 0 else None)
        return Reading(shortest if shortest >= 0 else None)

    def _read_status_times(
        self,
        node: Node,
        d: StatisticDefinition,
        tally: StatusTimes | SlidingStatusTimes,
        windows: FixedWindows | None,
        now: int,
        interval: int,
    ) -> Reading:
        """TotalTime of the mask's statuses: closed time in the window plus, when in-progress
        time counts, the open intervals of members now in one of them (by not-ready reason
        for a breakdown)."""
        by_reason: dict[str, int] = {}
        total = 0
        if isinstance(tally, SlidingStatusTimes):
            start = tally.window_start(now)
            total, by_reason = tally.closed_in_window(now)
        else:
            read_at = _status_window(tally, windows, now, interval)
            if read_at is None:
                return Reading(None)
            start, now = read_at
        if not isinstance(tally, SlidingStatusTimes) and tally.key == start:
            closed = tally.closed
            total = sum(closed[STATUS_INDEX[status]] for status in d.mask)
            if d.breakdown is not None and tally.reasons:
                by_reason = dict(tally.reasons)
        if d.counts_in_progress:
            tenant = node.key[0]
            agents = self._tenants[tenant].agents
            media = d.status_media.value
            mask = d.mask
            for member in self._status_members(tenant, node):
                agent = agents.get(member)
                ms = None if agent is None else agent.media.get(media)
                if ms is not None and ms.status in mask:
                    since = tally.counted_from(member, ms.since)
                    spent = max(0, now - (since if since > start else start))
                    total += spent
                    if d.breakdown is not None and spent > 0:
                        reason = ms.status_reason
                        key = UNSPECIFIED_REASON if reason is None else reason
                        by_reason[key] = by_reason.get(key, 0) + spent
        if d.breakdown is not None:
            return Reading({k: by_reason[k] for k in sorted(by_reason) if by_reason[k]}, total)
        return Reading(total)

    # --- snapshot ------------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole engine state; ``restore`` of it plus the remaining events equals the
        uninterrupted run."""
        with collector_paused():  # (a record per accumulator: millions of new objects)
            return self._snapshot()

    def _snapshot(self) -> bytes:
        specs: dict[str, int] = {}
        lists: dict[tuple[str, ...], int] = {}
        tallies = []
        opened = []
        inputs = {f: e.references() for f, e in self.definitions.formulas.items()}
        for (tenant, object_type, object_id), node in self._nodes.items():
            for spec, sub in node.tallies.items():
                kind, state = tally_record(sub.tally)
                at = specs.setdefault(spec, len(specs))
                tallies.append(TallyRecord(tenant, object_type, object_id, at, kind, state))
            # Formula inputs are re-opened by their formula; keep only direct opens.
            by_formulas: dict[str, int] = {}
            for other in node.stats:
                for ref in inputs.get(other, ()):
                    by_formulas[ref] = by_formulas.get(ref, 0) + 1
            direct: list[str] = []
            for stat_id, refs in node.stats.items():
                direct.extend([stat_id] * (refs - by_formulas.get(stat_id, 0)))
            at = lists.setdefault(tuple(direct), len(lists))
            opened.append(OpenedRecord(tenant, object_type, object_id, at))
        snapshot = EngineSnapshot(
            version=SNAPSHOT_VERSION,
            tenants={tenant: state.record() for tenant, state in self._tenants.items()},
            configs={t: r.config for t, r in self._runtime.items()},
            specs=list(specs),
            statistics=[list(ids) for ids in lists],
            opened=opened,
            tallies=tallies,
            buffer=[event for _, _, event in sorted(self._buffer, key=lambda x: (x[0], x[1]))],
            watermark=self._watermark,
            cutoff=self._cutoff,
            seen=list(self._seen_order)
            if self.lateness_ms
            else [(ts, event_id) for event_id, ts in self._seen.items()],
            anomalies=dict(self.anomalies),
        )
        return msgspec.msgpack.encode(snapshot, enc_hook=encode_state)

    @classmethod
    def restore(
        cls,
        data: bytes,
        definitions: DefinitionSet,
        *,
        lateness_ms: int = 0,
        time_zones: Mapping[str, str] | None = None,
        default_time_zone: str = "UTC",
    ) -> StatisticsEngine:
        """An engine continuing exactly where the snapshotted one stopped."""
        try:
            version = msgspec.msgpack.decode(data, type=_SnapshotVersion).version
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(f"not an engine snapshot: {exc}", field="snapshot") from None
        if version != SNAPSHOT_VERSION:
            raise InvalidInput(
                f"snapshot version {version} is not {SNAPSHOT_VERSION}", field="version"
            )
        with collector_paused():  # (millions of new objects, none of them garbage)
            return cls._restored(data, definitions, lateness_ms, time_zones, default_time_zone)

    @classmethod
    def _restored(
        cls,
        data: bytes,
        definitions: DefinitionSet,
        lateness_ms: int,
        time_zones: Mapping[str, str] | None,
        default_time_zone: str,
    ) -> StatisticsEngine:
        """``restore`` of a snapshot of this version."""
        try:
            snapshot = msgspec.msgpack.decode(data, type=EngineSnapshot, dec_hook=decode_state)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(f"not an engine snapshot: {exc}", field="snapshot") from None
        engine = cls(
            definitions,
            lateness_ms=lateness_ms,
            time_zones=time_zones,
            default_time_zone=default_time_zone,
        )
        for tenant, state in snapshot.tenants.items():
            engine._tenants[tenant] = TenantState.from_record(state)
            engine._runtime[tenant] = TenantRuntime(engine._zone(tenant))
            engine._last_tenant = engine._last_runtime = None
            engine._rebuild_login_queues(tenant)
            engine._rebuild_transferred(tenant)
        for tenant, config in snapshot.configs.items():
            engine._tenant(tenant)
            engine.set_objects(tenant, config, ts_ms=snapshot.watermark)
        engine._restore_objects(snapshot)
        engine._watermark = snapshot.watermark
        engine._cutoff = snapshot.cutoff
        for ts, event_id in snapshot.seen:
            engine._seen[event_id] = ts
            engine._seen_order.append((ts, event_id))
        for buffered in snapshot.buffer:
            event: ev.Event = buffered
            engine._arrivals += 1
            engine._buffer.append((event.ts, engine._arrivals, event))
        heapq.heapify(engine._buffer)
        engine.anomalies = dict(snapshot.anomalies)
        engine.drain_changes()
        return engine

    def _restore_objects(self, snapshot: EngineSnapshot) -> None:
        """Open each object's statistics of ``snapshot`` in one step, by its plan, on its
        accumulators (found by spec): nothing is worked out per statistic."""
        specs = snapshot.specs
        restored: dict[ObjectKey, dict[str, AnyTally]] = {}
        for record in snapshot.tallies:
            try:
                spec = specs[record.spec]
                tally = tally_from_record(record.kind, record.state)
            except (ValueError, IndexError) as exc:
                raise InvalidInput(f"not an engine snapshot: {exc}", field="tallies") from None
            key = (record.tenant, record.object_type, record.object_id)
            found = restored.get(key)
            if found is None:
                found = restored[key] = {}
            found[spec] = tally
        lists = [tuple(ids) for ids in snapshot.statistics]
        for opened in snapshot.opened:
            key = (opened.tenant, opened.object_type, opened.object_id)
            try:
                ids = lists[opened.statistics]
            except IndexError:
                raise InvalidInput(
                    f"not an engine snapshot: no list of statistics {opened.statistics}",
                    field="opened",
                ) from None
            if key in self._nodes:
                raise InvalidInput(f"not an engine snapshot: {key} twice", field="opened")
            self._open_planned(key, ids, restored.get(key, {}))

    def _rebuild_transferred(self, tenant: str) -> None:
        calls = self._tenants[tenant].calls
        kept = sorted(
            (call.transferred_at, call_id)
            for call_id, call in calls.items()
            if call.transferred_at >= 0 and not call.legs and call.queue is None
        )
        self._runtime[tenant].transferred = {call_id: at for at, call_id in kept}

    def _rebuild_login_queues(self, tenant: str) -> None:
        login_queues: dict[str, set[str]] = {}
        for agent_id, agent in sorted(self._tenants[tenant].agents.items()):
            for queue in agent.queues:
                login_queues.setdefault(queue, set()).add(agent_id)
        self._runtime[tenant].login_queues = login_queues
        self._invalidate_routes()

    # --- inventory -----------------------------------------------------------------------------

    def known_objects(self, tenant: str) -> dict[str, list[str]]:
        """Every object of the tenant the engine has seen in events or configuration."""
        state = self._tenants.get(tenant)
        runtime = self._runtime.get(tenant)
        if state is None or runtime is None:
            return {}
        objects: dict[str, set[str]] = {t.value: set() for t in ObjectType}
        objects["tenant"].add(tenant)
        objects["agent"].update(state.agents)
        for members in runtime.group_members.values():
            objects["agent"].update(members)
        objects["agent_group"].update(runtime.group_members)
        objects["queue_group"].update(runtime.queue_group_members)
        for object_type, by_id in state.queues.items():
            objects[object_type].update(by_id)
        return {t: sorted(ids) for t, ids in objects.items()}

    def objects_named(self, event: ev.Event) -> list[tuple[str, str]]:
        """The statistic objects ``event`` names, each under its own type: its agent, the
        queue or routing point a contact enters or is refused at, its virtual queue, and the
        queue another event names where the engine holds the contact (waiting there or
        answered from there). A queue an event names where the contact is not is no object:
        its type is unknown (``call.diverted`` names a routing point as plainly as a queue)."""
        found: list[tuple[str, str]] = []
        agent = getattr(event, "agent", None)
        if isinstance(agent, str):
            found.append(("agent", agent))
        vq = getattr(event, "vq", None)
        if isinstance(vq, str):
            found.append(("virtual_queue", vq))
        queue = getattr(event, "queue", None)
        if not isinstance(queue, str):
            return found
        if isinstance(event, ev.CallQueued):
            found.append((_PLAIN[event.point], queue))
        elif isinstance(event, ev.CallRefused | ev.InteractionQueued):
            found.append(("queue", queue))
        else:
            state = self._tenants.get(event.tenant)
            contact_id = getattr(event, "call", None)
            contacts = None if state is None else state.calls
            if contact_id is None:
                contact_id = getattr(event, "interaction", None)
                contacts = None if state is None else state.interactions
            contact = None if contacts is None or contact_id is None else contacts.get(contact_id)
            if contact is not None and contact.queue == queue:
                found.append((contact.queue_type, queue))
            elif contact is not None and contact.answered_from == queue:
                found.append((contact.answered_type, queue))
        return found

    def tenants(self) -> list[str]:
        return sorted(self._tenants)


# Current categories read from the contact-center state (CurrentState has its own reader).
_CURRENT_CATS: Final = CURRENT_CATEGORIES - {Category.CURRENT_STATE}


def _in_window(
    when: int, now: int, windows: FixedWindows | None, d: StatisticDefinition, interval: int
) -> bool:
    """Whether ``when`` (≤ ``now``) is in the window at ``now``, or the one at ``interval``."""
    if when > now:
        return False
    if interval >= 0:
        assert windows is not None
        return windows.start(when) == interval
    if isinstance(d.profile, Sliding):
        step = d.profile.step_s * 1000
        slots = d.profile.window_s // d.profile.step_s
        return now // step - slots < when // step <= now // step
    if windows is None:
        return True
    return windows.start(when) == windows.start(now)


def _is_current(interval: int, now: int, windows: FixedWindows | None) -> bool:
    """Whether the window read (``interval``, -1: the one at ``now``) holds ``now``."""
    return interval < 0 or (windows is not None and windows.start(now) == interval)


def _status_window(
    tally: StatusTally | StatusTimes, windows: FixedWindows | None, now: int, interval: int
) -> tuple[int, int] | None:
    """(start of the window read, instant statuses count up to) for a fixed or session status
    accumulator: the window at ``now``, or the one at ``interval`` counted up to its end once
    closed; None when there is none (before the session, or an interval the accumulator has
    moved on from)."""
    if interval < 0:
        start = _window_start(tally, windows, now)
        return None if start is None else (start, now)
    if tally.key > interval:
        return None
    assert windows is not None
    end = windows.bounds(interval)[1]
    return interval, now if now < end else end


def _window_start(
    tally: StatusTally | StatusTimes, windows: FixedWindows | None, now: int
) -> int | None:
    """Start of a fixed or session accumulator's window at ``now``; None before the session."""
    if tally.mode == SESSION:
        return None if tally.key < 0 else tally.key
    assert windows is not None
    return windows.start(now)


def _accumulated_parts(d: StatisticDefinition) -> tuple[StatisticDefinition, ...]:
    """The accumulators a statistic reads: none (current, formula), one, or two (Ratio)."""
    if d.category in _CURRENT_CATS or d.category in (Category.CURRENT_STATE, Category.FORMULA):
        return ()
    if d.category is Category.RATIO:
        return (
            msgspec.structs.replace(d, category=Category.TOTAL_NUMBER, denominator_mask=()),
            msgspec.structs.replace(
                d, category=Category.TOTAL_NUMBER, mask=d.denominator_mask, denominator_mask=()
            ),
        )
    return (d,)


def _counts_queue_agents(d: StatisticDefinition, object_type: str) -> bool:
    """Whether ``d`` on an object of ``object_type`` counts a queue's agents by status (a
    current category, read from the agents' state): their status changes change it."""
    return d.is_status and d.mask[0] in STATUS_INDEX and object_type in _QUEUE_OBJECT_TYPES


def _uses_status_times(d: StatisticDefinition) -> bool:
    """Total time in agent statuses (no reason filter) reads the shared :class:`StatusTimes`."""
    return (
        d.category is Category.TOTAL_TIME
        and d.is_status
        and not d.filter.reasons
        and all(status in STATUS_INDEX for status in d.mask)
    )


def _spec(d: StatisticDefinition) -> str:
    """What makes two statistics share one accumulator."""
    if _uses_status_times(d):
        if isinstance(d.profile, Sliding):
            # A ring keeps one total per step for its mask: one per media, profile and mask.
            return msgspec.json.encode(
                ("sliding_times", d.status_media, d.profile, sorted(d.mask))
            ).decode()
        # One per media and profile: the mask is applied when reading.
        return msgspec.json.encode(("times", d.status_media, d.profile)).decode()
    parts: tuple[Any, ...] = (
        "status" if d.is_status else "sl" if d.category is Category.SERVICE_FACTOR else "action",
        d.mask,
        d.profile,
        d.filter,
        d.attribution.value,
        d.durations.value,
        d.time_range,
        # The service-level type only changes how the cell is read: all types with the same
        # threshold share one tally.
        None if d.service_level is None else d.service_level.threshold_s,
    )
    if d.grace_ms:
        parts = (*parts, d.grace_ms)
    if d.count is Counting.CONTACTS:
        parts = (*parts, d.count.value)
    return msgspec.json.encode(parts).decode()


def _mode(profile: object) -> int:
    """How an accumulator of ``profile`` keeps its windows."""
    return (
        SESSION
        if isinstance(profile, SinceLogin)
        else RING
        if isinstance(profile, Sliding)
        else FIXED
    )


def _new_accumulator(d: StatisticDefinition) -> AnyTally:
    """A new, empty accumulator for the statistic part ``d`` (see ``_spec``)."""
    profile = d.profile
    mode = _mode(profile)
    if _uses_status_times(d):
        if isinstance(profile, Sliding):
            return new_sliding_status_times(
                profile.step_s * 1000, profile.window_s // profile.step_s, d.mask
            )
        return StatusTimes(mode)
    if d.is_status:
        if isinstance(profile, Sliding):
            return new_sliding_status_tally(
                profile.step_s * 1000, profile.window_s // profile.step_s
            )
        return StatusTally(mode)
    if isinstance(profile, Sliding):
        slots = profile.window_s // profile.step_s
        step = profile.step_s * 1000
    else:
        slots, step = 1, 0
    width = SL_WIDTH if d.category is Category.SERVICE_FACTOR else ACTION_WIDTH
    if mode == FIXED:
        slots = d.kept_intervals
    return new_tally(mode, width, step, slots)


def _new_sub(d: StatisticDefinition, windows: FixedWindows | None) -> AnySub:
    """The subscription feeding a new accumulator for the statistic part ``d``."""
    accumulator = _new_accumulator(d)
    if isinstance(accumulator, StatusTimes | SlidingStatusTimes):
        return TimesSub(accumulator, windows)
    if isinstance(accumulator, StatusTally | SlidingStatusTally):
        return StatusSub(accumulator, windows, _reason_set(d.filter.reasons))
    assert isinstance(accumulator, Tally)
    f = d.filter if d.filter.contact_filtered else None
    entered = d.attribution is Attribution.ENTERED
    sub: Sub
    if d.category is Category.SERVICE_FACTOR:
        assert d.service_level is not None
        threshold = round(d.service_level.threshold_s * 1000)
        sub = ServiceSub(accumulator, windows, f, entered, d.grace_ms, threshold)
    else:
        lo, hi = 0, 1 << 62
        if d.time_range is not None:
            lo = round(d.time_range.from_s * 1000)
            hi = hi if d.time_range.to_s is None else round(d.time_range.to_s * 1000)
        sub = ActionSub(accumulator, windows, f, entered, d.grace_ms, lo, hi)
        causes = {
            sys.intern(kind): frozenset(map(str, values))
            for kind, values in (
                ("refused", d.filter.refusal_reasons),
                ("diverted", d.filter.diversion_causes),
            )
            if values
        }
        sub.causes = causes or None
    sub.reported = d.durations is Durations.REPORTED
    return sub


def _link_sub(node: Node, d: StatisticDefinition, sub: AnySub) -> None:
    """Add ``sub`` (of the statistic part ``d``) to what ``node``'s facts and status changes
    reach, and to its sessions when it keeps one."""
    if isinstance(sub, TimesSub):
        media = d.status_media.value
        node.times[media] = (*node.times.get(media, ()), sub)
    elif isinstance(sub, StatusSub):
        by_status = node.statuses.setdefault(d.status_media.value, {})
        for status in d.mask:
            by_status[status] = (*by_status.get(status, ()), sub)
    else:
        kinds: tuple[str, ...]
        if d.category is Category.SERVICE_FACTOR:
            kinds = ("entered", *sorted(_WAIT_EXITS))
        else:
            kinds = tuple(dict.fromkeys((*d.mask, *d.denominator_mask)))
        if d.count is Counting.CONTACTS:
            kinds = tuple(_CONTACT_KIND[kind] for kind in kinds if kind in _CONTACT_KIND)
        for media in [m.value for m in d.filter.media] or _ALL_MEDIA:
            by_kind = list(node.actions.get(media, _NO_FACTS))
            for kind in kinds:
                by_kind[_KIND_INDEX[kind]] += (sub,)
            node.actions[media] = tuple(by_kind)
    if sub.tally.mode == SESSION:
        node.sessions += (sub.tally,)  # (a Sub is the tally the facts update)


def _copy_sub(model: AnySub, restored: AnyTally | None) -> AnySub:
    """A subscription like ``model`` (an :class:`_OpenPlan`'s, never fed) on ``restored`` when
    that is an accumulator of its kind, else on a new, empty one; with as many readers."""
    if isinstance(model, TimesSub):
        times_model = model
        times = times_model.tally
        times = restored if type(restored) is type(times) else _empty_like(times)
        times.refs = times_model.tally.refs
        return TimesSub(times, times_model.windows)
    if isinstance(model, StatusSub):
        status_model = model
        status = status_model.tally
        if isinstance(restored, StatusTally | SlidingStatusTally):
            status = restored
        else:
            status = _empty_like(status)
        status.refs = status_model.tally.refs
        return StatusSub(status, status_model.windows, status_model.reasons)
    # A Sub copies the cells of the tally it is built from: the model's are empty.
    tally = restored if isinstance(restored, Tally) else model
    sub: Sub
    if isinstance(model, ServiceSub):
        service = model
        sub = ServiceSub(
            tally,
            service.windows,
            service.filter,
            service.entered,
            service.grace,
            service.threshold,
        )
    else:
        action = model
        assert isinstance(action, ActionSub)
        sub = ActionSub(
            tally, action.windows, action.filter, action.entered, action.grace, action.lo, action.hi
        )
        sub.causes = action.causes
    sub.reported = model.reported
    sub.refs = model.refs
    return sub


def _empty_like(tally: Any) -> Any:
    """A new, empty status accumulator of ``tally``'s kind and layout."""
    if isinstance(tally, StatusTimes):
        return StatusTimes(tally.mode)
    if isinstance(tally, SlidingStatusTimes):
        return new_sliding_status_times(tally.step_ms, tally.slots, tally.mask)
    if isinstance(tally, StatusTally):
        return StatusTally(tally.mode)
    return new_sliding_status_tally(tally.step_ms, tally.slots)
