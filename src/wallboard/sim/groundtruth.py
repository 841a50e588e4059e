"""Ground-truth records the simulator writes beside its event stream.

``calls.jsonl`` holds one :class:`ContactRecord` per contact (per queue visit: a transferred
call gets a new record, same ``id``, next ``leg``); ``agents.jsonl`` holds one
:class:`AgentInterval` per period an agent spent in one state. Times are UTC milliseconds since
the Unix epoch, like event ``ts``; durations are seconds with millisecond precision.
"""

from __future__ import annotations

from typing import Literal

import msgspec

AgentStateName = Literal["ready", "not_ready", "ringing", "talking", "held", "acw", "busy"]
"""``busy``: handling chats or emails (and no call); the voice states speak for themselves."""

STATES: tuple[AgentStateName, ...] = (
    "ready",
    "not_ready",
    "ringing",
    "talking",
    "held",
    "acw",
    "busy",
)


class ContactRecord(msgspec.Struct, kw_only=True, gc=False):
    """What really happened to one contact at one queue (or to one agent-placed call)."""

    tenant: str
    id: str
    leg: int
    media: str
    direction: str
    queue: str | None
    """The queue the contact waited in; None for outbound and internal calls."""
    entered_at: int
    """When it entered the queue (after any routing point), or when the agent dialled."""
    answered_at: int | None
    abandoned_at: int | None
    agent: str | None
    released_at: int | None
    hold_seconds: float
    acw_seconds: float
    transferred: bool
    transferred_to: str | None = None
    refused: str | None = None
    """Why the queue turned the call away at entry (``full``), at ``entered_at``: it never
    waited; None when it entered."""
    diverted_at: int | None = None
    """When the call, unanswered after the queue's ``max_wait``, was sent on (cause
    ``timeout``); None if it was not."""


class AgentInterval(msgspec.Struct, kw_only=True, gc=False):
    """An agent was in ``state`` from ``start`` until ``end`` (None: still at the run's end)."""

    tenant: str
    agent: str
    state: AgentStateName
    reason: str | None
    start: int
    end: int | None
