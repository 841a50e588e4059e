"""The live hub: one follower of the value store's change stream per tenant, one view per distinct
thing watched, one outbox per client.

Thousands of browsers typically watch a few dashboards, so the work is done per **view** (a
tenant's values selected by a :class:`Target`), not per client: a view keeps the current values
of its selection in memory and the changes not yet sent; at most once per ``coalesce_s`` (at once
after a quiet spell) the hub encodes a view's changes once and hands the same frame to each of
its subscriptions' outboxes.
A new subscriber's snapshot comes from the view's memory, not from the store.

No gap between snapshot and changes: a view registers with its tenant's feed before it reads its
snapshot from the store, keeps the batches that arrive meanwhile, and applies those above the
snapshot's version. A subscription's snapshot is the view's values at the view's version; the
next frame holds what changed since the previous tick, some of which the snapshot may already
hold — values are absolute (latest wins), so applying them again changes nothing.

Bounded: a view's pending changes are bounded by its keys; a client outbox holds at most
``max_outbox`` frames — beyond that it is emptied and the client is sent a fresh snapshot
instead (a slow client costs a resend, never a growing queue). A feed that meets a gap in the
change stream (trimmed, or a store that lost its data) reloads its views and every subscriber
gets a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import time
from collections.abc import Coroutine, Iterable

import msgspec

from wallboard.collector.inuse import Layout
from wallboard.core.errors import ResumeGap, Unavailable
from wallboard.core.ids import TenantId
from wallboard.store.interface import ValueStore
from wallboard.store.values import ChangeBatch, Value

log = logging.getLogger(__name__)

Key = tuple[str, str, str]
"""(object type, object id, statistic)."""

READY_TIMEOUT_S = 10.0

TICKS_PER_PERIOD = 4
"""The ticker looks this many times per coalescing period for views whose time has come."""

SOURCE_TYPE = "source"
"""Object type of the collector's staleness values (``source.stale`` per stream): always sent
with a tenant's values, whatever the subscription selects."""

_encoder = msgspec.json.Encoder()


@dataclasses.dataclass(frozen=True)
class Target:
    """What a subscription watches: values of one tenant, optionally only some objects and some
    statistics (None: all), or what some widgets show (``layouts``: a value is watched when one
    of them shows it); in every case only objects in ``visible`` (the subscriber's permissions;
    None: every object). Subscribers share a view only when they see the same objects."""

    tenant: str
    objects: frozenset[tuple[str, str]] | None = None
    statistics: frozenset[str] | None = None
    layouts: tuple[Layout, ...] | None = None
    visible: frozenset[tuple[str, str]] | None = None

    def wants(self, key: Key) -> bool:
        if key[0] == SOURCE_TYPE:
            return True
        if self.visible is not None and (key[0], key[1]) not in self.visible:
            return False
        if self.layouts is not None:
            return any(
                key[2] in layout.statistics and layout.wanted(self.tenant, key[0], key[1])
                for layout in self.layouts
            )
        if self.objects is not None and (key[0], key[1]) not in self.objects:
            return False
        return self.statistics is None or key[2] in self.statistics


def frame(kind: str, sub_id: int, fields: str) -> str:
    """A message from a body encoded once per view: ``{"type":kind,"sub":id,<body fields>}``;
    ``fields`` is the body without its opening brace (:func:`body_fields`)."""
    return f'{{"type":"{kind}","sub":{sub_id},{fields}'


def body_fields(body: object) -> str:
    """``body`` encoded as JSON, without its opening brace: decoded once per view and frame,
    not once per subscriber."""
    return _encoder.encode(body)[1:].decode()


class Outbox:
    """What waits to be sent to one client: frames in order, and subscriptions owed a snapshot."""

    def __init__(self, max_outbox: int = 64) -> None:
        self.frames: collections.deque[str] = collections.deque()
        self.subs: dict[int, Subscription] = {}
        self.snapshots: dict[int, Subscription] = {}
        self.wake = asyncio.Event()
        self.max_outbox = max_outbox
        self.resyncs = 0

    def push(self, text: str) -> None:
        self.frames.append(text)
        if len(self.frames) > self.max_outbox:
            self.overflow()
        self.wake.set()

    def overflow(self) -> None:
        """The client is behind: drop its frames; each of its subscriptions gets a snapshot."""
        self.frames.clear()
        self.snapshots.update(self.subs)
        self.resyncs += 1

    def owe_snapshot(self, sub: Subscription) -> None:
        self.snapshots[sub.id] = sub
        self.wake.set()

    def take(self) -> list[str]:
        """Everything to send now: the frames in order, then the snapshots owed, each in its
        view's current state (changes older than a snapshot are replaced by it)."""
        out = list(self.frames)
        self.frames.clear()
        out.extend(sub.view.snapshot_frame(sub.id) for sub in self.snapshots.values() if sub.live)
        self.snapshots.clear()
        return out


class Subscription:
    """One client's subscription to a view."""

    def __init__(self, sub_id: int, view: View, outbox: Outbox) -> None:
        self.id = sub_id
        self.view = view
        self.outbox = outbox
        self.live = True


class View:
    """A tenant's values selected by a target, kept current for the subscriptions sharing it."""

    def __init__(self, hub: Hub, target: Target) -> None:
        self.hub = hub
        self.target = target
        self.values: dict[Key, Value] = {}
        self.version = 0
        self.written_ms = 0
        self.pending: dict[Key, Value] = {}
        self.subs: set[Subscription] = set()
        self.loaded = asyncio.Event()
        self._early: list[ChangeBatch] | None = []
        self._snapshot_body: tuple[int, str] | None = None
        self.last_sent = 0.0

    def offer(self, batch: ChangeBatch) -> None:
        if self._early is not None:
            self._early.append(batch)
            return
        if batch.version <= self.version:
            return
        wants = self.target.wants
        for change in batch.changes:
            key = (change.object_type, change.object_id, change.statistic)
            if wants(key):
                self.pending[key] = change.value
                if change.value is None:
                    self.values.pop(key, None)
                else:
                    self.values[key] = change.value
        self.version = batch.version
        self.written_ms = batch.written_ms

    async def load(self) -> None:
        """Read the snapshot from the store (registered with the feed before this)."""
        self._early = self._early if self._early is not None else []
        snapshot = await self.hub.store.snapshot(TenantId(self.target.tenant))
        wants = self.target.wants
        values: dict[Key, Value] = {}
        for object_type, by_id in snapshot.values.items():
            for object_id, stats in by_id.items():
                for stat, value in stats.items():
                    key = (object_type, object_id, stat)
                    if wants(key):
                        values[key] = value
        early, self._early = self._early, None
        self.values, self.version, self.pending = values, snapshot.version, {}
        self._snapshot_body = None
        for batch in early:
            self.offer(batch)
        self.pending = {}  # the subscribers are sent snapshots now
        self.loaded.set()
        for sub in self.subs:
            sub.outbox.owe_snapshot(sub)

    def reload_later(self) -> None:
        """The feed met a gap: collect batches until the snapshot is read again."""
        self._early = []
        self.loaded.clear()

    def snapshot_frame(self, sub_id: int) -> str:
        cached = self._snapshot_body
        if cached is None or cached[0] != self.version:
            body = body_fields(
                {"version": self.version, "values": [(*k, v) for k, v in self.values.items()]}
            )
            cached = self._snapshot_body = (self.version, body)
        return frame("snapshot", sub_id, cached[1])

    def tick(self, now: float, every: float) -> None:
        """Send what changed since the last send, encoded once, to every subscriber, unless the
        last send is less than ``every`` seconds old."""
        if not self.pending or self._early is not None or now - self.last_sent < every:
            return
        self.last_sent = now
        fields = body_fields(
            {
                "version": self.version,
                "written": self.written_ms,
                "changes": [(*k, v) for k, v in self.pending.items()],
            }
        )
        self.pending = {}
        for sub in self.subs:
            sub.outbox.push(frame("changes", sub.id, fields))


class TenantFeed:
    """Follows one tenant's change stream for the views of this process."""

    def __init__(self, hub: Hub, tenant: TenantId) -> None:
        self.hub = hub
        self.tenant = tenant
        self.views: set[View] = set()
        self.version = 0
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(self._follow(), name=f"live-feed-{tenant}")

    async def _follow(self) -> None:
        """Follow from the version the feed started at. Views read their snapshots only after
        that (``ready``), so no batch falls between the two."""
        store = self.hub.store
        backoff = 0.2
        reload = False
        while True:
            try:
                if not self.version:
                    self.version = await store.current_version(self.tenant)
                    if reload:
                        for view in list(self.views):
                            view.reload_later()
                            self.hub.spawn(view.load())
                        reload = False
                self.ready.set()
                batches = await store.wait_for_changes(
                    self.tenant, self.version, max_wait=self.hub.poll_timeout
                )
                backoff = 0.2
            except ResumeGap:
                log.warning("live: the change stream of %s has a gap; resending", self.tenant)
                self.version, reload = 0, True
                continue
            except Unavailable as exc:
                log.warning("live: value store unreachable (%s); retrying", exc.message)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for batch in batches:
                self.version = batch.version
                for view in list(self.views):
                    view.offer(batch)
            # A view that has sent nothing for a while sends at once (the ticker sends the
            # others when their time comes): sparse changes arrive without waiting.
            self.hub.tick(self.views)


class Hub:
    """The live channel's shared part in one web process."""

    def __init__(
        self,
        store: ValueStore,
        *,
        poll_timeout: float = 5.0,
        coalesce_s: float | None = 0.2,
    ) -> None:
        """``coalesce_s=None`` runs no ticker: the caller calls :meth:`tick` (tests)."""
        self.store = store
        self.poll_timeout = poll_timeout
        self.coalesce_s = coalesce_s
        self.feeds: dict[str, TenantFeed] = {}
        self.views: dict[Target, View] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None

    def spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("live: %s", task.exception())

    async def subscribe(
        self, sub_id: int, target: Target, outbox: Outbox, *, owe_snapshot: bool = True
    ) -> Subscription:
        """A subscription of ``outbox`` to the view of ``target``, its snapshot owed to the
        outbox (unless the caller owes it itself, after a frame of its own)."""
        view = self.views.get(target)
        if view is None:
            view = self.views[target] = View(self, target)
            feed = self.feeds.get(target.tenant)
            if feed is None:
                feed = self.feeds[target.tenant] = TenantFeed(self, TenantId(target.tenant))
            feed.views.add(view)
            try:
                async with asyncio.timeout(READY_TIMEOUT_S):
                    await feed.ready.wait()
                await view.load()
            except (TimeoutError, Unavailable):
                self._drop_view(view)
                raise Unavailable(f"the value store does not answer for {target.tenant}") from None
        else:
            try:
                async with asyncio.timeout(READY_TIMEOUT_S):
                    await view.loaded.wait()
            except TimeoutError:
                raise Unavailable(f"the value store does not answer for {target.tenant}") from None
        sub = Subscription(sub_id, view, outbox)
        view.subs.add(sub)
        outbox.subs[sub_id] = sub
        if owe_snapshot:
            outbox.owe_snapshot(sub)
        if self._ticker is None and self.coalesce_s is not None:
            self._ticker = asyncio.create_task(self._tick_loop(self.coalesce_s))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.live = False
        sub.outbox.subs.pop(sub.id, None)
        sub.outbox.snapshots.pop(sub.id, None)
        view = sub.view
        view.subs.discard(sub)
        if not view.subs:
            self._drop_view(view)

    def _drop_view(self, view: View) -> None:
        if self.views.get(view.target) is view:
            del self.views[view.target]
        feed = self.feeds.get(view.target.tenant)
        if feed is None:
            return
        feed.views.discard(view)
        if not feed.views:
            feed.task.cancel()
            del self.feeds[view.target.tenant]

    def tick(self, views: Iterable[View] | None = None) -> None:
        """Send each view's changes whose time has come (all of them without a coalescing
        period)."""
        every = self.coalesce_s or 0.0
        now = time.monotonic()
        for view in list(self.views.values() if views is None else views):
            view.tick(now, every)

    async def _tick_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every / TICKS_PER_PERIOD)
            self.tick()

    async def close(self) -> None:
        tasks = [feed.task for feed in self.feeds.values()] + list(self._tasks)
        if self._ticker is not None:
            tasks.append(self._ticker)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.feeds.clear()
        self.views.clear()
