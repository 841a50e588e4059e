"""Control messages of the wire protocol: handshake, subscription, heartbeat and errors.

A connection carries newline-delimited JSON objects, each with a ``type``. Event types are
dotted (``agent.ready``); control types are single words. See ``docs/protocol.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from wallboard.core.events import PROTOCOL_VERSION, Name, Seq, TimestampMs

FilterList = Annotated[tuple[Name, ...], msgspec.Meta(max_length=10_000)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class Control(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    """Base of the control messages."""


class Hello(Control, frozen=True, kw_only=True, tag="hello"):
    """Client → server, first message: who connects, which protocol version it speaks, and
    the token that says which tenants it may read (when the server asks for one)."""

    client: Name
    protocol: int = PROTOCOL_VERSION
    token: Token | None = None

    def __repr__(self) -> str:
        # A token is a secret: it must not reach a log through a repr.
        token = "None" if self.token is None else "'***'"
        return f"Hello(client={self.client!r}, protocol={self.protocol}, token={token})"


class Subscribe(Control, frozen=True, kw_only=True, tag="subscribe"):
    """Client → server, after ``welcome``: which events to receive and where to resume.

    A ``None`` filter means everything. ``objects`` keeps events that name any of the ids
    (agent, DN, queue, call, interaction, virtual queue). ``types`` keeps events whose type
    starts with one of the prefixes (``"agent."``, ``"call.queued"``). ``resume_from`` is the
    last sequence number the client has seen: the server replays everything after it, or
    answers ``error`` with code ``resume_gap`` when it no longer holds those events.
    """

    tenants: FilterList | None = None
    objects: FilterList | None = None
    types: FilterList | None = None
    resume_from: Seq | None = None


class Welcome(Control, frozen=True, kw_only=True, tag="welcome"):
    """Server → client, answer to ``hello``: the server's source, its current sequence number
    (the last one it emitted, 0 before any) and the oldest one it can still replay."""

    server: Name
    protocol: int = PROTOCOL_VERSION
    source: Name
    seq: Seq
    oldest: Seq


class Heartbeat(Control, frozen=True, kw_only=True, tag="heartbeat"):
    """Either way, when nothing else was sent for a while: proves the connection is alive and
    tells the peer the sender's current sequence number."""

    seq: Seq = 0
    ts: TimestampMs


class Error(Control, frozen=True, kw_only=True, tag="error"):
    """Server → client: something the client sent was refused. ``fatal`` errors close the
    connection after this message; the others only drop the offending line."""

    code: Name
    message: str
    detail: dict[str, Any] = {}
    fatal: bool = False


CONTROL_TYPES: tuple[type[Control], ...] = (Hello, Subscribe, Welcome, Heartbeat, Error)
