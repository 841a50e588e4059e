"""The event log port: a durable, replayable, de-duplicating log between sources and collectors.

The log holds one **stream** per source kind (``voice``, ``voice-vq``, ``interactions``,
``interactions-vq``). Every record is one encoded event (a wire line without its newline) of one
tenant, numbered by the stream: sequence numbers start at 1, increase by one per record kept,
and are never reused, so a consumer's position is one integer per stream. Collectors checkpoint
that integer with the engine's snapshot and resume with :meth:`EventLog.read` after it: they
neither miss nor re-apply a record even when the source itself cannot replay.

Publishing is idempotent: a record whose ``(tenant, event id)`` the stream already holds within
its de-duplication window is not stored again, and the publisher learns the sequence of the
first copy. So a source or adapter that reconnects and resends costs nothing downstream.

Retention is by age and size (settings of each implementation): a reader asking for records
that were trimmed gets :class:`~wallboard.core.errors.ResumeGap`, never a silent hole.

Implementations: :class:`~wallboard.eventlog.memory.MemoryEventLog` (embedded default, tests)
and :class:`~wallboard.eventlog.jetstream.JetStreamEventLog` (NATS JetStream, production).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Sequence
from typing import Final, Protocol

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.ids import TenantId


class StreamName(enum.StrEnum):
    """The log's streams: one per kind of source, as the four source ports."""

    VOICE = "voice"
    VOICE_VQ = "voice-vq"
    INTERACTIONS = "interactions"
    INTERACTIONS_VQ = "interactions-vq"


MAX_RECORD_BYTES: Final = 64 * 1024
"""Largest record accepted: the wire protocol's longest line."""

MAX_ID_CHARS: Final = 256
"""Tenant ids and event ids are 1 to 256 characters, as on the wire."""


@dataclasses.dataclass(frozen=True, slots=True)
class LogRecord:
    """One event as the log keeps it."""

    stream: StreamName
    seq: int
    """The stream's sequence number of this record, from 1."""
    tenant: TenantId
    data: bytes
    """The encoded event (a wire line without its newline), byte for byte as published."""


@dataclasses.dataclass(frozen=True, slots=True)
class Published:
    """What :meth:`EventLog.publish` did with one record."""

    seq: int
    """The record's sequence number (the first copy's, for a duplicate)."""
    duplicate: bool


class EventLog(Protocol):
    """A log of encoded events, per stream and tenant."""

    async def publish(
        self, stream: StreamName, tenant: TenantId, event_id: str, data: bytes
    ) -> Published:
        """Append one record unless ``(tenant, event_id)`` is already in the stream's window.

        Raises InvalidInput for an empty or oversized record or id, Unavailable when the
        backend cannot be reached (safe to retry: a retry is de-duplicated).
        """
        ...

    async def publish_many(
        self, stream: StreamName, records: Sequence[tuple[TenantId, str, bytes]]
    ) -> list[Published]:
        """Publish ``(tenant, event id, data)`` records in order, as :meth:`publish` each.

        Every record is checked before any is sent. On Unavailable some may have landed; a
        retry of the whole batch is de-duplicated.
        """
        ...

    async def read(
        self,
        stream: StreamName,
        *,
        after: int,
        tenants: Sequence[TenantId] | None = None,
        limit: int = 1000,
        wait_s: float = 0.0,
    ) -> list[LogRecord]:
        """Records of ``stream`` with a sequence above ``after``, oldest first, at most ``limit``.

        ``tenants`` keeps only those tenants' records (None: every tenant). When the log holds
        such records, at least one is returned; when it holds none, the read waits up to
        ``wait_s`` for one to arrive, then returns what came (possibly nothing). Raises
        ResumeGap when records just above ``after`` were trimmed by retention.
        """
        ...

    async def last_seq(self, stream: StreamName) -> int:
        """The sequence of the newest record of ``stream`` (0 when it holds none yet)."""
        ...

    async def first_seq(self, stream: StreamName) -> int:
        """The sequence of the oldest record kept (``last_seq + 1`` when none is kept)."""
        ...

    async def close(self) -> None:
        """Release connections and wake waiting readers; the log is unusable afterwards."""
        ...


HEARTBEAT_TENANT: Final = TenantId("~heartbeat")
"""Reserved tenant of heartbeat records: a publisher (a fanout) says every second whether its
source is connected, so collectors can mark values stale when it is not, or when it falls
silent. Collectors never count them as events."""


class Heartbeat(msgspec.Struct, frozen=True):
    """A heartbeat record's data (JSON)."""

    publisher: str
    ts: int
    """Wall-clock ms when published."""
    connected: bool
    """Whether the publisher's source is connected now."""


def heartbeat_record(publisher: str, connected: bool, now_ms: int) -> tuple[TenantId, str, bytes]:
    """``(tenant, event id, data)`` of a heartbeat, for :meth:`EventLog.publish_many`."""
    data = msgspec.json.encode(Heartbeat(publisher=publisher, ts=now_ms, connected=connected))
    return HEARTBEAT_TENANT, f"heartbeat:{publisher}:{now_ms}", data


def decode_heartbeat(data: bytes) -> Heartbeat | None:
    """The heartbeat in a record, or None when it is not one (logged by the caller)."""
    try:
        return msgspec.json.decode(data, type=Heartbeat)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def check_record(tenant: str, event_id: str, data: bytes) -> None:
    """Refuse what no stream may hold, naming the part that is wrong."""
    if not 1 <= len(tenant) <= MAX_ID_CHARS:
        raise InvalidInput(f"tenant: must be 1 to {MAX_ID_CHARS} characters")
    if not 1 <= len(event_id) <= MAX_ID_CHARS:
        raise InvalidInput(f"event id: must be 1 to {MAX_ID_CHARS} characters")
    if not data:
        raise InvalidInput("data: a record must hold an event")
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidInput(f"data: {len(data)} bytes, more than {MAX_RECORD_BYTES}")


def check_read(after: int, limit: int, wait_s: float) -> None:
    if after < 0:
        raise InvalidInput(f"after: {after} is negative")
    if not 1 <= limit <= 100_000:
        raise InvalidInput(f"limit: {limit} is not within 1..100000")
    if not 0 <= wait_s <= 3600:
        raise InvalidInput(f"wait_s: {wait_s} is not within 0..3600")


# A subject token may not hold '.', '*', '>' or white space; tenant ids may hold anything. Keep
# letters, digits and '-' as they are (readable subjects for the usual ids) and write every
# other byte of the UTF-8 form as '_' and two hex digits: reversible and collision-free.
_SAFE = re.compile(rb"[A-Za-z0-9-]")


@functools.lru_cache(maxsize=4096)
def subject_token(tenant: str) -> str:
    """The tenant as one subject token (``acme`` → ``acme``, ``a.b`` → ``a_2eb``); remembered
    for the most recent tenants, since every record published computes it."""
    return "".join(chr(b) if _SAFE.fullmatch(bytes((b,))) else f"_{b:02x}" for b in tenant.encode())


def tenant_of_token(token: str) -> TenantId:
    """The inverse of :func:`subject_token`."""
    out = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "_":
            out.append(int(token[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(token[i]))
            i += 1
    return TenantId(out.decode())
