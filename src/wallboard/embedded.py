"""The whole pipeline in one process, on the embedded defaults: log, collector, value store.

``wallboard demo`` and ``wallboard run`` are the same system as a deployment, folded into one
process: whatever feeds it (the simulator, a platform adapter) hands its events to a
:class:`LogFeed`, which publishes them to the in-process event log; the production
:class:`~wallboard.collector.service.Collector` reads that log and writes the statistic values
into the in-memory value store; the terminal board (and later the web tier) reads the store.
Nothing reads the statistics engine directly, so what the board shows is what a reader of the
store gets in a deployment.

Time. The collector reads values at the time its clock gives. A reading time advances the
engine past every event older than it (minus the allowed lateness): an event applied after a
reading at a later time is dropped as ``too_late``. So the clock handed to the collector here
(:class:`ReadingClock`) never runs ahead of the events still on their way: the demo holds it at
the simulated time whose events are all applied; ``wallboard run`` holds it at the newest event
applied while the backlog present at start is read (a queue_log file from its start, say), then
lets it follow the wall clock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from prometheus_client import REGISTRY, CollectorRegistry
from rich.console import Console, RenderableType
from rich.live import Live

from wallboard.collector.inuse import InUse
from wallboard.collector.service import Collector, CollectorSettings
from wallboard.core.clock import Clock
from wallboard.core.codec import encode
from wallboard.core.errors import InvalidInput, WallboardError
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import EventLog, StreamName
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.ops.metrics import counter
from wallboard.stats import DefinitionSet, standard_library
from wallboard.stats.state import ObjectConfig
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import TenantValues

log = logging.getLogger(__name__)

LOG_MAX_RECORDS = 1_000_000
"""Records the in-process log keeps per stream: far more than the collector, reading in the
same process, ever lags behind (a whole simulated day is under 30,000 per stream)."""

SETTLE_POLL_S = 0.005


class ReadingClock:
    """The collector's clock in one process: ``base`` for sleeping and measuring, and for the
    reading time too unless it is held (see the module's "Time")."""

    def __init__(self, base: Clock, held: Callable[[], int] | None = None) -> None:
        self.base = base
        self._held = held

    def now_ms(self) -> int:
        return self.base.now_ms() if self._held is None else self._held()

    def monotonic(self) -> float:
        return self.base.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self.base.sleep(seconds)

    def hold(self, at: int | Callable[[], int]) -> None:
        """Read values at ``at`` (a time, or a function giving it) until :meth:`follow`."""
        self._held = at if callable(at) else (lambda: at)

    def follow(self) -> None:
        """Read values at the base clock's time from now on."""
        self._held = None


class FeedMetrics:
    """What the feed into the in-process log did (``wallboard_embedded_*``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.published = counter(
            "embedded", "published", "Events published to the in-process log.", registry=registry
        )
        self.refused = counter(
            "embedded",
            "refused",
            "Events the in-process log refused (an id or record it cannot hold), skipped.",
            registry=registry,
        )


class LogFeed:
    """Publishes the events handed to :meth:`put` to the event log, in order, from one task.

    :meth:`put` never waits, so a live source's callback or the simulator's loop can call it;
    the task started by :meth:`run` publishes what was put in batches. Each event goes to its
    ``stream`` when one is given (a platform adapter serves the voice source port, so its
    events belong to the ``voice`` stream), else to the stream named by its source (the
    simulator's four sources). An event the log refuses is counted, logged and skipped.
    """

    BATCH = 500

    def __init__(
        self,
        event_log: EventLog,
        *,
        stream: StreamName | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._log = event_log
        self._stream = stream
        self._pending: collections.deque[Event] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.published = 0
        self.refused = 0
        self.last_seq: dict[StreamName, int] = {}
        """Per stream, the sequence of the last record this feed published."""
        self._metrics = FeedMetrics(registry)

    def put(self, event: Event) -> None:
        self._pending.append(event)
        self._idle.clear()
        self._wake.set()

    def stream_of(self, event: Event) -> StreamName:
        """The stream ``event`` goes to; InvalidInput when its source names none."""
        if self._stream is not None:
            return self._stream
        try:
            return StreamName(event.source)
        except ValueError:
            raise InvalidInput(
                f"event {event.id}: source {event.source!r} names no stream of the log"
            ) from None

    async def run(self) -> None:
        """Publish until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._publish_batch()
            self._idle.set()

    async def drained(self) -> None:
        """Return once everything put so far is in the log."""
        await self._idle.wait()

    async def _publish_batch(self) -> None:
        batch: list[tuple[StreamName, Event]] = []
        stream: StreamName | None = None
        while self._pending and len(batch) < self.BATCH:
            event = self._pending[0]
            try:
                this = self.stream_of(event)
            except InvalidInput as error:
                self._pending.popleft()
                self._refuse(error)
                continue
            if stream is not None and this is not stream:
                break  # one stream per batch, so the order within each stream is kept
            stream = this
            batch.append((this, self._pending.popleft()))
        if stream is None:
            return
        records = [(TenantId(e.tenant), e.id, encode(e)[:-1]) for _, e in batch]
        try:
            published = await self._log.publish_many(stream, records)
        except InvalidInput:
            # One record the log cannot hold refuses the batch: publish one by one, skip it.
            published = []
            for record in records:
                try:
                    published.append(await self._log.publish(stream, *record))
                except InvalidInput as error:
                    self._refuse(error)
        if published:
            self.last_seq[stream] = max([self.last_seq.get(stream, 0), *(p.seq for p in published)])
            new = sum(not p.duplicate for p in published)  # a resent event is kept once
            self.published += new
            self._metrics.published.inc(new)

    def _refuse(self, error: WallboardError) -> None:
        self.refused += 1
        self._metrics.refused.inc()
        log.warning("event not published to the in-process log: %s", error.message)


class Embedded:
    """The in-process log, the collector and the memory value store, running together.

    Use as ``async with``: the collector and the feed run as tasks until the block ends, when
    the collector writes its last values. ``store`` is what readers (the terminal board, a web
    app) attach to.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        settings: CollectorSettings,
        objects: Mapping[str, ObjectConfig] | None = None,
        definitions: DefinitionSet | None = None,
        in_use: InUse | None = None,
        stream: StreamName | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.clock = ReadingClock(clock)
        self.log = MemoryEventLog(max_records=LOG_MAX_RECORDS, clock=clock)
        self.store = MemoryValueStore(clock=clock)
        self.feed = LogFeed(self.log, stream=stream, registry=registry)
        self.collector = Collector(
            self.log,
            self.store,
            definitions or standard_library(),
            settings,
            objects=objects,
            in_use=in_use,
            clock=self.clock,
            wall=clock,
            registry=registry,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._tasks = [
            asyncio.create_task(self.collector.run(), name="embedded-collector"),
            asyncio.create_task(self.feed.run(), name="embedded-feed"),
        ]
        started = asyncio.create_task(self.collector.started.wait())
        await asyncio.wait([started, self._tasks[0]], return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            started.cancel()
            await self.close()  # raises why the collector ended
            raise RuntimeError("the collector ended before it started")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def stop(self) -> None:
        """Stop the feed and let the collector write its last values (the store stays open
        for reading); the collector's failure, if it failed, is raised here."""
        collector, feed = self._tasks or (None, None)
        self._tasks = []
        if feed is not None:
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
        if collector is not None:
            self.collector.stop()
            await collector

    async def close(self) -> None:
        """:meth:`stop`, then close the log and the store."""
        try:
            await self.stop()
        finally:
            await self.log.close()
            await self.store.close()

    def applied(self) -> bool:
        """Whether the collector has taken every record the feed published."""
        return all(
            self.collector.read_position(stream) >= seq
            for stream, seq in self.feed.last_seq.items()
        )

    async def settle(self) -> None:
        """Return once every event put into the feed so far is applied by the collector."""
        drained = asyncio.ensure_future(self.feed.drained())
        try:
            await asyncio.wait([drained, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            drained.cancel()
        self._check_running()
        while not self.applied():
            await asyncio.sleep(SETTLE_POLL_S)
            self._check_running()

    def _check_running(self) -> None:
        """Raise why the collector or the feed ended (or that they are not running)."""
        if not self._tasks:
            raise RuntimeError("the collector and the feed are not running")
        for task in self._tasks:
            if task.done():
                task.result()
                raise RuntimeError(f"{task.get_name()} ended")

    def newest_applied_ms(self) -> int:
        """The newest event time every tenant has reached (0 before any event)."""
        tenants = self.collector.tenants.values()
        return min((work.newest_ts for work in tenants), default=0)

    async def values(self, tenants: Sequence[str] | None = None) -> dict[str, TenantValues]:
        """The current values of ``tenants`` (default: every tenant the collector computes)."""
        names = sorted(self.collector.tenants) if tenants is None else tenants
        return {t: (await self.store.snapshot(TenantId(t))).values for t in names}


async def show_board(
    *,
    clock: Clock,
    console: Console,
    update: Callable[[], Awaitable[None]],
    render: Callable[[int, int | None], Awaitable[RenderableType]],
    refresh_s: float,
    duration: float | None,
    live: bool,
    draw: bool = True,
) -> None:
    """Every ``refresh_s``: ``update()``, then with ``live`` draw ``render(width, height)`` in
    place at the terminal's size then (the board follows a resize); until ``duration`` seconds
    pass (forever when None). Without ``live`` the board is printed once at the end (logs,
    tests); without ``draw`` never (the values are shown elsewhere, in the browser)."""
    started = clock.monotonic()
    with contextlib.ExitStack() as stack:
        board = None
        if live and draw:
            board = stack.enter_context(Live(console=console, auto_refresh=False, screen=False))
        while True:
            # Whether this is the last frame is decided before it is made, so that the last
            # frame is of a time at least ``duration`` after the start.
            last = duration is not None and clock.monotonic() - started >= duration
            await update()
            if board is not None:
                width, height = console.size
                board.update(await render(width, height), refresh=True)
            if last:
                break
            await clock.sleep(refresh_s)
    if draw and not live:
        console.print(await render(console.width, None))
