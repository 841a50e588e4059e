"""The value store: current statistic values, their change stream, interval history, checkpoints.

Use :func:`open_store` to get the store the settings ask for (in memory when
``WALLBOARD_REDIS_URL`` is empty, Redis otherwise) and ``await store.close()`` when done. The
interface is :class:`~wallboard.store.interface.ValueStore`; the value types are in
:mod:`wallboard.store.values`.
"""

from __future__ import annotations

from wallboard.core.clock import Clock
from wallboard.settings import Settings
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


async def open_store(settings: Settings, *, clock: Clock | None = None) -> ValueStore:
    """The in-memory store if ``settings.redis_url`` is empty, else a Redis store that answered.

    Raises Unavailable if Redis cannot be reached, so a service fails at start-up.
    """
    if not settings.redis_url:
        return MemoryValueStore(clock=clock)
    from wallboard.store.redis import RedisValueStore

    return await RedisValueStore.connect(
        settings.redis_url, prefix=settings.redis_prefix, clock=clock
    )


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
