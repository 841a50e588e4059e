"""Each collector's status record in the value store, for the web tier's status endpoint.

The web tier sees only the value store and the metadata database, never a collector's
``/status`` port. So every collector publishes a small record about itself, every
:data:`STATUS_S` seconds, as a value of the reserved tenant ``~status`` (object type
``collector``, object id the collector's name, statistic ``collector.status``): what it has
open, how many events it applied, per stream the newest event time it applied, its lag behind
the log and whether the stream is stale, and when the record was written (``updated_ms``, on
the wall clock). Tenant ids never start with ``~``, so the record cannot collide with a
tenant's values; in Redis it is one hash under the ``{~status}`` hash tag, so one snapshot
reads every collector's record on a cluster too.

A record is only as current as its ``updated_ms``: the web tier takes a collector whose record
is older than a few seconds for one that is not reporting (stopped, crashed or cut off from
the store). A collector that stops cleanly removes its record.
"""

from __future__ import annotations

from typing import Final

import msgspec

from wallboard.core.ids import TenantId
from wallboard.store.interface import ValueStore
from wallboard.store.values import Change

STATUS_TENANT: Final = TenantId("~status")
STATUS_OBJECT_TYPE: Final = "collector"
STATUS_STATISTIC: Final = "collector.status"

STATUS_S: Final = 1.0
"""How often a collector publishes its record."""


class Why(msgspec.Struct, frozen=True):
    """Since when (UTC ms) and why something is wrong: a stale stream, an unreachable
    dependency."""

    since: int
    reason: str


class StreamStatus(msgspec.Struct, frozen=True):
    """One event stream as a collector sees it."""

    newest_event_ms: int | None
    """The newest event time applied from the stream (None before any)."""
    read_position: int
    lag: int | None
    """Records in the log not yet taken; None while the log cannot be asked."""
    caught_up: bool
    stale: Why | None
    """Set while the stream's values are stale (``source.stale``)."""


class CollectorStatus(msgspec.Struct, frozen=True):
    """What one collector publishes about itself."""

    name: str
    ordinal: int
    replicas: int
    updated_ms: int
    """Wall-clock time of the record: its age says whether the collector still reports."""
    reading_ms: int
    """The time the collector reads values at (simulated time in the demo)."""
    tenants: int
    statistics_open: int
    events_applied: int
    records_read: int
    bad_records: int
    streams: dict[str, StreamStatus]
    unreachable: dict[str, Why]
    """Dependency (``event_log``, ``value_store``) → since when and why."""


async def publish_status(store: ValueStore, status: CollectorStatus) -> None:
    """Write (replace) the collector's record."""
    change = Change(STATUS_OBJECT_TYPE, status.name, STATUS_STATISTIC, msgspec.to_builtins(status))
    await store.apply(STATUS_TENANT, [change])


async def withdraw_status(store: ValueStore, name: str) -> None:
    """Remove the collector's record (it stopped cleanly: nothing is missing)."""
    await store.apply(STATUS_TENANT, [Change(STATUS_OBJECT_TYPE, name, STATUS_STATISTIC, None)])


async def read_statuses(store: ValueStore) -> tuple[list[CollectorStatus], int]:
    """Every collector's record, by name; and how many records could not be read (a newer
    collector's record of another shape is counted and skipped, never fatal)."""
    snapshot = await store.snapshot(STATUS_TENANT)
    records: list[CollectorStatus] = []
    unreadable = 0
    for name, values in sorted(snapshot.values.get(STATUS_OBJECT_TYPE, {}).items()):
        raw = values.get(STATUS_STATISTIC)
        try:
            records.append(msgspec.convert(raw, type=CollectorStatus))
        except msgspec.ValidationError:
            unreadable += 1
            continue
        if records[-1].name != name:
            records.pop()
            unreadable += 1
    return records, unreadable
