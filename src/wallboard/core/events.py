"""Typed contact-center events: the contract between sources, fanout and collectors.

Every event is a frozen msgspec Struct tagged by its ``type`` field. The envelope fields
(protocol version, tenant, source, per-source sequence number, event id, timestamp) are common
to all; the rest name the objects involved. ``docs/protocol.md`` documents each type with an
example, and a test decodes every example in that document.
"""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar, Final, final

import msgspec

from wallboard.core.ids import (
    AgentId,
    CallId,
    DnId,
    EventId,
    InteractionId,
    QueueId,
    SourceId,
    TenantId,
    VirtualQueueId,
)

PROTOCOL_VERSION: Final = 1
"""The wire protocol version this code speaks; bumped only for incompatible changes."""

# Bounds that keep a hostile or broken peer from making us hold arbitrary data.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
TimestampMs = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]  # up to 9999-12-31
AttachedData = Annotated[dict[str, str], msgspec.Meta(max_length=64)]
# A duration a platform reports with a fact (queue_log's waittime, talktime…), when it does.
DurationMs = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000_000)]

# Object references: ids are opaque, non-empty and bounded.
_ID = msgspec.Meta(min_length=1, max_length=256)
TenantIdRef = Annotated[TenantId, _ID]
SourceIdRef = Annotated[SourceId, _ID]
EventIdRef = Annotated[EventId, _ID]
AgentIdRef = Annotated[AgentId, _ID]
DnIdRef = Annotated[DnId, _ID]
QueueIdRef = Annotated[QueueId, _ID]
VirtualQueueIdRef = Annotated[VirtualQueueId, _ID]
CallIdRef = Annotated[CallId, _ID]
InteractionIdRef = Annotated[InteractionId, _ID]


class Media(enum.StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    WORKITEM = "workitem"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class QueueKind(enum.StrEnum):
    """Where a call waits: an ACD queue or a routing point in front of queues."""

    QUEUE = "queue"
    ROUTING_POINT = "routing_point"


class RefusalReason(enum.StrEnum):
    """Why a call was turned away at entry to a queue (it never waited there)."""

    FULL = "full"  # the queue already held its maximum of waiting calls (Asterisk FULL)
    CLOSED = "closed"  # outside the queue's opening hours (Wazo CLOSED)
    NO_AGENTS = "no_agents"  # no agent to take it, as the platform does not say more
    JOIN_EMPTY = "join_empty"  # no member the queue's join rule accepts (Asterisk JOINEMPTY)
    JOIN_UNAVAILABLE = "join_unavailable"  # every member unavailable (Asterisk JOINUNAVAIL)


class DiversionCause(enum.StrEnum):
    """Why a call left a queue unanswered for another destination."""

    ROUTED = "routed"  # routing sent it on (another queue, a routing point's target)
    TIMEOUT = "timeout"  # it waited the queue's longest wait (Asterisk EXITWITHTIMEOUT)
    LEAVE_EMPTY = "leave_empty"  # no agent left to answer it (EXITEMPTY, Wazo LEAVEEMPTY)
    KEY = "key"  # the caller pressed a key to leave (EXITWITHKEY)
    AGENT_DUMP = "agent_dump"  # the agent hung up before the answer (AGENTDUMP)
    # Diverted on entry because of the load, before waiting:
    CALLS_PER_AGENT = "calls_per_agent"  # calls per agent over a ratio (Wazo DIVERT_CA_RATIO)
    EXPECTED_WAIT = "expected_wait"  # expected wait over a limit (Wazo DIVERT_HOLDTIME)


class TransferKind(enum.StrEnum):
    BLIND = "blind"
    CONSULT = "consult"


class ReleasedBy(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class VirtualQueueExit(enum.StrEnum):
    """Why a contact left a virtual queue."""

    ROUTED = "routed"
    ABANDONED = "abandoned"
    CLEARED = "cleared"
    DIVERTED = "diverted"
    TIMEOUT = "timeout"


class InteractionOutcome(enum.StrEnum):
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    STOPPED = "stopped"


class Event(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True, gc=False
):
    """Envelope shared by every event.

    ``seq`` is monotonic per ``source`` so a consumer can detect gaps and resume; ``id`` is unique
    per event so a consumer can drop duplicates; ``ts`` is the UTC time of the fact, in
    milliseconds since the Unix epoch.

    Events hold only strings, numbers and string-to-string mappings, so they cannot be part of
    a reference cycle: ``gc=False`` keeps the garbage collector from tracking millions of them.
    """

    v: int = PROTOCOL_VERSION
    tenant: TenantIdRef
    source: SourceIdRef
    seq: Seq
    id: EventIdRef
    ts: TimestampMs

    # Fields that name configuration or runtime objects; used by subscription filters.
    REFERENCES: ClassVar[tuple[str, ...]] = ()

    @property
    def type(self) -> str:
        return type(self).__struct_config__.tag  # type: ignore[return-value]

    def references(self) -> tuple[str, ...]:
        """The ids of every object this event names (agent, DN, queue, call, interaction…)."""
        refs: list[str] = []
        for name in self.REFERENCES:
            value = getattr(self, name)
            if value is not None:
                refs.append(value)
        return tuple(refs)


# --- Agent states (voice and multimedia) -------------------------------------------------------


class AgentLogin(Event, frozen=True, kw_only=True, tag="agent.login"):
    """The agent logged in, at a DN for voice, for the listed media (and queues, where the
    platform has per-queue membership)."""

    agent: AgentIdRef
    dn: DnIdRef | None = None
    media: tuple[Media, ...] = (Media.VOICE,)
    queues: Annotated[tuple[QueueId, ...], msgspec.Meta(max_length=1024)] = ()
    REFERENCES = ("agent", "dn")


class AgentQueuesChanged(Event, frozen=True, kw_only=True, tag="agent.queues"):
    """During its session the agent was added to or removed from queues; ``queues`` is the
    whole new set — of the listed ``media`` (a platform that knows one media names it, so
    that another platform's queues stay), or, none listed, of the whole session. Not a new
    login: times since login and the agent's state carry on."""

    agent: AgentIdRef
    queues: Annotated[tuple[QueueId, ...], msgspec.Meta(max_length=1024)]
    media: tuple[Media, ...] = ()
    REFERENCES = ("agent",)


class AgentLogout(Event, frozen=True, kw_only=True, tag="agent.logout"):
    """The agent logged out of ``media`` (none listed: of every media, the whole session).
    A platform that knows one media names it (Asterisk, FreeSWITCH: voice), so that a logout
    there leaves the agent's session on another platform's media alone; the session ends when
    no media is left."""

    agent: AgentIdRef
    reason: Name | None = None
    media: tuple[Media, ...] = ()
    REFERENCES = ("agent",)


class AgentReady(Event, frozen=True, kw_only=True, tag="agent.ready"):
    """The agent can take contacts of ``media``."""

    agent: AgentIdRef
    media: Media = Media.VOICE
    REFERENCES = ("agent",)


class AgentNotReady(Event, frozen=True, kw_only=True, tag="agent.not_ready"):
    """The agent cannot take contacts of ``media``; ``reason`` is the reason code (break, lunch…)."""

    agent: AgentIdRef
    media: Media = Media.VOICE
    reason: Name | None = None
    REFERENCES = ("agent",)


class AgentAfterCallWork(Event, frozen=True, kw_only=True, tag="agent.acw"):
    """The agent entered after-call work (wrap-up), usually right after releasing ``call``."""

    agent: AgentIdRef
    media: Media = Media.VOICE
    call: CallIdRef | None = None
    REFERENCES = ("agent", "call")


class AgentDndOn(Event, frozen=True, kw_only=True, tag="agent.dnd_on"):
    agent: AgentIdRef
    REFERENCES = ("agent",)


class AgentDndOff(Event, frozen=True, kw_only=True, tag="agent.dnd_off"):
    agent: AgentIdRef
    REFERENCES = ("agent",)


class AgentCapacity(Event, frozen=True, kw_only=True, tag="agent.capacity"):
    """How many contacts of ``media`` the agent may handle at once (e.g. 1 call, 3 chats)."""

    agent: AgentIdRef
    media: Media
    capacity: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    REFERENCES = ("agent",)


# --- Call lifecycle ----------------------------------------------------------------------------


class CallQueued(Event, frozen=True, kw_only=True, tag="call.queued"):
    """The call entered ``queue`` (an ACD queue or a routing point) and waits there."""

    call: CallIdRef
    queue: QueueIdRef
    point: QueueKind = QueueKind.QUEUE
    direction: Direction = Direction.INBOUND
    data: AttachedData = {}
    REFERENCES = ("call", "queue")


class CallRefused(Event, frozen=True, kw_only=True, tag="call.refused"):
    """The call was turned away at entry to ``queue``; it never waited there."""

    call: CallIdRef
    queue: QueueIdRef
    reason: RefusalReason
    REFERENCES = ("call", "queue")


class CallDiverted(Event, frozen=True, kw_only=True, tag="call.diverted"):
    """The call left ``queue`` without being answered there, sent on to ``target`` for
    ``cause`` (None: not said); ``wait_ms`` is the wait the platform reports."""

    call: CallIdRef
    queue: QueueIdRef
    target: Name
    cause: DiversionCause | None = None
    wait_ms: DurationMs | None = None
    REFERENCES = ("call", "queue")


class CallRinging(Event, frozen=True, kw_only=True, tag="call.ringing"):
    """The call rings at ``dn`` (the agent's, for a distributed call)."""

    call: CallIdRef
    agent: AgentIdRef | None = None
    dn: DnIdRef | None = None
    queue: QueueIdRef | None = None
    direction: Direction = Direction.INBOUND
    REFERENCES = ("call", "agent", "dn", "queue")


class CallEstablished(Event, frozen=True, kw_only=True, tag="call.established"):
    """The call was answered; ``queue`` is the queue it was distributed from, if any.
    ``wait_ms`` (in the queue) and ``ring_ms`` (at the agent) are what the platform reports."""

    call: CallIdRef
    agent: AgentIdRef | None = None
    dn: DnIdRef | None = None
    queue: QueueIdRef | None = None
    direction: Direction = Direction.INBOUND
    wait_ms: DurationMs | None = None
    ring_ms: DurationMs | None = None
    REFERENCES = ("call", "agent", "dn", "queue")


class CallHeld(Event, frozen=True, kw_only=True, tag="call.held"):
    call: CallIdRef
    agent: AgentIdRef | None = None
    dn: DnIdRef | None = None
    REFERENCES = ("call", "agent", "dn")


class CallRetrieved(Event, frozen=True, kw_only=True, tag="call.retrieved"):
    call: CallIdRef
    agent: AgentIdRef | None = None
    dn: DnIdRef | None = None
    REFERENCES = ("call", "agent", "dn")


class CallReleased(Event, frozen=True, kw_only=True, tag="call.released"):
    """An established call ended for ``agent``/``dn``; ``talk_ms`` is the answer → release
    time the platform reports."""

    call: CallIdRef
    agent: AgentIdRef | None = None
    dn: DnIdRef | None = None
    queue: QueueIdRef | None = None
    by: ReleasedBy | None = None
    talk_ms: DurationMs | None = None
    REFERENCES = ("call", "agent", "dn", "queue")


class CallAbandoned(Event, frozen=True, kw_only=True, tag="call.abandoned"):
    """The caller hung up while waiting in ``queue`` (or while it rang, before an answer);
    ``wait_ms`` is the wait the platform reports."""

    call: CallIdRef
    queue: QueueIdRef
    wait_ms: DurationMs | None = None
    REFERENCES = ("call", "queue")


class CallTransferred(Event, frozen=True, kw_only=True, tag="call.transferred"):
    """``agent`` transferred the call to ``target`` (a DN, queue or routing point)."""

    call: CallIdRef
    agent: AgentIdRef | None = None
    target: Name
    kind: TransferKind = TransferKind.BLIND
    REFERENCES = ("call", "agent")


class CallConferenced(Event, frozen=True, kw_only=True, tag="call.conferenced"):
    """``agent`` added ``target`` to the call."""

    call: CallIdRef
    agent: AgentIdRef | None = None
    target: Name
    REFERENCES = ("call", "agent")


class CallDataUpdated(Event, frozen=True, kw_only=True, tag="call.data"):
    """Attached data of the call changed; ``data`` holds the new or updated keys."""

    call: CallIdRef
    data: AttachedData
    REFERENCES = ("call",)


# --- Virtual queues ----------------------------------------------------------------------------


class VirtualQueueEntered(Event, frozen=True, kw_only=True, tag="vq.entered"):
    """A call or interaction started waiting in virtual queue ``vq``."""

    vq: VirtualQueueIdRef
    call: CallIdRef | None = None
    interaction: InteractionIdRef | None = None
    media: Media = Media.VOICE
    REFERENCES = ("vq", "call", "interaction")


class VirtualQueueLeft(Event, frozen=True, kw_only=True, tag="vq.left"):
    vq: VirtualQueueIdRef
    call: CallIdRef | None = None
    interaction: InteractionIdRef | None = None
    media: Media = Media.VOICE
    reason: VirtualQueueExit
    target: Name | None = None
    REFERENCES = ("vq", "call", "interaction")


# --- Non-voice interactions (chat, email, work items) -------------------------------------------


class InteractionCreated(Event, frozen=True, kw_only=True, tag="interaction.created"):
    interaction: InteractionIdRef
    media: Media
    direction: Direction = Direction.INBOUND
    data: AttachedData = {}
    REFERENCES = ("interaction",)


class InteractionQueued(Event, frozen=True, kw_only=True, tag="interaction.queued"):
    interaction: InteractionIdRef
    media: Media
    queue: QueueIdRef
    REFERENCES = ("interaction", "queue")


class InteractionOffered(Event, frozen=True, kw_only=True, tag="interaction.offered"):
    interaction: InteractionIdRef
    media: Media
    agent: AgentIdRef
    queue: QueueIdRef | None = None
    REFERENCES = ("interaction", "agent", "queue")


class InteractionAccepted(Event, frozen=True, kw_only=True, tag="interaction.accepted"):
    interaction: InteractionIdRef
    media: Media
    agent: AgentIdRef
    queue: QueueIdRef | None = None
    REFERENCES = ("interaction", "agent", "queue")


class InteractionRejected(Event, frozen=True, kw_only=True, tag="interaction.rejected"):
    interaction: InteractionIdRef
    media: Media
    agent: AgentIdRef
    REFERENCES = ("interaction", "agent")


class InteractionRevoked(Event, frozen=True, kw_only=True, tag="interaction.revoked"):
    """An offer to ``agent`` was withdrawn (it timed out or was routed elsewhere)."""

    interaction: InteractionIdRef
    media: Media
    agent: AgentIdRef
    REFERENCES = ("interaction", "agent")


class InteractionTransferred(Event, frozen=True, kw_only=True, tag="interaction.transferred"):
    interaction: InteractionIdRef
    media: Media
    agent: AgentIdRef | None = None
    target: Name
    REFERENCES = ("interaction", "agent")


class InteractionDone(Event, frozen=True, kw_only=True, tag="interaction.done"):
    """The interaction ended: handled by ``agent``, or abandoned while queued, or stopped."""

    interaction: InteractionIdRef
    media: Media
    agent: AgentIdRef | None = None
    queue: QueueIdRef | None = None
    outcome: InteractionOutcome = InteractionOutcome.COMPLETED
    REFERENCES = ("interaction", "agent", "queue")


EVENT_TYPES: Final[tuple[type[Event], ...]] = (
    AgentLogin,
    AgentQueuesChanged,
    AgentLogout,
    AgentReady,
    AgentNotReady,
    AgentAfterCallWork,
    AgentDndOn,
    AgentDndOff,
    AgentCapacity,
    CallQueued,
    CallRefused,
    CallDiverted,
    CallRinging,
    CallEstablished,
    CallHeld,
    CallRetrieved,
    CallReleased,
    CallAbandoned,
    CallTransferred,
    CallConferenced,
    CallDataUpdated,
    VirtualQueueEntered,
    VirtualQueueLeft,
    InteractionCreated,
    InteractionQueued,
    InteractionOffered,
    InteractionAccepted,
    InteractionRejected,
    InteractionRevoked,
    InteractionTransferred,
    InteractionDone,
)

EVENT_TYPE_NAMES: Final[frozenset[str]] = frozenset(
    str(cls.__struct_config__.tag) for cls in EVENT_TYPES
)


@final
class UnknownEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event of a type this version does not know (sent by a newer peer).

    It is passed through unchanged (``raw`` is the original JSON object) and counted, never
    treated as an error: forward compatibility means an old consumer survives a new producer.
    """

    type: str
    v: int
    tenant: TenantIdRef
    source: SourceIdRef
    seq: int
    id: EventIdRef
    ts: int
    raw: bytes

    def references(self) -> tuple[str, ...]:
        return ()


AnyEvent = Event | UnknownEvent
