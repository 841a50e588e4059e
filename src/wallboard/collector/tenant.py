"""One tenant's share of a collector: its engine, its log positions, the values it last wrote.

A tenant is the unit of checkpointing and of assignment between collectors: its engine holds
only its own state, and its checkpoint (engine snapshot + the last applied sequence of each
log stream) is written to the value store in the same atomic step as the values that state
produced. A collector that restarts, or takes the tenant over from another, restores the
checkpoint and skips every record at or below its positions: nothing lost, nothing counted
twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Final

import msgspec

from wallboard.collector.inuse import InUse, everything
from wallboard.core.errors import InvalidInput, WallboardError
from wallboard.core.events import Event, UnknownEvent
from wallboard.stats import DefinitionSet, StatisticsEngine
from wallboard.stats.definitions import Category
from wallboard.stats.engine import AgentStatusValue
from wallboard.stats.state import ObjectConfig
from wallboard.store.values import Change, Checkpoint, IntervalValue, Since, Value

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "collector"
CHECKPOINT_VERSION = 1

MAX_HISTORY_CATCH_UP = 96
"""Most history buckets sampled at once after a gap in events (a day of quarter hours)."""


class TenantCheckpoint(msgspec.Struct, frozen=True):
    """What a tenant's checkpoint blob holds (msgpack)."""

    version: int
    positions: dict[str, int]
    """Log stream → the sequence of the last record of this tenant applied to the engine."""
    events: int
    engine: bytes
    newest_ts: int = 0
    """The newest event time applied: the time values are read at with the events clock."""
    open: list[tuple[str, str, list[str]]] = []
    """(object type, object id, statistics) this tenant opened: what was in use."""
    history_next: int = 0
    """The end of the history bucket not yet sampled (0: none yet)."""


SINCE_CATEGORIES: Final = frozenset(
    {Category.CURRENT_TIME, Category.CURRENT_MAX_TIME, Category.CURRENT_MIN_TIME}
)
"""Durations that grow with the clock while nothing happens: stored as the instant they started,
so they are written once per start rather than every second, and readers tick them."""


def since_statistics(definitions: DefinitionSet) -> frozenset[str]:
    """The statistics stored as :class:`~wallboard.store.values.Since`."""
    return frozenset(d.id for d in definitions.by_id.values() if d.category in SINCE_CATEGORIES)


def store_value(value: object, *, since_at: int | None = None) -> Value:
    """An engine value as the value store keeps it: a status becomes its JSON object; with
    ``since_at`` (the time it was read at), a duration becomes the instant it started."""
    if isinstance(value, AgentStatusValue):
        converted: Value = msgspec.to_builtins(value)
        return converted
    if since_at is not None and isinstance(value, int):
        return Since(since_at - value)
    return value  # type: ignore[return-value]  # int, float, breakdown dict or None


class TenantWork:
    """A tenant's engine with the statistics in use open on every object it has met."""

    def __init__(
        self,
        tenant: str,
        definitions: DefinitionSet,
        *,
        engine: StatisticsEngine | None = None,
        positions: Mapping[str, int] | None = None,
        events: int = 0,
        objects: ObjectConfig | None = None,
        in_use: InUse | None = None,
        open_stats: Iterable[tuple[str, str, Iterable[str]]] | None = None,
        history_ms: int = 0,
        lateness_ms: int = 0,
        time_zone: str = "UTC",
    ) -> None:
        self.tenant = tenant
        self.definitions = definitions
        self.in_use = in_use or everything(definitions)
        self.since_ids = since_statistics(definitions)
        self.lateness_ms = lateness_ms
        self.time_zone = time_zone
        self.engine = engine or StatisticsEngine(
            definitions, lateness_ms=lateness_ms, time_zones={tenant: time_zone}
        )
        self.positions: dict[str, int] = dict(positions or {})
        self.events = events
        self.events_at_checkpoint = events
        self.newest_ts = 0
        self.open: dict[tuple[str, str], frozenset[str]] = {}
        """Object → the statistics this tenant opened on it (formula inputs are the engine's)."""
        if open_stats is not None:
            self.open = {(t, o): frozenset(ids) for t, o, ids in open_stats}
        else:
            # A checkpoint of a collector that opened every definition on every object.
            for _, t, o, stat_id in self.engine.opened():
                self.open[(t, o)] = self.open.get((t, o), frozenset()) | {stat_id}
        self.written: dict[tuple[str, str, str], Value] = {}
        self.failed: set[tuple[str, str, str]] = set()
        """Statistics in use that could not be opened on an object."""
        self.unsure: set[tuple[str, str, str]] = set()
        """Values whose last write failed: written again whatever they are now."""
        self.removed: list[Change] = []
        """Values of statistics closed since the last write: removed from the store with it."""
        self.checkpoint_took = 0.0
        """Seconds the last checkpoint took to make."""
        self.history_ms = history_ms
        self.history_next = 0
        self.history: list[IntervalValue] = []
        """Samples of closed history buckets not yet written."""
        if engine is None:
            if objects is not None:
                self.engine.set_objects(tenant, objects, ts_ms=0)
            self.set_in_use(self.in_use)
        # A restored tenant follows the set in use once it knows the values written (the
        # store's), so that what closes is removed from the store: see ``set_in_use``.

    @classmethod
    def restore(
        cls,
        tenant: str,
        blob: bytes,
        definitions: DefinitionSet,
        *,
        in_use: InUse | None = None,
        history_ms: int = 0,
        lateness_ms: int = 0,
        time_zone: str = "UTC",
    ) -> TenantWork:
        """The tenant as its checkpoint left it; InvalidInput names what is wrong with it."""
        try:
            saved = msgspec.msgpack.decode(blob, type=TenantCheckpoint)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(f"tenant {tenant}: not a collector checkpoint: {exc}") from None
        if saved.version != CHECKPOINT_VERSION:
            raise InvalidInput(
                f"tenant {tenant}: checkpoint version {saved.version} is not {CHECKPOINT_VERSION}"
            )
        engine = StatisticsEngine.restore(
            saved.engine, definitions, lateness_ms=lateness_ms, time_zones={tenant: time_zone}
        )
        work = cls(
            tenant,
            definitions,
            engine=engine,
            positions=saved.positions,
            events=saved.events,
            in_use=in_use,
            open_stats=saved.open or None,
            history_ms=history_ms,
            lateness_ms=lateness_ms,
            time_zone=time_zone,
        )
        work.newest_ts = saved.newest_ts
        work.history_next = saved.history_next
        return work

    def checkpoint(self) -> Checkpoint:
        """The tenant's state now; the caller notes it durable once the store has it."""
        began = time.perf_counter()
        saved = TenantCheckpoint(
            version=CHECKPOINT_VERSION,
            positions=dict(self.positions),
            events=self.events,
            engine=self.engine.snapshot(),
            newest_ts=self.newest_ts,
            open=[(t, o, sorted(ids)) for (t, o), ids in sorted(self.open.items())],
            history_next=self.history_next,
        )
        blob = msgspec.msgpack.encode(saved)
        self.checkpoint_took = time.perf_counter() - began
        return Checkpoint(CHECKPOINT_NAME, blob)

    # --- what is open --------------------------------------------------------------------------

    def set_in_use(self, in_use: InUse) -> None:
        """Open what ``in_use`` adds on every object met, close what it no longer needs (their
        values are removed from the store with the next write)."""
        self.in_use = in_use
        self._ensure_open("tenant", self.tenant)
        for object_type, ids in self.engine.known_objects(self.tenant).items():
            for object_id in ids:
                self._ensure_open(object_type, object_id)
        for (object_type, object_id), had in list(self.open.items()):
            wanted = in_use.wanted(self.tenant, object_type, object_id)
            if wanted != had:
                self._reopen(object_type, object_id, had, wanted)

    def _reopen(
        self, object_type: str, object_id: str, had: frozenset[str], wanted: frozenset[str]
    ) -> None:
        engine, tenant = self.engine, self.tenant
        for stat_id in sorted(wanted - had):
            try:
                engine.open(tenant, object_type, object_id, stat_id)
            except WallboardError as exc:
                # A definition that cannot apply to this object: counted and left closed; the
                # other statistics go on.
                if not self.failed:
                    log.error("tenant %s: cannot open %s: %s", tenant, stat_id, exc)
                self.failed.add((object_type, object_id, stat_id))
                wanted = wanted - {stat_id}
        for stat_id in sorted(had - wanted):
            engine.close(tenant, object_type, object_id, stat_id)
            key = (object_type, object_id, stat_id)
            if self.written.pop(key, None) is not None:
                self.removed.append(Change(object_type, object_id, stat_id, None))
        self.open[(object_type, object_id)] = wanted

    def _ensure_open(self, object_type: str, object_id: str) -> None:
        if (object_type, object_id) in self.open:
            return
        wanted = self.in_use.wanted(self.tenant, object_type, object_id)
        try:
            # Every statistic in use at once: one step for the engine (``open_many``).
            self.engine.open_many(self.tenant, object_type, object_id, sorted(wanted))
        except WallboardError:
            # One of them cannot be opened: each on its own, those failing counted.
            self._reopen(object_type, object_id, frozenset(), wanted)
            return
        self.open[(object_type, object_id)] = wanted

    def set_objects(self, objects: ObjectConfig, ts_ms: int) -> None:
        self.engine.set_objects(self.tenant, objects, ts_ms=ts_ms)
        self.set_in_use(self.in_use)

    @property
    def statistics_open(self) -> int:
        return sum(len(ids) for ids in self.open.values())

    # --- events and values ---------------------------------------------------------------------

    def apply(self, stream: str, seq: int, event: Event | UnknownEvent) -> bool:
        """Apply one record unless this tenant already has it; True when applied."""
        if seq <= self.positions.get(stream, 0):
            return False
        if isinstance(event, Event):
            if self.history_ms and event.ts >= self.history_next:
                self.sample_history(event.ts)  # the buckets the event closes, before it counts
            # Open the statistics of every object the event names before it counts anywhere,
            # so a new object's first event is in its own totals.
            for object_type, object_id in self.engine.objects_named(event):
                self._ensure_open(object_type, object_id)
            self.newest_ts = max(self.newest_ts, event.ts)
        self.engine.apply(event)
        self.positions[stream] = seq
        self.events += 1
        return True

    def changes(self, now_ms: int, *, everything: bool = False) -> list[Change]:
        """Changes to write: the statistics of the objects events touched since the last call
        (all open statistics with ``everything``), each when it differs from what was written,
        after the removals of statistics closed since."""
        engine = self.engine
        touched = engine.drain_changes()
        # Objects that met the engine only through events it learned of indirectly (a group
        # member, a queue named in a login) are opened here; their first values follow.
        if everything:
            self.set_in_use(self.in_use)
            keys: Iterable[tuple[str, str]] = sorted(self.open)
        else:
            keys = sorted((t, o) for tenant, t, o in touched if tenant == self.tenant)
        out, self.removed = self.removed, []
        since_ids = self.since_ids
        for object_type, object_id in keys:
            for stat_id in sorted(self.open.get((object_type, object_id), ())):
                value = store_value(
                    engine.value(self.tenant, object_type, object_id, stat_id, now_ms),
                    since_at=now_ms if stat_id in since_ids else None,
                )
                change = self._diff((object_type, object_id, stat_id), value)
                if change is not None:
                    out.append(change)
        return out

    def _diff(self, key: tuple[str, str, str], value: Value) -> Change | None:
        """The change that writes ``value`` unless the store has it already."""
        if key in self.unsure:
            self.unsure.discard(key)
        elif key in self.written and self.written[key] == value:
            return None
        elif key not in self.written and value is None:
            self.written[key] = None
            return None
        self.written[key] = value
        return Change(*key, value)

    def source_changes(self, stale: Mapping[str, Value]) -> list[Change]:
        """``source``/<stream>/``source.stale`` of each stream this tenant has events from:
        why its values are stale (``{"since", "reason"}``), removed once they are current."""
        out = []
        for stream in sorted(self.positions):
            change = self._diff(("source", stream, "source.stale"), stale.get(stream))
            if change is not None:
                out.append(change)
        return out

    def retry(self, changes: list[Change]) -> None:
        """The store may or may not have ``changes`` (the write failed): each is written again
        by a later call, with the value then current (removals as they are)."""
        for change in changes:
            key = (change.object_type, change.object_id, change.statistic)
            self.written.pop(key, None)
            if change.value is None:
                self.removed.append(change)
            else:
                self.unsure.add(key)

    # --- history -------------------------------------------------------------------------------

    def sample_history(self, now_ms: int) -> None:
        """Sample every numeric statistic open at the end of each history bucket that ended by
        ``now_ms`` (at most a day of buckets after a gap; the older ones are skipped)."""
        step = self.history_ms
        if not step or now_ms <= 0:
            return
        if not self.history_next:
            self.history_next = (now_ms // step + 1) * step
            return
        if now_ms < self.history_next:
            return
        last_end = now_ms // step * step
        end = max(self.history_next, last_end - MAX_HISTORY_CATCH_UP * step + step)
        while end <= last_end:
            self._sample_at(end)
            end += step
        self.history_next = last_end + step

    def _sample_at(self, end_ms: int) -> None:
        start = end_ms - self.history_ms
        for (object_type, object_id), ids in self.open.items():
            for stat_id in sorted(ids):
                value = self.engine.value(self.tenant, object_type, object_id, stat_id, end_ms)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    self.history.append(
                        IntervalValue(stat_id, object_type, object_id, start, value)
                    )

    def take_history(self) -> list[IntervalValue]:
        taken, self.history = self.history, []
        return taken
