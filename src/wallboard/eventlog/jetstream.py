"""The event log on NATS JetStream: the production log between sources and collectors.

One JetStream stream per :class:`~wallboard.eventlog.interface.StreamName`, named
``<PREFIX>_<stream>`` (``WALLBOARD_voice``), on the subjects ``<prefix>.<stream>.<tenant token>``
(:func:`~wallboard.eventlog.interface.subject_token`), file storage, retention by age and size,
replicas for a NATS cluster. The stream's own sequence numbers are the log's sequence numbers.

De-duplication is JetStream's: every record is published with a ``Nats-Msg-Id`` derived from
``(tenant, event id)``, and the server drops a second copy within ``dedupe_window_s`` and answers
with the first copy's sequence.

Reads go through an ephemeral pull consumer per reader position (ack policy none, removed by the
server after ``inactive_threshold``): a reader that continues where its last read ended reuses
it; any other position creates a new one starting there. Several tenants are filtered by the
server where it supports several filter subjects (2.10 and later), else on the client.

When NATS goes away (stopped, restarting, unreachable, frozen), every call raises
:class:`~wallboard.core.errors.Unavailable` within a bound of about ``request_timeout_s`` (a read:
its wait plus that, twice at most), never a raw client error, never "nothing there". The client
reconnects by itself without end (see :data:`RECONNECT_WAIT_S`) and notices a dead connection
within about :data:`PING_INTERVAL_S` times :data:`MAX_OUTSTANDING_PINGS`. The same log object
works again once NATS is back: a read whose consumer the restart lost starts a new one at the
same position. A publish that raised Unavailable may still land (the client sends what it
buffered once it reconnects); publishing it again is de-duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from typing import Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    PubAck,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from wallboard.core.errors import InvalidInput, ResumeGap, Unavailable
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import (
    LogRecord,
    Published,
    StreamName,
    check_read,
    check_record,
    subject_token,
    tenant_of_token,
)

logger = logging.getLogger(__name__)


def _message_id(tenant: str, event_id: str) -> str:
    """JetStream's de-duplication id of a record: a header value may not hold CR or LF, an
    event id may, so a digest of the pair."""
    return hashlib.sha256(f"{tenant}\x00{event_id}".encode()).hexdigest()


_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,31}")
_NATS_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)

logger = logging.getLogger(__name__)

RECONNECT_WAIT_S: Final = 1.0
"""Pause between attempts to reach NATS again after losing it; attempts never stop."""
PING_INTERVAL_S: Final = 10.0
MAX_OUTSTANDING_PINGS: Final = 3
"""A connection that answers none of this many pings, sent every :data:`PING_INTERVAL_S`, is
taken for dead and replaced (a frozen server or a dead network path closes no socket)."""


class _ConnectionEvents:
    """The client's connection events as log lines: one warning when NATS is lost, one line when
    it is back, and the errors in between (each failed reconnect attempt) at debug level only."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lost = False
        self.closing = False
        self.on_reconnect: Callable[[], None] = lambda: None

    async def disconnected(self) -> None:
        if self.closing:
            return  # closed on purpose
        if not self.lost:
            self.lost = True
            logger.warning("NATS at %s lost; reconnecting every %g s", self.url, RECONNECT_WAIT_S)

    async def reconnected(self) -> None:
        if self.lost:
            logger.info("NATS at %s reached again", self.url)
        self.lost = False
        self.on_reconnect()

    async def error(self, exc: Exception) -> None:
        level = logging.DEBUG if self.lost else logging.WARNING
        logger.log(level, "NATS at %s unreachable: %s", self.url, exc or type(exc).__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class JetStreamSettings:
    """How the streams are made; each field is a ``WALLBOARD_LOG_*`` setting."""

    url: str = "nats://127.0.0.1:4222"
    prefix: str = "wallboard"
    """Subject prefix and (upper-cased) stream name prefix: several installations can share a
    NATS server under different prefixes."""
    max_age_s: float = 7 * 24 * 3600.0
    max_bytes: int = 1024**3
    """Per stream; the oldest records go first."""
    replicas: int = 1
    dedupe_window_s: float = 2 * 3600.0
    request_timeout_s: float = 5.0

    def check(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise InvalidInput(
                f"prefix: {self.prefix!r} must be a letter then up to 31 letters, digits or '-'"
            )
        if self.max_age_s <= 0 or self.max_bytes <= 0:
            raise InvalidInput("max_age_s and max_bytes must be positive")
        if not 1 <= self.replicas <= 5:
            raise InvalidInput(f"replicas: {self.replicas} is not within 1..5")
        if not 0 < self.dedupe_window_s <= self.max_age_s:
            raise InvalidInput("dedupe_window_s must be positive and at most max_age_s")
        if not 0 < self.request_timeout_s <= 300:
            raise InvalidInput("request_timeout_s must be within 0..300 s")


async def _unsubscribe(cursor: _Cursor) -> None:
    # On failure the server still removes the idle ephemeral consumer by itself.
    with contextlib.suppress(*_NATS_ERRORS):
        await cursor.subscription.unsubscribe()


class _ConsumerLost(nats.errors.Error):
    """A consumer that did not answer after an empty fetch."""


class _ConsumerGone(nats.errors.Error):
    """A consumer the server no longer has (it restarted, or removed it as idle)."""


@dataclasses.dataclass(slots=True)
class _Cursor:
    subscription: JetStreamContext.PullSubscription
    position: int  # the last stream sequence delivered through this consumer
    client_filter: frozenset[TenantId] | None


class JetStreamEventLog:
    """An :class:`~wallboard.eventlog.interface.EventLog` on a NATS JetStream server."""

    def __init__(self, client: Client, settings: JetStreamSettings) -> None:
        self._nc = client
        self._events: _ConnectionEvents | None = None
        self._js = client.jetstream(timeout=settings.request_timeout_s)
        self._settings = settings
        self._cursors: dict[tuple[StreamName, frozenset[TenantId] | None], _Cursor] = {}
        self._unsubscribing: set[asyncio.Task[None]] = set()
        v = client.connected_server_version
        self._filter_subjects = (v.major, v.minor) >= (2, 10)

    @classmethod
    async def connect(cls, settings: JetStreamSettings | None = None) -> JetStreamEventLog:
        """Connect and make sure every stream exists with these settings (idempotent)."""
        settings = settings or JetStreamSettings()
        settings.check()
        events = _ConnectionEvents(settings.url)
        try:
            client = await nats.connect(
                settings.url,
                connect_timeout=settings.request_timeout_s,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT_S,
                ping_interval=PING_INTERVAL_S,
                max_outstanding_pings=MAX_OUTSTANDING_PINGS,
                disconnected_cb=events.disconnected,
                reconnected_cb=events.reconnected,
                error_cb=events.error,
            )
        except _NATS_ERRORS as exc:
            raise Unavailable(f"NATS at {settings.url}: {exc or type(exc).__name__}") from exc
        log = cls(client, settings)
        events.on_reconnect = log._forget_cursors
        log._events = events
        try:
            for name in StreamName:
                await log._ensure_stream(name)
        except BaseException:
            await client.close()
            raise
        return log

    @property
    def connected(self) -> bool:
        """Whether the NATS connection is up now (a readiness check that cannot hang)."""
        return bool(self._nc.is_connected)

    def stream_name(self, stream: StreamName) -> str:
        return f"{self._settings.prefix.upper()}_{StreamName(stream).value}"

    def subject(self, stream: StreamName, tenant: str) -> str:
        return f"{self._settings.prefix}.{StreamName(stream).value}.{subject_token(tenant)}"

    async def _ensure_stream(self, stream: StreamName) -> None:
        s = self._settings
        config = StreamConfig(
            name=self.stream_name(stream),
            subjects=[f"{s.prefix}.{stream.value}.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=s.max_age_s,
            max_bytes=s.max_bytes,
            max_msg_size=64 * 1024 + 1024,
            num_replicas=s.replicas,
            duplicate_window=s.dedupe_window_s,
        )
        try:
            try:
                await self._js.add_stream(config)
            except nats.js.errors.BadRequestError:
                # It exists with other limits (a changed setting): apply the new ones.
                await self._js.update_stream(config)
        except _NATS_ERRORS as exc:
            raise Unavailable(f"NATS: cannot create stream {config.name}: {exc}") from exc

    async def publish(
        self, stream: StreamName, tenant: TenantId, event_id: str, data: bytes
    ) -> Published:
        return (await self.publish_many(stream, [(tenant, event_id, data)]))[0]

    async def publish_many(
        self, stream: StreamName, records: Sequence[tuple[TenantId, str, bytes]]
    ) -> list[Published]:
        for tenant, event_id, data in records:
            check_record(tenant, event_id, data)
        name = self.stream_name(stream)
        futures: list[asyncio.Future[PubAck]] = []
        try:
            # Sent in order on one connection, so the stream numbers them in order; the
            # acknowledgements are awaited together (one round trip per batch, not per record).
            # One timeout for the whole: a per-record ``wait_stall`` makes the client wait in a
            # task of its own for each record, which yields to the loop, which then writes each
            # record to the socket alone (a system call per record, not per batch).
            async with asyncio.timeout(self._settings.request_timeout_s):
                for tenant, event_id, data in records:
                    futures.append(
                        await self._js.publish_async(
                            self.subject(stream, tenant),
                            data,
                            stream=name,
                            headers={"Nats-Msg-Id": _message_id(tenant, event_id)},
                        )
                    )
                acks = await asyncio.gather(*futures)
        except _NATS_ERRORS as exc:
            for future in futures:
                future.cancel()  # frees its place among the client's pending publishes
            raise Unavailable(f"NATS: publish to {stream} failed: {exc!r}") from exc
        return [Published(seq=ack.seq, duplicate=bool(ack.duplicate)) for ack in acks]

    async def read(
        self,
        stream: StreamName,
        *,
        after: int,
        tenants: Sequence[TenantId] | None = None,
        limit: int = 1000,
        wait_s: float = 0.0,
    ) -> list[LogRecord]:
        check_read(after, limit, wait_s)
        stream = StreamName(stream)
        key = (stream, None if tenants is None else frozenset(tenants))
        self._check_connected(f"read of {stream}")
        try:
            cursor = self._cursors.get(key)
            if cursor is None or cursor.position != after:
                if cursor is not None:
                    await self._drop(key)
                cursor = await self._open(stream, key[1], after)
                self._cursors[key] = cursor
            reopened = False
            while True:
                try:
                    msgs = await self._fetch(cursor, limit, wait_s)
                except _ConsumerGone:
                    if reopened:
                        raise
                    # Lost in a restart (before the reconnect was reported) or removed as idle:
                    # a new consumer at the same position, once.
                    reopened = True
                    await self._drop(key)
                    cursor = await self._open(stream, key[1], cursor.position)
                    self._cursors[key] = cursor
                    continue
                except (TimeoutError, nats.errors.TimeoutError):
                    # Nothing within the wait, unless the connection went meanwhile.
                    self._check_connected(f"read of {stream}")
                    return []
                except asyncio.CancelledError:
                    # A fetch cancelled midway may have taken messages it never returns: the
                    # next read must start a consumer at its own position, not go on with this.
                    self._cursors.pop(key, None)
                    asyncio.get_running_loop().create_task(_unsubscribe(cursor))
                    raise
                records = []
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    cursor.position = max(cursor.position, seq)
                    tenant = tenant_of_token(msg.subject.rsplit(".", 1)[1])
                    if cursor.client_filter is None or tenant in cursor.client_filter:
                        records.append(LogRecord(stream, seq, tenant, msg.data))
                # Filtered here, a batch may hold none of the reader's tenants: go on to the
                # next one rather than answer "nothing" while theirs may follow.
                if records or cursor.client_filter is None or not msgs:
                    return records
        except _NATS_ERRORS as exc:
            await self._drop(key)
            raise Unavailable(f"NATS: read of {stream} failed: {exc!r}") from exc

    async def _fetch(self, cursor: _Cursor, limit: int, wait_s: float) -> list[Msg]:
        """A batch from the consumer. An empty answer within a short wait is not taken for
        "nothing there": a consumer that was just created, or a busy server, may not have
        delivered yet, so while the consumer has records pending the fetch is repeated with
        the request timeout."""
        try:
            return await cursor.subscription.fetch(limit, timeout=max(wait_s, 0.05))
        except (TimeoutError, nats.errors.TimeoutError) as empty:
            try:
                info = await cursor.subscription.consumer_info()
            except nats.js.errors.NotFoundError as exc:
                raise _ConsumerGone(f"{exc!r}") from exc
            except _NATS_ERRORS as exc:
                # No answer about the consumer (NATS frozen or gone, or the consumer lost in a
                # restart): the empty fetch proves nothing, so this is no "nothing there".
                raise _ConsumerLost(f"{exc!r}") from exc
            if not info.num_pending:
                raise empty
        return await cursor.subscription.fetch(limit, timeout=self._settings.request_timeout_s)

    def _check_connected(self, what: str) -> None:
        """Unavailable at once while the client is reconnecting: a fetch would only time out."""
        if not self._nc.is_connected:
            raise Unavailable(f"NATS: {what} failed: not connected to {self._settings.url}")

    async def _open(
        self, stream: StreamName, tenants: frozenset[TenantId] | None, after: int
    ) -> _Cursor:
        info = await self._js.stream_info(self.stream_name(stream))
        first = info.state.first_seq
        if info.state.messages and after + 1 < first:
            raise ResumeGap(f"{stream}: records {after + 1}..{first - 1} were trimmed by retention")
        if info.state.messages == 0 and after + 1 < info.state.last_seq + 1:
            raise ResumeGap(f"{stream}: records {after + 1}..{info.state.last_seq} were trimmed")
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after + 1,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=300.0,
            mem_storage=True,
            num_replicas=1,
        )
        client_filter = None
        subject = f"{self._settings.prefix}.{stream.value}.*"
        if tenants is not None:
            subjects = sorted(self.subject(stream, t) for t in tenants)
            if len(subjects) == 1:
                subject = subjects[0]
            elif self._filter_subjects and subjects:
                config.filter_subjects = subjects
            else:
                client_filter = tenants
        subscription = await self._js.pull_subscribe(
            subject, stream=self.stream_name(stream), config=config
        )
        return _Cursor(subscription, after, client_filter)

    def _forget_cursors(self) -> None:
        """After a reconnect the server may have lost the readers' consumers (a restart loses
        ephemeral ones): each reader starts a new one at its position on its next read."""
        cursors, self._cursors = self._cursors, {}
        for cursor in cursors.values():
            task = asyncio.get_running_loop().create_task(_unsubscribe(cursor))
            self._unsubscribing.add(task)  # held until done: the loop keeps only weak ones
            task.add_done_callback(self._unsubscribing.discard)

    async def _drop(self, key: tuple[StreamName, frozenset[TenantId] | None]) -> None:
        cursor = self._cursors.pop(key, None)
        if cursor is not None:
            await _unsubscribe(cursor)

    async def _state(self, stream: StreamName) -> tuple[int, int]:
        try:
            info = await self._js.stream_info(self.stream_name(stream))
        except _NATS_ERRORS as exc:
            raise Unavailable(f"NATS: stream info of {stream} failed: {exc!r}") from exc
        last = int(info.state.last_seq)
        return (int(info.state.first_seq) if info.state.messages else last + 1), last

    async def last_seq(self, stream: StreamName) -> int:
        return (await self._state(stream))[1]

    async def first_seq(self, stream: StreamName) -> int:
        return (await self._state(stream))[0]

    async def delete_streams(self) -> None:
        """Remove this prefix's streams and everything in them (tests, teardown)."""
        for name in StreamName:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_stream(self.stream_name(name))

    async def close(self) -> None:
        if self._events is not None:
            self._events.closing = True
        for key in list(self._cursors):
            await self._drop(key)
        if not self._nc.is_closed:
            # Closing flushes what is buffered; with NATS away that fails, and nothing is left
            # to do about it.
            with contextlib.suppress(*_NATS_ERRORS):
                await self._nc.close()
