"""What every platform adapter shares: the translator contract, bad-record accounting, envelopes.

A translator is pure and synchronous: it takes one raw record of a platform (a queue_log line,
an AMI message, a JSON object…) with its location (line or byte offset) and returns our events,
already stamped with tenant, source, a gapless per-source ``seq``, a deterministic ``id`` and a
UTC millisecond ``ts``. A record it cannot use is reported as a :class:`BadRecord`, counted by
platform and reason, logged with its location, and skipped: nothing raises out of
:meth:`Translator.translate`.

Ids are derived from the record (``<source>:<digest of the record key>.<n>``), so importing the
same file twice yields the same ids and the duplicates are dropped downstream.

Timestamps: each translator turns the platform's timestamp into UTC milliseconds (the unit and
time zone are documented per platform). :class:`TimestampGuard` then keeps the stream's ``ts``
non-decreasing: a timestamp that goes backwards (clock skew between hosts, a stepped clock) is
clamped to the last one and counted as ``ts_clamped_backwards``; with a live clock, a timestamp
more than ``max_future_ms`` ahead of our clock is clamped to now and counted as
``ts_clamped_future``. Clamped events are kept, never dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any, ClassVar, Final, Protocol, TypedDict, TypeVar

from wallboard.core.clock import Clock
from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event, Media
from wallboard.core.ids import EventId, SourceId, TenantId

logger = logging.getLogger(__name__)

VOICE_ONLY: Final = (Media.VOICE,)
"""The media of a login or logout from a platform that knows voice only (Asterisk,
FreeSWITCH): its logout ends the agent's voice login and leaves a session on another
platform's media (chats, emails) alone."""
MAX_NAME: Final = 256
"""Longest id or name our events accept (``core.events.Name``)."""

MAX_TS_MS: Final = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z, the largest ``ts`` the wire accepts."""


class BadRecord(InvalidInput):
    """A platform record that cannot be turned into events: malformed, incomplete or unknown.

    ``reason`` is a short stable word (``bad_timestamp``, ``missing_field``, ``unknown_verb``…)
    used as the counter label; ``location`` says where the record was (``line 12``,
    ``offset 3456``, ``request 7``).
    """

    code = "bad_record"

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, reason=reason, field=field)
        self.reason = reason
        self.field = field


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a record came from, for log lines and error messages."""

    kind: str  # "line", "offset", "message", "request"
    value: int
    origin: str = ""

    def __str__(self) -> str:
        where = f"{self.kind} {self.value}"
        return f"{self.origin} {where}" if self.origin else where


def line(number: int, origin: str = "") -> Location:
    return Location("line", number, origin)


def offset(position: int, origin: str = "") -> Location:
    return Location("offset", position, origin)


class BadRecordCounter:
    """Counts bad records by (platform, reason) and logs each with its location.

    Logging is rate-limited per reason (the first ``log_first`` of each, then every
    ``log_every``-th) so a file full of garbage does not flood the log.
    """

    def __init__(self, platform: str, *, log_first: int = 20, log_every: int = 1000) -> None:
        self.platform = platform
        self.by_reason: Counter[str] = Counter()
        self._log_first = log_first
        self._log_every = log_every

    def record(self, error: BadRecord, location: Location) -> None:
        self.by_reason[error.reason] += 1
        seen = self.by_reason[error.reason]
        if seen <= self._log_first or seen % self._log_every == 0:
            logger.warning(
                "%s: bad record at %s: %s",
                self.platform,
                location,
                error.message,
                extra={
                    "platform": self.platform,
                    "reason": error.reason,
                    "location": str(location),
                    "seen": seen,
                },
            )

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())


@dataclasses.dataclass
class TranslationStats:
    """What a translator did so far; printed by ``wallboard import`` and exposed by live sources."""

    records: int = 0
    events: int = 0
    ignored: Counter[str] = dataclasses.field(default_factory=Counter)
    notes: Counter[str] = dataclasses.field(default_factory=Counter)

    def summary(self, bad: Counter[str]) -> dict[str, Any]:
        return {
            "records": self.records,
            "events": self.events,
            "bad": dict(sorted(bad.items())),
            "ignored": dict(sorted(self.ignored.items())),
            "notes": dict(sorted(self.notes.items())),
        }


class Envelope(TypedDict):
    """The envelope fields of one event, ready to be splatted into an event constructor."""

    tenant: TenantId
    source: SourceId
    seq: int
    id: EventId
    ts: int


EventSink = Callable[[Event], Awaitable[None]]
"""Where an HTTP endpoint of a live source hands each translated event (the wire server)."""

Draft = Callable[[Envelope], Event]
"""An event waiting for its envelope: ``lambda env: CallQueued(**env, call=…, queue=…)``.

Translators build drafts first and stamp them last, so a record that fails half-way consumes no
sequence numbers and the ``seq`` stays gapless.
"""


class TimestampGuard:
    """Keeps ``ts`` non-decreasing and, with a clock, not in the future; counts what it clamps."""

    def __init__(self, stats: TranslationStats, *, clock: Clock | None, max_future_ms: int) -> None:
        self._stats = stats
        self._clock = clock
        self._max_future_ms = max_future_ms
        self.last_ms = 0

    def check(self, ts_ms: int) -> int:
        if ts_ms < 0 or ts_ms > MAX_TS_MS:
            raise BadRecord(f"timestamp {ts_ms} ms is out of range", reason="bad_timestamp")
        if self._clock is not None:
            now = self._clock.now_ms()
            if ts_ms > now + self._max_future_ms:
                self._stats.notes["ts_clamped_future"] += 1
                ts_ms = now
        if ts_ms < self.last_ms:
            self._stats.notes["ts_clamped_backwards"] += 1
            ts_ms = self.last_ms
        self.last_ms = ts_ms
        return ts_ms


class Stamper:
    """Assigns the envelope: tenant, source, gapless seq, deterministic id, guarded ts."""

    def __init__(
        self,
        *,
        tenant: str,
        source: str,
        stats: TranslationStats,
        clock: Clock | None = None,
        max_future_ms: int = 5 * 60_000,
        first_seq: int = 1,
    ) -> None:
        self.tenant = TenantId(check_name(tenant, "tenant"))
        self.source = SourceId(check_name(source, "source"))
        self.next_seq = first_seq
        self.guard = TimestampGuard(stats, clock=clock, max_future_ms=max_future_ms)
        self._stats = stats

    def stamp(self, key: str, ts_ms: int, drafts: Iterable[Draft]) -> list[Event]:
        drafts = list(drafts)
        if not drafts:
            return []
        ts = self.guard.check(ts_ms)
        digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=10).hexdigest()
        events: list[Event] = []
        for index, draft in enumerate(drafts):
            envelope = Envelope(
                tenant=self.tenant,
                source=self.source,
                seq=self.next_seq + index,
                id=EventId(f"{self.source}:{digest}.{index}"),
                ts=ts,
            )
            events.append(draft(envelope))
        self.next_seq += len(events)
        self._stats.events += len(events)
        return events


def check_name(value: str | None, field: str) -> str:
    """An id or name from a platform record: stripped, non-empty, at most 256 characters."""
    if value is None:
        raise BadRecord(f"field {field} is missing", reason="missing_field", field=field)
    text = value.strip()
    if not text:
        raise BadRecord(f"field {field} is empty", reason="missing_field", field=field)
    if len(text) > MAX_NAME:
        raise BadRecord(
            f"field {field} is {len(text)} characters long, more than {MAX_NAME}",
            reason="field_too_long",
            field=field,
        )
    return text


def optional_name(value: str | None, field: str) -> str | None:
    """Like :func:`check_name` but an absent or empty value is ``None``."""
    if value is None or not value.strip():
        return None
    return check_name(value, field)


def parse_int(value: str | None, field: str) -> int:
    if value is None or not value.strip():
        raise BadRecord(f"field {field} is missing", reason="missing_field", field=field)
    try:
        return int(value.strip())
    except ValueError:
        raise BadRecord(
            f"field {field} is not a whole number: {value[:40]!r}", reason="bad_number", field=field
        ) from None


MAX_REPORTED_SECONDS: Final = 1_000_000_000
"""The longest duration a platform may report (about 31 years): beyond, it is no duration."""


def reported_ms(value: str | None, stats: TranslationStats) -> int | None:
    """A duration a platform reports in whole seconds (queue_log's waittime, AMI's HoldTime…)
    → ms; None when absent. A value that is no duration loses only itself, not the record's
    fact: it is counted as the note ``bad_duration``."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = int(text)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= MAX_REPORTED_SECONDS:
        stats.notes["bad_duration"] += 1
        return None
    return seconds * 1000


MAX_TRACKED: Final = 100_000
"""Most entries a translator keeps per kind of thing it follows (tasks, contacts, agents)."""

_K = TypeVar("_K")
_V = TypeVar("_V")


class BoundedMap(MutableMapping[_K, _V]):
    """A dict of at most ``limit`` entries that forgets the least recently used one first.

    Translators follow things named by their input (a task, a contact, an agent). A thing that
    never ends (a task whose completion was lost, or ids an attacker makes up) would be kept
    forever; here it is forgotten once ``limit`` newer ones were used, and ``on_forget`` is
    called so the loss is counted. Live things are used again and again, so they stay.
    """

    def __init__(self, limit: int = MAX_TRACKED, on_forget: Callable[[], None] | None = None):
        if limit < 1:
            raise ValueError("a bounded map holds at least one entry")
        self.limit = limit
        self._on_forget = on_forget
        self._data: OrderedDict[_K, _V] = OrderedDict()

    def __getitem__(self, key: _K) -> _V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __setitem__(self, key: _K, value: _V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.limit:
            self._data.popitem(last=False)
            if self._on_forget is not None:
                self._on_forget()

    def __delitem__(self, key: _K) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[_K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Translator(Protocol):
    """Raw platform record → our events. Never raises for bad input; counts it instead."""

    platform: ClassVar[str]
    stats: TranslationStats
    bad: BadRecordCounter

    def finish(self) -> list[Event]:
        """Events still held back (e.g. an exit waiting for its cause) at the end of input."""
        ...


class TranslatorBase:
    """The shared plumbing of every translator: stats, bad-record counter, stamper."""

    platform: ClassVar[str] = "unknown"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None = None,
        clock: Clock | None = None,
        max_future_ms: int = 5 * 60_000,
        first_seq: int = 1,
    ) -> None:
        self.stats = TranslationStats()
        self.bad = BadRecordCounter(self.platform)
        self.stamper = Stamper(
            tenant=tenant,
            source=source or self.platform,
            stats=self.stats,
            clock=clock,
            max_future_ms=max_future_ms,
            first_seq=first_seq,
        )

    def bounded(self, limit: int = MAX_TRACKED) -> BoundedMap[Any, Any]:
        """A :class:`BoundedMap` whose forgotten entries are counted as ``forgotten_state``."""

        def forgotten() -> None:
            self.stats.notes["forgotten_state"] += 1

        return BoundedMap(limit, forgotten)

    def _reject(self, error: BadRecord, location: Location) -> list[Event]:
        self.bad.record(error, location)
        return []

    def _ignore(self, reason: str) -> list[Event]:
        self.stats.ignored[reason] += 1
        return []

    def summary(self) -> dict[str, Any]:
        return self.stats.summary(self.bad.by_reason)

    def finish(self) -> list[Event]:
        return []


class QueueMembership:
    """Which queues each agent is a member of, for platforms with per-queue membership.

    Our ``agent.login`` carries the agent's queues: joining the first queue is sent as a login,
    a later change as ``agent.queues`` with the full new set, and leaving the last queue as a
    logout.
    """

    def __init__(self) -> None:
        self._queues: dict[str, tuple[str, ...]] = {}

    def queues(self, agent: str) -> tuple[str, ...]:
        return self._queues.get(agent, ())

    def snapshot(self) -> dict[str, list[str]]:
        """Every agent's queues, as JSON (a live source saves it to continue after a restart)."""
        return {agent: list(queues) for agent, queues in self._queues.items()}

    def restore(self, value: Any) -> None:
        """Take back a :meth:`snapshot`; raises ValueError when it is malformed."""
        if not isinstance(value, dict) or not all(
            isinstance(queues, list) and all(isinstance(q, str) for q in queues)
            for queues in value.values()
        ):
            raise ValueError("membership is not an object of agent -> list of queues")
        self._queues = {str(agent): tuple(queues) for agent, queues in value.items() if queues}

    def is_member(self, agent: str) -> bool:
        return agent in self._queues

    def add(self, agent: str, queue: str | None) -> tuple[str, ...] | None:
        """Add ``agent`` to ``queue``; the new set, or ``None`` if nothing changed."""
        current = self._queues.get(agent)
        if current is not None and (queue is None or queue in current):
            return None
        updated = tuple(sorted({*(current or ()), *((queue,) if queue else ())}))
        self._queues[agent] = updated
        return updated

    def remove(self, agent: str, queue: str | None) -> tuple[str, ...] | None:
        """Remove ``agent`` from ``queue`` (from all if ``None``); the remaining set, ``()`` when
        none is left, or ``None`` if the agent was not a member."""
        current = self._queues.get(agent)
        if current is None or (queue is not None and queue not in current and current):
            return None
        remaining = () if queue is None else tuple(q for q in current if q != queue)
        if remaining:
            self._queues[agent] = remaining
        else:
            del self._queues[agent]
        return remaining
