"""The in-memory value store: the embedded default (``wallboard demo``, no Redis).

It is asyncio-safe by construction: no method awaits between reading and writing its state, so
on one event loop every call is atomic (a batch and its checkpoint land together, a snapshot is
exact). It is not thread-safe; use it from the loop that runs the services.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import copy
import dataclasses
from collections.abc import Sequence

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.errors import InvalidInput, ResumeGap
from wallboard.core.ids import TenantId
from wallboard.store.interface import VERSION_ORIGIN_FACTOR
from wallboard.store.values import (
    Change,
    ChangeBatch,
    Checkpoint,
    IntervalValue,
    ObjectValues,
    Snapshot,
    StoredCheckpoint,
    TenantValues,
    Value,
    apply_changes,
    check_checkpoint,
    check_interval,
    check_limit,
    check_name,
    check_object_id,
    check_tenant_id,
    decode_value,
    normalise_changes,
)

SeriesKey = tuple[str, str, str]  # statistic, object type, object id


@dataclasses.dataclass
class _Series:
    """One interval series: starts kept sorted next to their values."""

    starts: list[int] = dataclasses.field(default_factory=list)
    values: dict[int, Value] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Tenant:
    max_batches: int
    version: int = 0
    origin: int = 0
    values: TenantValues = dataclasses.field(default_factory=dict)
    batches: collections.deque[ChangeBatch] = dataclasses.field(init=False)
    series: dict[SeriesKey, _Series] = dataclasses.field(default_factory=dict)
    checkpoints: dict[str, StoredCheckpoint] = dataclasses.field(default_factory=dict)
    # Replaced by a fresh event on every batch, so waiters wake once and re-read.
    changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.batches = collections.deque(maxlen=self.max_batches)


class MemoryValueStore:
    """A :class:`~wallboard.store.interface.ValueStore` held in this process's memory."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        max_batches: int = 10_000,
        interval_retention_ms: int = 8 * 24 * 3600 * 1000,
        max_intervals: int = 10_000,
    ) -> None:
        """``max_batches``: change-stream length per tenant; older batches are trimmed.

        ``interval_retention_ms`` and ``max_intervals`` bound each interval series.
        """
        self._clock = clock or SystemClock()
        self._max_batches = check_limit(max_batches)
        self._retention_ms = check_limit(interval_retention_ms)
        self._max_intervals = check_limit(max_intervals)
        self._tenants: dict[str, _Tenant] = {}

    def _tenant(self, tenant: TenantId) -> _Tenant:
        state = self._tenants.get(check_tenant_id(tenant))
        if state is None:
            state = self._tenants[tenant] = _Tenant(max_batches=self._max_batches)
        return state

    # --- current values and change stream ----------------------------------------------------

    async def apply(
        self,
        tenant: TenantId,
        changes: Sequence[Change],
        *,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        state = self._tenant(tenant)
        checked = [change for change, _ in normalise_changes(changes)]
        if checkpoint is not None:
            check_checkpoint(checkpoint)
        if checked:
            now_ms = self._clock.now_ms()
            if state.version == 0:
                state.origin = state.version = now_ms * VERSION_ORIGIN_FACTOR
            state.version += 1
            batch = ChangeBatch(state.version, now_ms, tuple(checked))
            apply_changes(state.values, batch.changes)
            state.batches.append(batch)
            state.changed.set()
            state.changed = asyncio.Event()
        if checkpoint is not None:
            state.checkpoints[checkpoint.name] = StoredCheckpoint(checkpoint.blob, state.version)
        return state.version

    async def get_object(self, tenant: TenantId, object_type: str, object_id: str) -> ObjectValues:
        state = self._tenant(tenant)
        check_name(object_type, "object_type")
        check_object_id(object_id)
        return _copy_object(state.values.get(object_type, {}).get(object_id, {}))

    async def snapshot(self, tenant: TenantId) -> Snapshot:
        state = self._tenant(tenant)
        # A copy: the caller owns what it gets and must not see later batches in it.
        values = {
            object_type: {object_id: _copy_object(stats) for object_id, stats in objects.items()}
            for object_type, objects in state.values.items()
        }
        return Snapshot(state.version, values)

    async def current_version(self, tenant: TenantId) -> int:
        return self._tenant(tenant).version

    async def changes_since(
        self, tenant: TenantId, version: int, limit: int = 1000
    ) -> list[ChangeBatch]:
        state = self._tenant(tenant)
        check_limit(limit)
        if version < 0:
            raise InvalidInput("a version is 0 or more", field="version", value=version)
        if version == state.version:
            return []
        if version == 0:
            version = state.origin
        oldest = state.batches[0].version if state.batches else state.version + 1
        if version > state.version or version < oldest - 1:
            raise ResumeGap(
                f"changes after version {version} of tenant {tenant} are no longer kept; "
                "take a fresh snapshot",
                tenant=tenant,
                version=version,
                oldest=oldest,
                current=state.version,
            )
        start = version - oldest + 1  # versions in the deque are gapless
        return [state.batches[i] for i in range(start, min(start + limit, len(state.batches)))]

    async def wait_for_changes(
        self, tenant: TenantId, version: int, *, max_wait: float, limit: int = 1000
    ) -> list[ChangeBatch]:
        batches = await self.changes_since(tenant, version, limit)
        if batches:
            return batches
        # changes_since never suspends, so no batch can slip in between it and taking the event.
        changed = self._tenant(tenant).changed
        try:
            async with asyncio.timeout(max_wait):
                await changed.wait()
        except TimeoutError:
            return []
        return await self.changes_since(tenant, version, limit)

    # --- interval history ----------------------------------------------------------------------

    async def write_intervals(self, tenant: TenantId, intervals: Sequence[IntervalValue]) -> None:
        state = self._tenant(tenant)
        checked = [(point, check_interval(point)) for point in intervals]
        for point, encoded in checked:
            key = (point.statistic, point.object_type, point.object_id)
            series = state.series.get(key)
            if series is None:
                if encoded is None:
                    continue
                series = state.series[key] = _Series()
            start = point.start_ms
            if encoded is None:
                if series.values.pop(start, _ABSENT) is not _ABSENT:
                    series.starts.pop(bisect.bisect_left(series.starts, start))
            else:
                if start not in series.values:
                    bisect.insort(series.starts, start)
                series.values[start] = decode_value(encoded)
                self._trim(series, start)
            if not series.starts:
                del state.series[key]

    def _trim(self, series: _Series, written_start: int) -> None:
        # Relative to the start just written: a late rewrite of an old interval trims nothing
        # that a newer write would keep.
        cut = bisect.bisect_left(series.starts, written_start - self._retention_ms)
        cut = max(cut, len(series.starts) - self._max_intervals)
        for start in series.starts[:cut]:
            del series.values[start]
        del series.starts[:cut]

    async def read_intervals(
        self,
        tenant: TenantId,
        statistic: str,
        object_type: str,
        object_id: str,
        start_ms: int,
        end_ms: int,
    ) -> list[IntervalValue]:
        state = self._tenant(tenant)
        check_name(statistic, "statistic")
        check_name(object_type, "object_type")
        check_object_id(object_id)
        series = state.series.get((statistic, object_type, object_id))
        if series is None:
            return []
        low = bisect.bisect_left(series.starts, start_ms)
        high = bisect.bisect_left(series.starts, end_ms)
        return [
            IntervalValue(
                statistic, object_type, object_id, start, copy.deepcopy(series.values[start])
            )
            for start in series.starts[low:high]
        ]

    # --- checkpoints ----------------------------------------------------------------------------

    async def put_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        await self.apply(tenant, (), checkpoint=checkpoint)

    async def get_checkpoint(self, tenant: TenantId, name: str) -> StoredCheckpoint | None:
        state = self._tenant(tenant)
        check_name(name, "checkpoint")
        return state.checkpoints.get(name)

    async def drop_tenant(self, tenant: TenantId) -> None:
        state = self._tenants.pop(check_tenant_id(tenant), None)
        if state is not None:
            state.changed.set()  # waiters re-read and find the version gone: ResumeGap

    async def close(self) -> None:
        self._tenants.clear()


_ABSENT = object()


def _copy_object(stats: ObjectValues) -> ObjectValues:
    # Scalars and Since are immutable; only lists and dicts need copying.
    return {
        statistic: copy.deepcopy(value) if isinstance(value, list | dict) else value
        for statistic, value in stats.items()
    }
