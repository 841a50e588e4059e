"""The collector: event log in, statistic values and checkpoints out, exactly once across crashes.

One reader per log stream takes records in order; each record goes to its tenant's
:class:`~wallboard.collector.tenant.TenantWork`, which skips what its checkpoint already holds.
Every ``flush_s`` the values that changed are written to the value store, one batch per
tenant; every ``checkpoint_events`` events or ``checkpoint_s`` seconds the batch carries the
tenant's checkpoint, in the same atomic step. Values written between checkpoints are written
again, identically, by a collector that restarts from the checkpoint: a change sets a value
outright, so the store converges to exactly what an uninterrupted run writes.

Where to start reading after a restart: the collector keeps its own record (the tenants it has
met and, per stream, the lowest position any of them is checkpointed at) under the reserved
tenant ``~collector-<name>``. Reading starts there; a tenant met for the first time after it
starts from its first record.

Time: with ``clock="events"`` values are read at the newest event time of each tenant
(replays of a backlog, simulated time, tests); with ``"wall"`` at the wall clock, and the
engine's reorder buffer is advanced by it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import time
import zlib
from collections.abc import Callable, Mapping, Sequence

import msgspec
from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.collector.inuse import InUse, everything
from wallboard.collector.status import (
    STATUS_S,
    CollectorStatus,
    StreamStatus,
    Why,
    publish_status,
    withdraw_status,
)
from wallboard.collector.tenant import CHECKPOINT_NAME, TenantWork
from wallboard.core.clock import Clock, SystemClock
from wallboard.core.codec import decode_event
from wallboard.core.errors import InvalidInput, MalformedMessage, ResumeGap, Unavailable
from wallboard.core.events import Event, UnknownEvent
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import (
    HEARTBEAT_TENANT,
    EventLog,
    Heartbeat,
    LogRecord,
    StreamName,
    decode_heartbeat,
)
from wallboard.ops.metrics import counter, gauge, histogram
from wallboard.stats import DefinitionSet
from wallboard.stats.state import ObjectConfig
from wallboard.store.interface import ValueStore
from wallboard.store.values import Checkpoint, Value, check_tenant_id

log = logging.getLogger(__name__)

RESERVED_PREFIX = "~collector-"

RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
"""Waiting for an unreachable log or store: the first retry, doubling up to this."""

BACKLOG_FLUSH_S = 1.0
"""How often values are written while the collector reads a backlog (it has not caught up)."""

FLUSH_COST_FACTOR = 3.0
"""A flush that took t seconds is followed by the next no sooner than this many t later."""

CHECKPOINT_COST_FACTOR = 10.0
"""A tenant whose checkpoint took t seconds is checkpointed by time no more often than every
this many t (an engine with a million statistics open takes a while to snapshot)."""


@dataclasses.dataclass(frozen=True)
class CollectorSettings:
    """How one collector runs; each field is a ``WALLBOARD_COLLECTOR_*`` setting."""

    name: str = "0"
    streams: tuple[StreamName, ...] = tuple(StreamName)
    replicas: int = 1
    """Collectors splitting the tenants; this one takes those with ``shard(tenant) == ordinal``."""
    ordinal: int = 0
    flush_s: float = 0.1
    checkpoint_events: int = 50_000
    checkpoint_s: float = 5.0
    refresh_s: float = 1.0
    """How often values that move with the clock alone are read again."""
    read_batch: int = 2000
    apply_slice: int = 256
    """Records applied between two chances for the writer (freshness while a backlog is read)."""
    clock: str = "wall"
    lateness_ms: int = 0
    time_zone: str = "UTC"
    history_s: float = 900.0
    """Length of the interval-history buckets (values sampled at each end); 0 keeps none."""
    stale_after_s: float = 3.0
    """A stream whose publisher sent heartbeats is stale after this long without one."""

    def check(self) -> None:
        if not 1 <= self.replicas <= 10_000 or not 0 <= self.ordinal < self.replicas:
            raise InvalidInput(
                f"ordinal {self.ordinal} of {self.replicas} replicas: need 0 <= ordinal < replicas"
            )
        if self.clock not in ("wall", "events"):
            raise InvalidInput(f"clock: {self.clock!r} is not 'wall' or 'events'")
        for field in ("flush_s", "checkpoint_s", "refresh_s"):
            if not 0 < getattr(self, field) <= 3600:
                raise InvalidInput(f"{field}: must be within 0..3600 s")
        if self.checkpoint_events < 1 or not 1 <= self.read_batch <= 100_000:
            raise InvalidInput("checkpoint_events and read_batch must be positive")
        if not 1 <= self.apply_slice <= 100_000:
            raise InvalidInput("apply_slice must be within 1..100000")
        if self.history_s and not (60 <= self.history_s <= 86_400 and self.history_s % 60 == 0):
            raise InvalidInput("history_s: must be whole minutes within 1 minute..1 day, or 0")


def shard(tenant: str, replicas: int) -> int:
    """The collector ordinal a tenant belongs to: stable across processes and versions."""
    return zlib.crc32(tenant.encode()) % replicas


class CollectorMetrics:
    """The collector's Prometheus metrics (``wallboard_collector_*``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = counter(
            "collector", "events", "Records applied to the engine.", registry=registry
        )
        self.bad_records = counter(
            "collector",
            "bad_records",
            "Records skipped as malformed or invalid.",
            registry=registry,
        )
        self.log_lag = gauge(
            "collector",
            "log_lag",
            "Records in the log not yet taken, per stream.",
            "events",
            labels=("stream",),
            registry=registry,
        )
        self.checkpoint_age = gauge(
            "collector",
            "checkpoint_age",
            "Time since the oldest tenant's last checkpoint.",
            "seconds",
            registry=registry,
        )
        self.value_delay = histogram(
            "collector",
            "value_delay",
            "From a tenant's newest event to its values being in the store (event time to "
            "write time).",
            registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
        )
        self.tenants = gauge(
            "collector", "tenants", "Tenants this collector computes.", registry=registry
        )
        self.unreachable = gauge(
            "collector",
            "unreachable",
            "1 while a dependency (event_log, value_store) cannot be reached.",
            labels=("dependency",),
            registry=registry,
        )
        self.stale = gauge(
            "collector",
            "stale",
            "1 while a stream's values are stale (source lost or silent, log unreachable).",
            labels=("stream",),
            registry=registry,
        )
        self.anomalies = gauge(
            "collector",
            "anomalies",
            "Events the engine counted as anomalies, by kind (too_late, duplicate, …), since "
            "the tenants' checkpoints began.",
            labels=("kind",),
            registry=registry,
        )
        self.statistics_failed = gauge(
            "collector",
            "statistics_failed",
            "Statistics in use that could not be opened on an object (see the log).",
            registry=registry,
        )
        self.statistics_open = gauge(
            "collector",
            "statistics_open",
            "Statistics open on objects (those in use), formula inputs not counted.",
            registry=registry,
        )


class CollectorState(msgspec.Struct, frozen=True):
    """The collector's own record: where to start reading each stream after a restart."""

    version: int
    tenants: list[str]
    start: dict[str, int]


class Collector:
    """Runs until stopped; call :meth:`run` in a task and :meth:`stop` to end it cleanly."""

    def __init__(
        self,
        log_: EventLog,
        store: ValueStore,
        definitions: DefinitionSet,
        settings: CollectorSettings | None = None,
        *,
        objects: Mapping[str, ObjectConfig] | None = None,
        in_use: InUse | None = None,
        clock: Clock | None = None,
        wall: Clock | None = None,
        on_bad_record: Callable[[str, int, str], None] | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.settings = settings or CollectorSettings()
        self.settings.check()
        self._log = log_
        self._store = store
        self._definitions = definitions
        self._objects = dict(objects or {})
        self._followed: set[str] = set()
        """Tenants whose objects :meth:`set_objects` gave: a tenant restored from its checkpoint
        takes them (its checkpoint may predate a change)."""
        self.in_use = in_use or everything(definitions)
        self._clock = clock or SystemClock()
        self._wall = wall or self._clock
        """What status records are stamped with: the reading clock may be held at a simulated
        time (the demo), the age of a record is measured on the wall clock."""
        self._on_bad_record = on_bad_record
        self.tenants: dict[str, TenantWork] = {}
        self._first_seen: dict[str, dict[str, int]] = {}
        self._durable: dict[str, dict[str, int]] = {}
        self._start: dict[str, int] = {}
        self._position_read: dict[str, int] = {}
        self._state_dirty = False
        self._stopping = asyncio.Event()
        self._aborted = False
        self.started = asyncio.Event()
        """Set once the checkpoints are loaded and reading begins."""
        self._last_checkpoint: dict[str, float] = {}
        self.bad_records = 0
        self.records_read = 0
        self.caught_up: dict[str, bool] = {s.value: False for s in self.settings.streams}
        """Per stream: whether its last read found nothing more in the log."""
        self.buffered = 0
        """Records fetched and not yet applied."""
        self._lock = asyncio.Lock()
        self.metrics = CollectorMetrics(registry)
        self.down: dict[str, tuple[int, str]] = {}
        """What is unreachable now ("event_log", "value_store") → (since ms, why)."""
        self._heartbeats: dict[str, tuple[float, Heartbeat]] = {}
        self._stale_since: dict[str, int] = {}
        self.newest_event_ms: dict[str, int] = {}
        """Per stream, the newest event time applied since this collector started."""
        self.events_applied = 0

    @property
    def state_tenant(self) -> TenantId:
        return TenantId(RESERVED_PREFIX + self.settings.name)

    def owns(self, tenant: str) -> bool:
        return (
            not tenant.startswith("~")
            and shard(tenant, self.settings.replicas) == self.settings.ordinal
        )

    async def _load_state(self) -> None:
        stored = await self._store.get_checkpoint(self.state_tenant, CHECKPOINT_NAME)
        if stored is None:
            return
        try:
            state = msgspec.msgpack.decode(stored.blob, type=CollectorState)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(f"collector {self.settings.name}: bad state record: {exc}") from None
        self._start = dict(state.start)
        for tenant in state.tenants:
            if self.owns(tenant):
                await self._tenant(tenant)  # its clock-driven values refresh without events

    async def _save_state(self) -> None:
        """Record where a restart must start reading: per stream, the lowest position below
        which every owned tenant's records are applied and checkpointed."""
        start: dict[str, int] = {}
        for stream in self.settings.streams:
            s = stream.value
            before = self._start.get(s, 0)
            low = self._position_read.get(s, before)
            for tenant, work in self.tenants.items():
                if work.events == work.events_at_checkpoint:
                    continue  # nothing applied since its checkpoint: all it read is durable
                durable = self._durable.get(tenant, {}).get(s)
                if durable is None:
                    durable = self._first_seen.get(tenant, {}).get(s, low + 1) - 1
                # Below the previous start everything was durable already, whatever position
                # the tenant's own last checkpointed record had: the start never moves back.
                low = min(low, max(durable, before))
            start[s] = low
        state = CollectorState(version=1, tenants=sorted(self.tenants), start=start)
        await self._store.put_checkpoint(
            self.state_tenant, Checkpoint(CHECKPOINT_NAME, msgspec.msgpack.encode(state))
        )
        self._start = start

    async def _tenant(self, tenant: str) -> TenantWork:
        work = self.tenants.get(tenant)
        if work is not None:
            return work
        check_tenant_id(tenant)
        s = self.settings
        stored = await self._store.get_checkpoint(TenantId(tenant), CHECKPOINT_NAME)
        if stored is not None:
            work = TenantWork.restore(
                tenant,
                stored.blob,
                self._definitions,
                in_use=self.in_use,
                history_ms=int(s.history_s * 1000),
                lateness_ms=s.lateness_ms,
                time_zone=s.time_zone,
            )
            snapshot = await self._store.snapshot(TenantId(tenant))
            for object_type, by_id in snapshot.values.items():
                for object_id, values in by_id.items():
                    for stat_id, value in values.items():
                        work.written[(object_type, object_id, stat_id)] = value
            if tenant in self._followed:
                work.set_objects(self._objects[tenant], work.newest_ts)
            work.set_in_use(self.in_use)
            self._durable[tenant] = dict(work.positions)
        else:
            work = TenantWork(
                tenant,
                self._definitions,
                objects=self._objects.get(tenant),
                in_use=self.in_use,
                history_ms=int(s.history_s * 1000),
                lateness_ms=s.lateness_ms,
                time_zone=s.time_zone,
            )
        self.tenants[tenant] = work
        self._last_checkpoint[tenant] = self._clock.monotonic()
        return work

    async def run(self) -> None:
        """Read, apply and write until :meth:`stop`."""
        await self._load_state()
        self.started.set()
        reader = asyncio.create_task(self._read_loop(), name="collector-read")
        writer = asyncio.create_task(self._write_loop(), name="collector-write")
        reporter = asyncio.create_task(self._status_loop(), name="collector-status")
        tasks = [reader, writer, reporter]
        try:
            stop = asyncio.create_task(self._stopping.wait())
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop:
                    task.result()  # a reader or writer that failed ends the collector with it
        finally:
            stop.cancel()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if not self._aborted:
                with contextlib.suppress(Exception):
                    await self.flush(everything=True, checkpoint=True)
                with contextlib.suppress(Exception):
                    await withdraw_status(self._store, self.settings.name)

    async def set_in_use(self, in_use: InUse) -> None:
        """Open and close statistics to match ``in_use`` on every tenant; the values of what
        closes leave the store with the next write."""
        async with self._lock:
            self.in_use = in_use
            for work in self.tenants.values():
                work.set_in_use(in_use)
        self.metrics.statistics_open.set(self.statistics_open)

    async def set_objects(self, tenant: str, objects: ObjectConfig) -> None:
        """Change a tenant's configured objects (group members, queues) while running: what
        the configuration service's follower calls. Group values move with their members from
        the newest event time seen; a tenant not yet open starts with it."""
        async with self._lock:
            self._objects[tenant] = objects
            self._followed.add(tenant)
            work = self.tenants.get(tenant)
            if work is not None:
                work.set_objects(objects, work.newest_ts)
        self.metrics.statistics_open.set(self.statistics_open)

    @property
    def statistics_open(self) -> int:
        return sum(work.statistics_open for work in self.tenants.values())

    def stop(self) -> None:
        """End :meth:`run` after writing every value and checkpoint."""
        self._stopping.set()

    def abort(self) -> None:
        """End :meth:`run` writing nothing more: what a crash leaves behind."""
        self._aborted = True
        self._stopping.set()

    def read_position(self, stream: StreamName) -> int:
        """The sequence of the last record of ``stream`` taken (applied, skipped or refused)."""
        name = StreamName(stream).value
        return self._position_read.get(name, self._start.get(name, 0))

    async def _read_loop(self) -> None:
        """Merge the streams by event time and apply each record to its tenant.

        The sources are independent, so their streams interleave only by time: records are
        applied in (timestamp, stream, sequence) order among those fetched. A stream with
        records still to fetch holds the others back until it is fetched again; a stream that
        had nothing (idle) does not, and is asked again every ``idle_poll_s``. What an idle
        stream later brings with older timestamps is ordered by the engine's lateness buffer.
        """
        streams = [st.value for st in self.settings.streams]
        rank = {st: i for i, st in enumerate(streams)}
        buffers: dict[str, collections.deque[tuple[int, int, LogRecord, object]]] = {
            st: collections.deque() for st in streams
        }
        fetched = {st: self._start.get(st, 0) for st in streams}
        for st in streams:
            self._position_read[st] = fetched[st]
        idle_since: dict[str, float] = {}
        # At most one read outstanding per stream: a read is never cancelled while it runs
        # (one that waits for an idle stream simply stays pending until it has an answer).
        reads: dict[str, asyncio.Task[list[LogRecord]]] = {}
        loop = asyncio.get_running_loop()

        def read(st: str, wait_s: float) -> None:
            if st not in reads:
                reads[st] = asyncio.create_task(self._fetch(st, fetched[st], wait_s))

        def take_answers() -> None:
            for st, task in list(reads.items()):
                if task.done():
                    del reads[st]
                    self._buffer(st, task.result(), buffers, fetched, idle_since, loop.time())

        try:
            while True:
                now = loop.time()
                for st in streams:
                    if not buffers[st] and now - idle_since.get(st, -1e9) >= self.IDLE_POLL_S:
                        read(st, 0.0)
                # Streams with more to fetch must answer before anything is merged past them.
                needed = [
                    reads[st]
                    for st in streams
                    if not buffers[st] and st not in idle_since and st in reads
                ]
                if needed:
                    await asyncio.wait(needed)
                take_answers()
                if not any(buffers.values()):
                    for st in streams:
                        read(st, 1.0)
                    await asyncio.wait(reads.values(), return_when=asyncio.FIRST_COMPLETED)
                    take_answers()
                    continue
                try:
                    async with self._lock:
                        # A bounded slice at a time, so that values are written while a
                        # backlog is read.
                        for _ in range(self.settings.apply_slice):
                            heads = [
                                (b[0][0], rank[st], b[0][1], st) for st, b in buffers.items() if b
                            ]
                            if not heads:
                                break
                            if any(not buffers[st] and st not in idle_since for st in streams):
                                break  # a stream with more to fetch may hold an earlier record
                            _, _, seq, st = min(heads)
                            _, _, record, event = buffers[st][0]
                            # Taken off the buffer once applied: a store that cannot give a new
                            # tenant's checkpoint leaves the record to be taken again.
                            await self._take(st, record, event)
                            buffers[st].popleft()
                            self._position_read[st] = seq
                except Unavailable as exc:
                    self._down("value_store", exc.message)
                    await asyncio.sleep(RETRY_FIRST_S)
                    continue
                self.buffered = sum(len(b) for b in buffers.values())
                await asyncio.sleep(0)
        finally:
            for task in reads.values():
                task.cancel()

    IDLE_POLL_S = 0.1

    async def _fetch(self, stream: str, after: int, wait_s: float) -> list[LogRecord]:
        """The next records of a stream, waiting for the log while it is unreachable."""
        backoff = RETRY_FIRST_S
        while True:
            try:
                records = await self._fetch_once(stream, after, wait_s)
            except Unavailable as exc:
                self._down("event_log", exc.message)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX_S)
                continue
            self._up("event_log")
            return records

    async def _fetch_once(self, stream: str, after: int, wait_s: float) -> list[LogRecord]:
        """The next records of a stream. An empty answer is final only when the stream holds
        nothing after ``after``: a read may come back empty while records exist (a consumer
        still being created, a slow server), and a stream taken for idle must really be."""
        try:
            while True:
                records = await self._log.read(
                    StreamName(stream), after=after, limit=self.settings.read_batch, wait_s=wait_s
                )
                if records or await self._log.last_seq(StreamName(stream)) <= after:
                    return records
        except ResumeGap as exc:
            # Retention trimmed records no checkpoint covers: say so loudly and go on from
            # what is kept (the values of the affected tenants miss those events).
            first = await self._log.first_seq(StreamName(stream))
            log.error("collector: %s; continuing from record %d", exc, first)
            return await self._log.read(
                StreamName(stream), after=first - 1, limit=self.settings.read_batch
            )

    def _buffer(
        self,
        stream: str,
        records: list[LogRecord],
        buffers: dict[str, collections.deque[tuple[int, int, LogRecord, object]]],
        fetched: dict[str, int],
        idle_since: dict[str, float],
        now: float,
    ) -> None:
        if not records:
            idle_since[stream] = now
            self.caught_up[stream] = True
            return
        idle_since.pop(stream, None)
        self.caught_up[stream] = False
        fetched[stream] = records[-1].seq
        for record in records:
            self.records_read += 1
            event: object
            if record.tenant == HEARTBEAT_TENANT:
                self._heard(stream, record)
                event = None
            else:
                try:
                    event = decode_event(record.data) if self.owns(record.tenant) else None
                except MalformedMessage as exc:
                    event = exc
            ts = event.ts if isinstance(event, Event) else 0
            buffers[stream].append((ts, record.seq, record, event))

    async def _take(self, stream: str, record: LogRecord, event: object) -> None:
        if event is None:
            return  # another collector's tenant
        if isinstance(event, MalformedMessage):
            self._bad(stream, record.seq, str(event))
            return
        try:
            work = await self._tenant(record.tenant)
        except InvalidInput as exc:
            self._bad(stream, record.seq, str(exc))
            return
        self._first_seen.setdefault(record.tenant, {}).setdefault(stream, record.seq)
        assert isinstance(event, Event | UnknownEvent)
        if work.apply(stream, record.seq, event):
            self.metrics.events.inc()
            self.events_applied += 1
            if isinstance(event, Event) and event.ts > self.newest_event_ms.get(stream, 0):
                self.newest_event_ms[stream] = event.ts

    def _bad(self, stream: str, seq: int, why: str) -> None:
        self.bad_records += 1
        self.metrics.bad_records.inc()
        log.warning("collector: skipped record %s/%d: %s", stream, seq, why)
        if self._on_bad_record is not None:
            self._on_bad_record(stream, seq, why)

    async def _write_loop(self) -> None:
        refresh_due = self._clock.monotonic() + self.settings.refresh_s
        backoff = RETRY_FIRST_S
        rewrite = False
        last_flush, took = self._clock.monotonic(), 0.0
        while True:
            await self._clock.sleep(self.settings.flush_s)
            # Writing reads every statistic of each object that changed: at most a quarter of
            # the time goes to it (the events get the rest), so a flush that took long waits
            # longer. While a backlog is read, most objects change between two flushes, and
            # values are written every BACKLOG_FLUSH_S; re-reading every value for the clock
            # alone waits until the collector has caught up.
            backlog = self.buffered > self.settings.apply_slice or not all(self.caught_up.values())
            gap = max(FLUSH_COST_FACTOR * took, BACKLOG_FLUSH_S if backlog else 0.0)
            if self._clock.monotonic() - last_flush < gap:
                continue
            last_flush = self._clock.monotonic()
            everything = rewrite or (not backlog and self._clock.monotonic() >= refresh_due)
            if everything:
                refresh_due = self._clock.monotonic() + self.settings.refresh_s
            began = time.perf_counter()
            try:
                await self.flush(everything=everything)
                took = time.perf_counter() - began
            except Unavailable as exc:
                # What was not written is written again once the store is back (see
                # TenantWork.retry), with every value rechecked.
                self._down("value_store", exc.message)
                rewrite = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX_S)
                continue
            self._up("value_store")
            rewrite, backoff = False, RETRY_FIRST_S

    def _now(self, work: TenantWork) -> int:
        if self.settings.clock == "events":
            return work.newest_ts
        now = self._clock.now_ms()
        if self.settings.lateness_ms:
            # Events may come up to the lateness after their time; time passing releases
            # those held that long. Without lateness nothing is held, and moving the engine's
            # horizon to the wall clock would refuse every event that took any time to come.
            work.engine.advance(now)
        return now

    async def flush(self, *, everything: bool = False, checkpoint: bool = False) -> None:
        """Write every tenant's changed values; with its checkpoint when one is due."""
        async with self._lock:
            s = self.settings
            stale = self.stale()
            for tenant, work in list(self.tenants.items()):
                now = self._now(work)
                work.sample_history(now)
                history = work.take_history()
                if history:
                    # Before the checkpoint that has these buckets behind it: a crash between
                    # the two writes them again, identically.
                    try:
                        await self._store.write_intervals(TenantId(tenant), history)
                    except Unavailable:
                        work.history[:0] = history
                        raise
                changes = work.changes(now, everything=everything)
                changes += work.source_changes(stale)
                due = checkpoint or (
                    work.events != work.events_at_checkpoint
                    and (
                        work.events - work.events_at_checkpoint >= s.checkpoint_events
                        or self._clock.monotonic() - self._last_checkpoint[tenant]
                        >= max(s.checkpoint_s, CHECKPOINT_COST_FACTOR * work.checkpoint_took)
                    )
                )
                if not changes and not due:
                    continue
                saved = work.checkpoint() if due else None
                try:
                    await self._store.apply(TenantId(tenant), changes, checkpoint=saved)
                except Unavailable:
                    work.retry(changes)
                    raise
                if changes and work.newest_ts:
                    delay = (self._clock.now_ms() - work.newest_ts) / 1000
                    if 0 <= delay < 3600:  # replays of old events measure nothing useful
                        self.metrics.value_delay.observe(delay)
                if saved is not None:
                    self._durable[tenant] = dict(work.positions)
                    work.events_at_checkpoint = work.events
                    self._last_checkpoint[tenant] = self._clock.monotonic()
                    self._state_dirty = True
            if self._state_dirty or checkpoint:
                await self._save_state()
                self._state_dirty = False
            self.metrics.tenants.set(len(self.tenants))
            self.metrics.statistics_open.set(self.statistics_open)
            anomalies: collections.Counter[str] = collections.Counter()
            for work in self.tenants.values():
                anomalies.update(work.engine.anomalies)
            for kind, count in anomalies.items():
                self.metrics.anomalies.labels(kind).set(count)
            self.metrics.statistics_failed.set(sum(len(w.failed) for w in self.tenants.values()))
            if self._last_checkpoint:
                oldest = min(self._last_checkpoint.values())
                self.metrics.checkpoint_age.set(self._clock.monotonic() - oldest)

    # --- health --------------------------------------------------------------------------------

    def _down(self, what: str, why: str) -> None:
        if what not in self.down:
            log.error("collector: %s unreachable, waiting for it: %s", what, why)
            self.down[what] = (self._clock.now_ms(), why)
            self.metrics.unreachable.labels(what).set(1)
            if what == "value_store":
                # It may come back without what it had (a Redis restarted without
                # persistence): every value is written again once it is back.
                for work in self.tenants.values():
                    work.unsure.update(work.written)

    def _up(self, what: str) -> None:
        if self.down.pop(what, None) is not None:
            log.info("collector: %s reachable again, resuming", what)
            self.metrics.unreachable.labels(what).set(0)

    def _heard(self, stream: str, record: LogRecord) -> None:
        heartbeat = decode_heartbeat(record.data)
        if heartbeat is None:
            self._bad(stream, record.seq, "not a heartbeat record")
            return
        self._heartbeats[stream] = (self._clock.monotonic(), heartbeat)

    def stale(self) -> dict[str, Value]:
        """Stream → why its values are stale, for the streams whose values are not current:
        the log is unreachable, or the stream's publisher said its source is disconnected or
        fell silent. Each reason is ``{"since": ms, "reason": text}``; it keeps its ``since``
        while it lasts."""
        now_mono, now_ms = self._clock.monotonic(), self._clock.now_ms()
        out: dict[str, Value] = {}
        for stream in self.settings.streams:
            st = stream.value
            reason = None
            if "event_log" in self.down:
                reason = f"the event log is unreachable: {self.down['event_log'][1]}"
            elif st in self._heartbeats:
                heard, heartbeat = self._heartbeats[st]
                if now_mono - heard > self.settings.stale_after_s:
                    reason = f"no heartbeat from {heartbeat.publisher} for {now_mono - heard:.0f} s"
                elif not heartbeat.connected:
                    reason = f"{heartbeat.publisher} has lost its source"
            if reason is None:
                self._stale_since.pop(st, None)
                continue
            since = self._stale_since.setdefault(st, now_ms)
            out[st] = {"since": since, "reason": reason}
        for st in self._heartbeats:
            self.metrics.stale.labels(st).set(1 if st in out else 0)
        return out

    async def status(self) -> dict[str, object]:
        """What ``/status`` shows: per stream position, lag and staleness; reachability;
        tenants, statistics open, checkpoint age, the statistics in use."""
        try:
            lag: dict[str, int] | None = await self.measure_lag()
        except Unavailable:
            lag = None
        stale = self.stale()
        streams = {
            stream.value: {
                "read_position": self.read_position(stream),
                "lag": None if lag is None else lag[stream.value],
                "caught_up": self.caught_up.get(stream.value, False),
                "stale": stale.get(stream.value),
            }
            for stream in self.settings.streams
        }
        age = None
        if self._last_checkpoint:
            age = round(self._clock.monotonic() - min(self._last_checkpoint.values()), 3)
        return {
            "collector": self.settings.name,
            "ordinal": self.settings.ordinal,
            "replicas": self.settings.replicas,
            "unreachable": {k: {"since": v[0], "reason": v[1]} for k, v in self.down.items()},
            "streams": streams,
            "tenants": len(self.tenants),
            "statistics_open": self.statistics_open,
            "in_use": self.in_use.describe(),
            "checkpoint_age_s": age,
            "records_read": self.records_read,
            "bad_records": self.bad_records,
        }

    async def status_record(self) -> CollectorStatus:
        """This collector's record for the value store (see ``wallboard.collector.status``)."""
        try:
            lag: dict[str, int] | None = await self.measure_lag()
        except Unavailable:
            lag = None
        stale = self.stale()
        return CollectorStatus(
            name=self.settings.name,
            ordinal=self.settings.ordinal,
            replicas=self.settings.replicas,
            updated_ms=self._wall.now_ms(),
            reading_ms=self._clock.now_ms(),
            tenants=len(self.tenants),
            statistics_open=self.statistics_open,
            events_applied=self.events_applied,
            records_read=self.records_read,
            bad_records=self.bad_records,
            streams={
                stream.value: StreamStatus(
                    newest_event_ms=self.newest_event_ms.get(stream.value),
                    read_position=self.read_position(stream),
                    lag=None if lag is None else lag[stream.value],
                    caught_up=self.caught_up.get(stream.value, False),
                    stale=None
                    if stream.value not in stale
                    else msgspec.convert(stale[stream.value], type=Why),
                )
                for stream in self.settings.streams
            },
            unreachable={k: Why(since=v[0], reason=v[1]) for k, v in self.down.items()},
        )

    async def _status_loop(self) -> None:
        """Publish the status record every STATUS_S; a store that cannot take it is the
        writer's to report (the record's age tells the web tier)."""
        while True:
            with contextlib.suppress(Unavailable):
                await publish_status(self._store, await self.status_record())
            await self._clock.sleep(STATUS_S)

    async def measure_lag(self) -> dict[str, int]:
        """Records of each stream not yet taken (also set on the log-lag gauge)."""
        lag = {}
        for stream in self.settings.streams:
            last = await self._log.last_seq(stream)
            lag[stream.value] = max(0, last - self.read_position(stream))
            self.metrics.log_lag.labels(stream.value).set(lag[stream.value])
        return lag


async def read_all_values(
    store: ValueStore, tenants: Sequence[str]
) -> dict[str, dict[str, dict[str, dict[str, object]]]]:
    """Every tenant's values as plain data (tests, tools)."""
    out: dict[str, dict[str, dict[str, dict[str, object]]]] = {}
    for tenant in tenants:
        snapshot = await store.snapshot(TenantId(tenant))
        out[tenant] = msgspec.to_builtins(snapshot.values)
    return out
