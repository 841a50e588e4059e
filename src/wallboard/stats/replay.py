"""Offline replay: an event log in, every statistic of every object out, as nested data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from wallboard.core.events import Event, UnknownEvent
from wallboard.stats.definitions import DefinitionSet
from wallboard.stats.engine import AgentStatusValue, StatisticsEngine
from wallboard.stats.state import ObjectConfig

ReplayValue = int | float | str | dict[str, object] | None
ReplayResult = dict[str, dict[str, dict[str, dict[str, ReplayValue]]]]


def replay(
    events: Iterable[Event | UnknownEvent],
    definitions: DefinitionSet,
    at_ms: int | None = None,
    *,
    objects: Mapping[str, ObjectConfig] | None = None,
    lateness_ms: int = 0,
    time_zones: Mapping[str, str] | None = None,
    default_time_zone: str = "UTC",
) -> tuple[ReplayResult, dict[str, int]]:
    """Apply ``events`` with every definition open on every object met, then read all values
    at ``at_ms`` (default: the last event's time): the values as they were then, so events
    after ``at_ms`` are left out.

    Returns ``tenant → object type → object id → statistic id → value`` and the anomaly counts.
    Statistics are opened before any event is applied (groups from ``objects``) or, for
    objects first seen later, when first seen — so a replay counts everything from the start.
    Each tenant's day is in its zone of ``time_zones``, else in ``default_time_zone``.
    """
    engine = StatisticsEngine(
        definitions,
        lateness_ms=lateness_ms,
        time_zones=time_zones,
        default_time_zone=default_time_zone,
    )
    for tenant, config in (objects or {}).items():
        engine.set_objects(tenant, config, ts_ms=0)
    by_type: dict[str, list[str]] = {}
    for definition in definitions:
        by_type.setdefault(definition.object.value, []).append(definition.id)
    opened: set[tuple[str, str, str]] = set()
    last_ts = 0

    def ensure_open(tenant: str, object_type: str, object_id: str) -> None:
        key = (tenant, object_type, object_id)
        if key in opened:
            return
        opened.add(key)
        engine.open_many(tenant, object_type, object_id, by_type.get(object_type, ()))

    for tenant, config in (objects or {}).items():
        ensure_open(tenant, "tenant", tenant)
        for group in config.agent_groups:
            ensure_open(tenant, "agent_group", group)
        for queue_group in config.queue_groups:
            ensure_open(tenant, "queue_group", queue_group)
    for event in events:
        if isinstance(event, Event):
            if at_ms is not None and event.ts > at_ms:
                continue  # after the read: what it changes had not happened yet
            tenant = event.tenant
            ensure_open(tenant, "tenant", tenant)
            for object_type, object_id in engine.objects_named(event):
                ensure_open(tenant, object_type, object_id)
            last_ts = max(last_ts, event.ts)
        engine.apply(event)
    engine.flush()
    for tenant in engine.tenants():
        for object_type, ids in engine.known_objects(tenant).items():
            for object_id in ids:
                ensure_open(tenant, object_type, object_id)
    now = last_ts if at_ms is None else at_ms
    result: ReplayResult = {}
    for tenant, object_type, object_id in sorted(opened):
        values = result.setdefault(tenant, {}).setdefault(object_type, {}).setdefault(object_id, {})
        for stat_id in by_type.get(object_type, ()):
            value = engine.value(tenant, object_type, object_id, stat_id, now)
            values[stat_id] = (
                msgspec.to_builtins(value) if isinstance(value, AgentStatusValue | dict) else value
            )
    return result, dict(engine.anomalies)
