"""The fanout: one upstream wire connection per source, into the event log and out to clients.

A source (the simulator, an adapter) serves its events on the wire protocol. The fanout keeps
the one connection to it, writes every event to its stream of the event log, and serves the
same events again on a wire server of its own for consumers that speak the protocol directly
(subscription filters, resume, bounded per-client queues: :class:`~wallboard.wire.WireServer`).

No gap, no duplicate, across every restart:

- **Where to resume** upstream is read from the log at start: the newest record is an encoded
  event, whose ``seq`` is the upstream sequence number. The fanout resumes after it, so a
  restarted fanout neither skips nor republishes (and JetStream's de-duplication on the event id
  covers any overlap: a batch that half landed before a crash, a source that resends).
- **Order of effects.** An event reaches downstream clients only once the log holds it, so
  what a client saw is always in the log; on restart the fanout refills its resume buffer from
  the log's newest records, and clients resume across the restart too.
- **Upstream loss**: the wire client reconnects with a jittered backoff and resumes after the
  last event it handed over. Events handed over and not yet in the log stay in memory, at most
  ``pending_max``; beyond, reading pauses, TCP pushes back and the source eventually drops the
  fanout as slow, which then resumes from where it stopped.
- **Log loss** (NATS restarting): a batch that fails is retried, the same batch, with backoff,
  until the log takes it; de-duplication makes a retry of what half landed harmless.

Bad input never stops the stream: a line that does not decode, an event of another source, an
event the log refuses (an oversized one) is counted under its reason, logged once, and skipped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import random
import ssl
import time

from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.codec import decode_event, encode
from wallboard.core.errors import InvalidInput, MalformedMessage, ResumeGap, Unavailable
from wallboard.core.events import AnyEvent
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import (
    HEARTBEAT_TENANT,
    EventLog,
    LogRecord,
    Published,
    StreamName,
    check_record,
    heartbeat_record,
)
from wallboard.ops.metrics import counter, gauge, histogram
from wallboard.settings import Settings
from wallboard.wire.client import WireClient
from wallboard.wire.server import WireServer

logger = logging.getLogger(__name__)

READ_PAGE = 1000
"""Records read from the log at a time when refilling the resume buffer at start."""


@dataclasses.dataclass(frozen=True, slots=True)
class FanoutSettings:
    """What one fanout process does; each field is a ``WALLBOARD_FANOUT_*`` setting or option."""

    stream: StreamName
    upstream_host: str
    upstream_port: int
    source_id: str = ""
    """The upstream's source id (the ``source`` of its events); empty: the stream's name, as
    the simulator names its sources."""
    batch_max: int = 1000
    """Records sent to the log in one batch (one acknowledgement round trip) at most."""
    pending_max: int = 100_000
    """Events received and not yet in the log before reading the upstream pauses."""
    retry_initial_s: float = 0.1
    retry_max_s: float = 5.0
    heartbeat_s: float = 1.0
    """How often the fanout says in the log whether its upstream is connected."""

    @property
    def source(self) -> str:
        return self.source_id or StreamName(self.stream).value

    def check(self) -> None:
        if not 1 <= self.batch_max <= 100_000:
            raise InvalidInput(f"batch_max: {self.batch_max} is not within 1..100000")
        if self.pending_max < self.batch_max:
            raise InvalidInput(
                f"pending_max: {self.pending_max} is below batch_max {self.batch_max}"
            )
        if not 0 < self.retry_initial_s <= self.retry_max_s <= 3600:
            raise InvalidInput("retry: need 0 < retry_initial_s <= retry_max_s <= 3600")
        if not 0 < self.heartbeat_s <= 60:
            raise InvalidInput("heartbeat_s: must be within 0..60 s")
        if not 1 <= len(self.source) <= 256:
            raise InvalidInput("source_id: must be 1 to 256 characters")


class FanoutMetrics:
    """``wallboard_fanout_*``: what an operator watches on a fanout (no per-client labels)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.upstream_connected = gauge(
            "fanout",
            "upstream_connected",
            "1 while subscribed to the upstream source, else 0.",
            registry=registry,
        )
        self.clients = gauge(
            "fanout",
            "connected",
            "Downstream wire clients connected now.",
            unit="clients",
            registry=registry,
        )
        self.events_in = counter(
            "fanout", "events_in", "Events received from the upstream source.", registry=registry
        )
        self.events_logged = counter(
            "fanout",
            "events_logged",
            "Events written to the event log, by result (stored, duplicate: already held).",
            labels=("result",),
            registry=registry,
        )
        self.events_out = counter(
            "fanout",
            "events_out",
            "Event messages queued for downstream clients (one per event per client).",
            registry=registry,
        )
        self.clients_dropped = counter(
            "fanout",
            "clients_dropped",
            "Downstream clients disconnected, by reason (slow_consumer, dead_peer, write_timeout).",
            labels=("reason",),
            registry=registry,
        )
        self.bad_events = counter(
            "fanout",
            "bad_events",
            "Upstream lines or events skipped, by reason (bad_json, invalid_field, wrong_source, "
            "invalid_record…).",
            labels=("reason",),
            registry=registry,
        )
        self.log_lag = gauge(
            "fanout",
            "log_lag",
            "Events received from the upstream and not yet stored in the log.",
            unit="events",
            registry=registry,
        )
        self.log_retries = counter(
            "fanout",
            "log_retries",
            "Batches sent to the log again because it could not be reached.",
            registry=registry,
        )
        self.resume_gaps = counter(
            "fanout",
            "upstream_resume_gaps",
            "Resumes the upstream could not serve: the events in between are lost to the log.",
            registry=registry,
        )
        self.publish_seconds = histogram(
            "fanout",
            "log_publish",
            "Time to store one batch in the log, retries included.",
            registry=registry,
        )


class Fanout:
    """One source's fanout: upstream wire client → event log → downstream wire server.

    Call :meth:`prepare` (reads the log: where to resume, what to replay to clients), start
    the downstream :attr:`server` listening, then :meth:`run` until cancelled.
    """

    def __init__(
        self,
        log: EventLog,
        settings: FanoutSettings,
        *,
        wire: Settings | None = None,
        registry: CollectorRegistry = REGISTRY,
        clock: Clock | None = None,
        upstream_token: str | None = None,
        upstream_tls: ssl.SSLContext | None = None,
        rng: random.Random | None = None,
    ) -> None:
        settings.check()
        self.settings = settings
        self._log = log
        self._wire = wire or Settings()
        self._registry = registry
        self._clock: Clock = clock or SystemClock()
        self._token = upstream_token
        self._tls = upstream_tls
        self._rng = rng or random.Random()
        self.metrics = FanoutMetrics(registry)
        self.server = WireServer(
            source=settings.source,
            name=f"wallboard-fanout-{settings.stream}",
            settings=self._wire,
            clock=self._clock,
            registry=registry,
            on_drop=lambda reason: self.metrics.clients_dropped.labels(reason=reason).inc(),
        )
        self.metrics.clients.set_function(lambda: self.server.connected_clients)
        self.client: WireClient | None = None
        self.metrics.upstream_connected.set_function(
            lambda: 1 if self.client is not None and self.client.subscribed else 0
        )
        self._pending: collections.deque[tuple[AnyEvent, bytes]] = collections.deque()
        self._has_pending = asyncio.Event()
        self._has_room = asyncio.Event()
        self._has_room.set()
        self._sent_before = 0
        self.resume_from: int | None = None
        """The upstream sequence number the fanout resumes after (set by :meth:`prepare`)."""
        self.log_reachable = True
        """False while the log refuses batches (a readiness check)."""

    # --- start --------------------------------------------------------------------------------

    async def prepare(self) -> int:
        """Read the newest records of the log: the upstream position to resume after, and the
        events clients may resume from, replayed into the downstream server. Returns the
        position (0 for an empty log: everything the upstream still holds)."""
        stream = self.settings.stream
        last = await self._log.last_seq(stream)
        first = await self._log.first_seq(stream)
        after = max(first - 1, last - self._wire.resume_buffer)
        position = 0
        while after < last:
            try:
                records = await self._log.read(stream, after=after, limit=READ_PAGE)
            except ResumeGap:
                # Trimmed while we read: start again from what is kept.
                after = await self._log.first_seq(stream) - 1
                continue
            if not records:
                break
            for record in records:
                position = max(position, self._replay(record))
            after = records[-1].seq
        self.resume_from = position
        logger.info(
            "fanout %s: the log holds %d records; resuming %s:%d after seq %d",
            stream,
            last,
            self.settings.upstream_host,
            self.settings.upstream_port,
            position,
        )
        return position

    def _replay(self, record: LogRecord) -> int:
        """Put one logged event in the downstream resume buffer; its upstream seq (0: none)."""
        if record.tenant == HEARTBEAT_TENANT:
            return 0
        try:
            event = decode_event(record.data)
        except MalformedMessage as error:
            logger.warning("log record %s#%d is not an event: %s", record.stream, record.seq, error)
            return 0
        if event.source != self.settings.source:
            return 0
        if event.seq > self.server.seq:
            self.server.publish(event)
        return event.seq

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read the upstream and store into the log until cancelled."""
        if self.resume_from is None:
            await self.prepare()
        self.client = WireClient(
            self.settings.upstream_host,
            self.settings.upstream_port,
            client=f"wallboard-fanout-{self.settings.stream}",
            resume_from=self.resume_from,
            settings=self._wire,
            clock=self._clock,
            registry=self._registry,
            token=self._token,
            tls=self._tls,
            rng=self._rng,
            backoff_max=self.settings.retry_max_s,
            on_malformed=self._malformed,
        )
        async with self.client, asyncio.TaskGroup() as tasks:
            # Either failing (a bug) ends both: a writer that died must not leave a reader
            # filling memory, nor the reverse.
            writer = tasks.create_task(self._write_loop(), name="fanout-log-writer")
            beat = tasks.create_task(self._heartbeat_loop(), name="fanout-heartbeat")
            await self._read_loop(self.client)
            writer.cancel()
            beat.cancel()

    async def _read_loop(self, client: WireClient) -> None:
        while True:
            try:
                async for event in client:
                    self._accept(event)
                    if not self._has_room.is_set():
                        await self._has_room.wait()
                return
            except ResumeGap as gap:
                client.reset(self._after_gap(gap))

    def _after_gap(self, gap: ResumeGap) -> int | None:
        """Where to go on when the upstream no longer holds what follows our position: from the
        oldest event it holds (the events in between are lost to the log; counted, logged)."""
        self.metrics.resume_gaps.inc()
        oldest = gap.detail.get("oldest")
        logger.error(
            "fanout %s: the upstream cannot resume: %s; going on from its oldest event, the "
            "events in between are missing from the log",
            self.settings.stream,
            gap.message,
        )
        return int(oldest) - 1 if isinstance(oldest, int) and oldest > 0 else None

    def _accept(self, event: AnyEvent) -> None:
        """Check one upstream event and queue it for the log; a bad one is counted and skipped."""
        self.metrics.events_in.inc()
        if event.source != self.settings.source:
            self._bad(
                "wrong_source",
                f"event {event.id!r} (seq {event.seq}) is of source {event.source!r}, "
                f"not {self.settings.source!r}",
            )
            return
        data = encode(event)[:-1]
        try:
            check_record(event.tenant, event.id, data)
        except InvalidInput as error:
            self._bad("invalid_record", f"event {event.id!r} (seq {event.seq}): {error.message}")
            return
        self._pending.append((event, data))
        self._has_pending.set()
        self.metrics.log_lag.set(len(self._pending))
        if len(self._pending) >= self.settings.pending_max:
            self._has_room.clear()

    def _malformed(self, error: MalformedMessage) -> None:
        reason = str(error.detail.get("reason", "malformed"))
        self._bad(reason, error.message, logged=True)

    def _bad(self, reason: str, what: str, *, logged: bool = False) -> None:
        """Count a skipped line or event; log it (the wire client already logs its lines)."""
        self.metrics.bad_events.labels(reason=reason).inc()
        if not logged:
            logger.warning("fanout %s: skipped a bad event: %s", self.settings.stream, what)

    async def _heartbeat_loop(self) -> None:
        """Say in the log, every ``heartbeat_s``, whether the upstream is connected: collectors
        mark the stream's values stale while it is not, or when the heartbeats stop."""
        publisher = f"fanout {self.settings.stream} ({self.settings.upstream_host}:"
        publisher += f"{self.settings.upstream_port})"
        while True:
            connected = self.client is not None and self.client.subscribed
            record = heartbeat_record(publisher, connected, self._clock.now_ms())
            with contextlib.suppress(Unavailable):  # the writer reports an unreachable log
                await self._log.publish_many(self.settings.stream, [record])
            await self._clock.sleep(self.settings.heartbeat_s)

    async def _write_loop(self) -> None:
        """Store pending events in the log, a batch at a time, then serve them downstream."""
        while True:
            await self._has_pending.wait()
            batch = [
                self._pending[i] for i in range(min(len(self._pending), self.settings.batch_max))
            ]
            await self._store(batch)
            for _ in batch:
                self._pending.popleft()
            if not self._pending:
                self._has_pending.clear()
            if len(self._pending) < self.settings.pending_max:
                self._has_room.set()
            self.metrics.log_lag.set(len(self._pending))
            for event, _ in batch:
                self.server.publish(event)
            sent = self.server.events_sent
            self.metrics.events_out.inc(sent - self._sent_before)
            self._sent_before = sent

    async def _store(self, batch: list[tuple[AnyEvent, bytes]]) -> None:
        """Publish ``batch`` until the log takes it: waits out an unreachable log."""
        records = [(TenantId(event.tenant), str(event.id), data) for event, data in batch]
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                results = await self._publish(records)
                break
            except Unavailable as error:
                attempt += 1
                self.metrics.log_retries.inc()
                if self.log_reachable:
                    logger.warning(
                        "fanout %s: the event log is unreachable (%s); holding %d events and "
                        "retrying",
                        self.settings.stream,
                        error.message,
                        len(self._pending),
                    )
                self.log_reachable = False
                await self._clock.sleep(self._retry_delay(attempt))
        if not self.log_reachable:
            logger.info("fanout %s: the event log is back", self.settings.stream)
        self.log_reachable = True
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        duplicates = sum(1 for result in results if result.duplicate)
        if duplicates:
            self.metrics.events_logged.labels(result="duplicate").inc(duplicates)
        self.metrics.events_logged.labels(result="stored").inc(len(results) - duplicates)

    async def _publish(self, records: list[tuple[TenantId, str, bytes]]) -> list[Published]:
        try:
            return await self._log.publish_many(self.settings.stream, records)
        except InvalidInput:
            pass
        # The log refused a record the checks let through: store the others one by one, so
        # that one bad record cannot hold up the stream.
        results = []
        for tenant, event_id, data in records:
            try:
                results.append(
                    await self._log.publish(self.settings.stream, tenant, event_id, data)
                )
            except InvalidInput as error:
                self._bad("invalid_record", f"event {event_id!r}: {error.message}")
        return results

    def _retry_delay(self, attempt: int) -> float:
        s = self.settings
        return min(s.retry_max_s, s.retry_initial_s * 2.0 ** min(attempt - 1, 30)) * (
            self._rng.uniform(0.5, 1.0)
        )
