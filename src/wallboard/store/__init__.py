"""The value store: current statistic values, their change stream, interval history, checkpoints.

Use :func:`open_store` to get the store a Redis URL asks for (in memory when it is empty,
Redis otherwise) and ``await store.close()`` when done. The
interface is :class:`~wallboard.store.interface.ValueStore`; the value types are in
:mod:`wallboard.store.values`.
"""

from __future__ import annotations

from wallboard.core.clock import Clock
from wallboard.store.interface import ValueStore, follow_changes
from wallboard.store.memory import MemoryValueStore
from wallboard.store.values import (
    Change,
    ChangeBatch,
    Checkpoint,
    IntervalValue,
    ObjectValues,
    Since,
    Snapshot,
    StoredCheckpoint,
    TenantValues,
    Value,
    apply_changes,
    check_tenant_id,
)


async def open_store(
    redis_url: str, *, prefix: str = "wb", clock: Clock | None = None
) -> ValueStore:
    """The in-memory store if ``redis_url`` is empty, else a Redis store that answered, its
    keys under ``prefix``.

    Raises Unavailable if Redis cannot be reached, so a service fails at start-up.
    """
    if not redis_url:
        return MemoryValueStore(clock=clock)
    from wallboard.store.redis import RedisValueStore

    return await RedisValueStore.connect(redis_url, prefix=prefix, clock=clock)


__all__ = [
    "Change",
    "ChangeBatch",
    "Checkpoint",
    "IntervalValue",
    "MemoryValueStore",
    "ObjectValues",
    "Since",
    "Snapshot",
    "StoredCheckpoint",
    "TenantValues",
    "Value",
    "ValueStore",
    "apply_changes",
    "check_tenant_id",
    "follow_changes",
    "open_store",
]
