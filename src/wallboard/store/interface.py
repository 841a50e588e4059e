"""The value store port: current values, a versioned change stream, interval history, checkpoints.

Writers (the collector) call :meth:`ValueStore.apply` with a batch of changes — optionally with
a checkpoint of the state that produced them, written in the same atomic step — and
:meth:`ValueStore.write_intervals` when intervals close. Readers (the web tier) take a
:meth:`ValueStore.snapshot`, then follow with :meth:`ValueStore.wait_for_changes` from the
snapshot's version; a :class:`~wallboard.core.errors.ResumeGap` means the batches they need have
been trimmed (or the store was wiped) and they must take a fresh snapshot.

Versions: every applied batch with at least one change gets the tenant's next version; versions
of a tenant are gapless and increase. Version 0 means "nothing yet". The first version of a
tenant is not 1 but its origin (the store clock in ms * 1000) + 1, so a store that lost its data
(Redis restarted without persistence, a new embedded process) never reuses a version a reader
already holds: such a reader gets ResumeGap instead of silently wrong values.

Everything is scoped by tenant; tenant ids are checked by :func:`check_tenant_id`. Invalid input
raises :class:`~wallboard.core.errors.InvalidInput` before anything is written; an unreachable
backend raises :class:`~wallboard.core.errors.Unavailable`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from wallboard.core.ids import TenantId
from wallboard.store.values import (
    Change,
    ChangeBatch,
    Checkpoint,
    IntervalValue,
    ObjectValues,
    Snapshot,
    StoredCheckpoint,
)

VERSION_ORIGIN_FACTOR = 1000
"""A tenant's first version is ``clock ms * VERSION_ORIGIN_FACTOR + 1``.

Versions stay below 2**53 (exact in JavaScript numbers) until the year 2255.
"""


class ValueStore(Protocol):
    """Where statistic values live between the collector and the web tier."""

    async def apply(
        self,
        tenant: TenantId,
        changes: Sequence[Change],
        *,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        """Apply changes in order as one batch, atomically with ``checkpoint`` if given.

        Returns the tenant's version after the batch. No changes make no batch and keep the
        version (the checkpoint, if any, is still written, at the current version).

        Safe to retry after Unavailable (the batch may or may not have landed): applying the
        same batch twice leaves the same values and checkpoint; it only costs a version.
        """
        ...

    async def get_object(self, tenant: TenantId, object_type: str, object_id: str) -> ObjectValues:
        """The current values of one object (empty if it has none)."""
        ...

    async def snapshot(self, tenant: TenantId) -> Snapshot:
        """All current values of the tenant with the version to follow changes from."""
        ...

    async def current_version(self, tenant: TenantId) -> int:
        """The tenant's version: that of its last batch, 0 if it has none."""
        ...

    async def changes_since(
        self, tenant: TenantId, version: int, limit: int = 1000
    ) -> list[ChangeBatch]:
        """Up to ``limit`` batches after ``version``, oldest first; [] if there are none yet.

        Raises ResumeGap if a batch after ``version`` has been trimmed, or if ``version`` is not
        one this store has given out.
        """
        ...

    async def wait_for_changes(
        self, tenant: TenantId, version: int, *, max_wait: float, limit: int = 1000
    ) -> list[ChangeBatch]:
        """Like :meth:`changes_since`, but waits up to ``max_wait`` seconds for a batch to come."""
        ...

    async def write_intervals(self, tenant: TenantId, intervals: Sequence[IntervalValue]) -> None:
        """Store (or overwrite, or with ``value=None`` remove) interval values.

        Each series (statistic, object) keeps the intervals starting within the retention
        window before its newest start, and at most a bounded number of them.
        """
        ...

    async def read_intervals(
        self,
        tenant: TenantId,
        statistic: str,
        object_type: str,
        object_id: str,
        start_ms: int,
        end_ms: int,
    ) -> list[IntervalValue]:
        """The series' intervals starting in ``[start_ms, end_ms)``, oldest first."""
        ...

    async def put_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        """Keep a checkpoint on its own, at the current version."""
        ...

    async def get_checkpoint(self, tenant: TenantId, name: str) -> StoredCheckpoint | None:
        """The checkpoint last kept under ``name``, or None."""
        ...

    async def drop_tenant(self, tenant: TenantId) -> None:
        """Remove everything the store holds for the tenant (tenant teardown)."""
        ...

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


async def follow_changes(
    store: ValueStore,
    tenant: TenantId,
    version: int,
    *,
    poll_timeout: float = 5.0,
    limit: int = 1000,
) -> AsyncIterator[ChangeBatch]:
    """Yield every batch after ``version`` as it comes, forever (until ResumeGap or cancel).

    A web process runs one follower per tenant and fans the batches out to its clients; it
    does not open one per browser, since each waiting follower holds a Redis connection.
    """
    while True:
        batches = await store.wait_for_changes(tenant, version, max_wait=poll_timeout, limit=limit)
        for batch in batches:
            yield batch
            version = batch.version
