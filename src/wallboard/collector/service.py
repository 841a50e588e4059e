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
import zlib
from collections.abc import Callable, Mapping, Sequence

import msgspec
from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.collector.tenant import CHECKPOINT_NAME, TenantWork
from wallboard.core.clock import Clock, SystemClock
from wallboard.core.codec import decode_event
from wallboard.core.errors import InvalidInput, MalformedMessage, ResumeGap
from wallboard.core.events import Event, UnknownEvent
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import EventLog, LogRecord, StreamName
from wallboard.ops.metrics import counter, gauge, histogram
from wallboard.stats import DefinitionSet
from wallboard.stats.state import ObjectConfig
from wallboard.store.interface import ValueStore
from wallboard.store.values import Checkpoint, check_tenant_id

log = logging.getLogger(__name__)

RESERVED_PREFIX = "~collector-"


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
        clock: Clock | None = None,
        on_bad_record: Callable[[str, int, str], None] | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.settings = settings or CollectorSettings()
        self.settings.check()
        self._log = log_
        self._store = store
        self._definitions = definitions
        self._objects = dict(objects or {})
        self._clock = clock or SystemClock()
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
        self._lock = asyncio.Lock()
        self.metrics = CollectorMetrics(registry)

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
            low = self._position_read.get(s, self._start.get(s, 0))
            for tenant, work in self.tenants.items():
                if work.events == work.events_at_checkpoint:
                    continue  # nothing applied since its checkpoint: all it read is durable
                durable = self._durable.get(tenant, {}).get(s)
                if durable is None:
                    durable = self._first_seen.get(tenant, {}).get(s, low + 1) - 1
                low = min(low, durable)
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
                lateness_ms=s.lateness_ms,
                time_zone=s.time_zone,
            )
            snapshot = await self._store.snapshot(TenantId(tenant))
            for object_type, by_id in snapshot.values.items():
                for object_id, values in by_id.items():
                    for stat_id, value in values.items():
                        work.written[(object_type, object_id, stat_id)] = value
            self._durable[tenant] = dict(work.positions)
        else:
            work = TenantWork(
                tenant,
                self._definitions,
                objects=self._objects.get(tenant),
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
        tasks = [reader, writer]
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
                async with self._lock:
                    # A bounded slice at a time, so that values are written while a backlog
                    # is read.
                    for _ in range(self.settings.apply_slice):
                        heads = [(b[0][0], rank[st], b[0][1], st) for st, b in buffers.items() if b]
                        if not heads:
                            break
                        if any(not buffers[st] and st not in idle_since for st in streams):
                            break  # a stream with more to fetch may hold an earlier record
                        _, _, seq, st = min(heads)
                        _, _, record, event = buffers[st].popleft()
                        await self._take(st, record, event)
                        self._position_read[st] = seq
                await asyncio.sleep(0)
        finally:
            for task in reads.values():
                task.cancel()

    IDLE_POLL_S = 0.1

    async def _fetch(self, stream: str, after: int, wait_s: float) -> list[LogRecord]:
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

    def _bad(self, stream: str, seq: int, why: str) -> None:
        self.bad_records += 1
        self.metrics.bad_records.inc()
        log.warning("collector: skipped record %s/%d: %s", stream, seq, why)
        if self._on_bad_record is not None:
            self._on_bad_record(stream, seq, why)

    async def _write_loop(self) -> None:
        refresh_due = self._clock.monotonic() + self.settings.refresh_s
        while True:
            await self._clock.sleep(self.settings.flush_s)
            everything = self._clock.monotonic() >= refresh_due
            if everything:
                refresh_due = self._clock.monotonic() + self.settings.refresh_s
            await self.flush(everything=everything)

    def _now(self, work: TenantWork) -> int:
        if self.settings.clock == "events":
            return work.newest_ts
        now = self._clock.now_ms()
        work.engine.advance(now)
        return now

    async def flush(self, *, everything: bool = False, checkpoint: bool = False) -> None:
        """Write every tenant's changed values; with its checkpoint when one is due."""
        async with self._lock:
            s = self.settings
            for tenant, work in list(self.tenants.items()):
                changes = work.changes(self._now(work), everything=everything)
                due = checkpoint or (
                    work.events != work.events_at_checkpoint
                    and (
                        work.events - work.events_at_checkpoint >= s.checkpoint_events
                        or self._clock.monotonic() - self._last_checkpoint[tenant] >= s.checkpoint_s
                    )
                )
                if not changes and not due:
                    continue
                saved = work.checkpoint() if due else None
                await self._store.apply(TenantId(tenant), changes, checkpoint=saved)
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
            if self._last_checkpoint:
                oldest = min(self._last_checkpoint.values())
                self.metrics.checkpoint_age.set(self._clock.monotonic() - oldest)

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
