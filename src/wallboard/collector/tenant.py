"""One tenant's share of a collector: its engine, its log positions, the values it last wrote.

A tenant is the unit of checkpointing and of assignment between collectors: its engine holds
only its own state, and its checkpoint (engine snapshot + the last applied sequence of each
log stream) is written to the value store in the same atomic step as the values that state
produced. A collector that restarts, or takes the tenant over from another, restores the
checkpoint and skips every record at or below its positions: nothing lost, nothing counted
twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event, UnknownEvent
from wallboard.stats import DefinitionSet, StatisticsEngine
from wallboard.stats.engine import AgentStatusValue
from wallboard.stats.state import ObjectConfig
from wallboard.store.values import Change, Checkpoint, Value

CHECKPOINT_NAME = "collector"
CHECKPOINT_VERSION = 1


class TenantCheckpoint(msgspec.Struct, frozen=True):
    """What a tenant's checkpoint blob holds (msgpack)."""

    version: int
    positions: dict[str, int]
    """Log stream → the sequence of the last record of this tenant applied to the engine."""
    events: int
    engine: bytes
    newest_ts: int = 0
    """The newest event time applied: the time values are read at with the events clock."""


def store_value(value: object) -> Value:
    """An engine value as the value store keeps it (a status becomes its JSON object)."""
    if isinstance(value, AgentStatusValue):
        converted: Value = msgspec.to_builtins(value)
        return converted
    return value  # type: ignore[return-value]  # int, float, breakdown dict or None


class TenantWork:
    """A tenant's engine with the statistics open on every object it has met."""

    def __init__(
        self,
        tenant: str,
        definitions: DefinitionSet,
        *,
        engine: StatisticsEngine | None = None,
        positions: Mapping[str, int] | None = None,
        events: int = 0,
        objects: ObjectConfig | None = None,
        lateness_ms: int = 0,
        time_zone: str = "UTC",
    ) -> None:
        self.tenant = tenant
        self.definitions = definitions
        self.lateness_ms = lateness_ms
        self.time_zone = time_zone
        self.engine = engine or StatisticsEngine(
            definitions, lateness_ms=lateness_ms, time_zones={tenant: time_zone}
        )
        self.positions: dict[str, int] = dict(positions or {})
        self.events = events
        self.events_at_checkpoint = events
        self.newest_ts = 0
        self.by_type: dict[str, list[str]] = {}
        for definition in definitions:
            self.by_type.setdefault(definition.object.value, []).append(definition.id)
        self.opened: set[tuple[str, str]] = {(t, o) for _, t, o, _ in self.engine.opened()}
        self.written: dict[tuple[str, str, str], Value] = {}
        if objects is not None and engine is None:
            self.engine.set_objects(tenant, objects, ts_ms=0)
        self._open_configured()

    @classmethod
    def restore(
        cls,
        tenant: str,
        blob: bytes,
        definitions: DefinitionSet,
        *,
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
            lateness_ms=lateness_ms,
            time_zone=time_zone,
        )
        work.newest_ts = saved.newest_ts
        return work

    def checkpoint(self) -> Checkpoint:
        """The tenant's state now; the caller notes it durable once the store has it."""
        saved = TenantCheckpoint(
            version=CHECKPOINT_VERSION,
            positions=dict(self.positions),
            events=self.events,
            engine=self.engine.snapshot(),
            newest_ts=self.newest_ts,
        )
        return Checkpoint(CHECKPOINT_NAME, msgspec.msgpack.encode(saved))

    def _open_configured(self) -> None:
        self._ensure_open("tenant", self.tenant)
        for object_type, ids in self.engine.known_objects(self.tenant).items():
            for object_id in ids:
                self._ensure_open(object_type, object_id)

    def _ensure_open(self, object_type: str, object_id: str) -> None:
        key = (object_type, object_id)
        if key in self.opened:
            return
        self.opened.add(key)
        for stat_id in self.by_type.get(object_type, ()):
            self.engine.open(self.tenant, object_type, object_id, stat_id)

    def set_objects(self, objects: ObjectConfig, ts_ms: int) -> None:
        self.engine.set_objects(self.tenant, objects, ts_ms=ts_ms)
        self._open_configured()

    def apply(self, stream: str, seq: int, event: Event | UnknownEvent) -> bool:
        """Apply one record unless this tenant already has it; True when applied."""
        if seq <= self.positions.get(stream, 0):
            return False
        if isinstance(event, Event):
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
        (all open statistics with ``everything``), each when it differs from what was written."""
        engine = self.engine
        touched = engine.drain_changes()
        # Objects that met the engine only through events it learned of indirectly (a group
        # member, a queue named in a login) are opened here; their first values follow.
        if everything:
            self._open_configured()
            keys: Iterable[tuple[str, str]] = sorted(self.opened)
        else:
            keys = sorted((t, o) for tenant, t, o in touched if tenant == self.tenant)
        out: list[Change] = []
        for object_type, object_id in keys:
            if (object_type, object_id) not in self.opened:
                continue
            for stat_id in self.by_type.get(object_type, ()):
                value = store_value(
                    engine.value(self.tenant, object_type, object_id, stat_id, now_ms)
                )
                key = (object_type, object_id, stat_id)
                if key in self.written and self.written[key] == value:
                    continue
                if key not in self.written and value is None:
                    self.written[key] = None
                    continue
                self.written[key] = value
                out.append(Change(object_type, object_id, stat_id, value))
        return out
