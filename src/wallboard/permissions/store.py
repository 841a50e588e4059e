"""Where the computed visible sets live: Redis beside the values (several web processes and
permissions replicas share it), or this process's memory (the embedded default, the demo).

Redis keys, under the value store's prefix ``p`` and the tenant's hash tag (so a Redis Cluster
keeps them in the tenant's slot, and the script below touches one slot)::

    p:{t}:x:permissions           hash    user -> visible objects (JSON: null = every object,
                                          else [[type, name], …] sorted)
    p:{t}:x:permissions-version   string  the tenant change number the hash was computed at

A write replaces a tenant's whole hash and its version in one Lua script, and only when its
version is above the stored one: replicas that compute the same tenant at the same time, or
one that was slow and computed an older state, cannot move the result backwards, and a reader
sees one computation whole, never a mix. Writes are idempotent (the same version twice writes
once). A user missing from the hash is listed by no access group: they see nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, Final, Protocol, TypeVar

import msgspec
import redis.exceptions

from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.permissions.grants import Visible
from wallboard.store.redis import RedisValueStore
from wallboard.store.values import check_tenant_id

T = TypeVar("T")

USERS_KEY: Final = "permissions"
VERSION_KEY: Final = "permissions-version"

# KEYS: 1 the users hash, 2 the version. ARGV: 1 the version, then user, entry pairs.
_WRITE_SCRIPT: Final = """
local current = redis.call('GET', KEYS[2])
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[tuple[str, str]] | None)


def encode_visible(visible: Visible) -> bytes:
    """A user's entry as stored (sorted, so equal sets store equal bytes)."""
    return _encoder.encode(None if visible is None else sorted(visible))


def decode_visible(raw: bytes) -> Visible:
    pairs = _decoder.decode(raw)
    return None if pairs is None else frozenset(pairs)


class PermissionsStore(Protocol):
    """The computed visible sets of each tenant, with the change number they were computed at."""

    async def write(self, tenant: TenantId, version: int, users: Mapping[str, Visible]) -> bool:
        """Replace the tenant's sets by ``users`` computed at ``version``; False (nothing
        written) when the stored version is already at or above it."""
        ...

    async def version(self, tenant: TenantId) -> int | None:
        """The stored version; None: never computed."""
        ...

    async def read(self, tenant: TenantId, user: str) -> tuple[int, Visible] | None:
        """The stored version and the user's visible objects (empty: listed by no access
        group); None when the tenant was never computed."""
        ...

    async def close(self) -> None: ...


class MemoryPermissionsStore:
    """The sets in this process's memory (one process: the demo, ``wallboard run``, tests)."""

    def __init__(self) -> None:
        self._tenants: dict[TenantId, tuple[int, dict[str, Visible]]] = {}

    async def write(self, tenant: TenantId, version: int, users: Mapping[str, Visible]) -> bool:
        check_tenant_id(tenant)
        stored = self._tenants.get(tenant)
        if stored is not None and stored[0] >= version:
            return False
        self._tenants[tenant] = (version, dict(users))
        return True

    async def version(self, tenant: TenantId) -> int | None:
        stored = self._tenants.get(tenant)
        return None if stored is None else stored[0]

    async def read(self, tenant: TenantId, user: str) -> tuple[int, Visible] | None:
        stored = self._tenants.get(tenant)
        if stored is None:
            return None
        version, users = stored
        return version, users.get(user, frozenset())

    async def close(self) -> None:
        return None


class RedisPermissionsStore:
    """The sets in the value store's Redis (one server or a cluster), keys as the module
    docstring lays out. Every call is bounded by ``timeout``; Redis away raises Unavailable."""

    def __init__(self, values: RedisValueStore, *, timeout: float = 5.0) -> None:
        """``values`` owns the connection (and closes it); this only adds keys beside it."""
        self._values = values
        self._redis: Any = values.client
        self._timeout = timeout
        self._write_script = self._redis.register_script(_WRITE_SCRIPT)

    def _keys(self, tenant: TenantId) -> tuple[str, str]:
        return self._values.key(tenant, USERS_KEY), self._values.key(tenant, VERSION_KEY)

    async def _call(self, what: str, awaitable: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await awaitable
        except (TimeoutError, redis.exceptions.TimeoutError) as exc:
            raise Unavailable(f"Redis did not answer {what} of the permissions in time") from exc
        except (redis.exceptions.ConnectionError, redis.exceptions.ClusterError) as exc:
            raise Unavailable(f"Redis cannot serve {what} of the permissions: {exc}") from exc

    async def write(self, tenant: TenantId, version: int, users: Mapping[str, Visible]) -> bool:
        users_key, version_key = self._keys(tenant)
        args: list[bytes | str | int] = [version]
        for user, visible in users.items():
            args += [user, encode_visible(visible)]
        written = await self._call(
            "write", self._write_script(keys=[users_key, version_key], args=args)
        )
        return bool(written)

    async def version(self, tenant: TenantId) -> int | None:
        raw = await self._call("GET", self._redis.get(self._keys(tenant)[1]))
        return None if raw is None else int(raw)

    async def read(self, tenant: TenantId, user: str) -> tuple[int, Visible] | None:
        users_key, version_key = self._keys(tenant)
        # One transaction: the version and the entry of the same computation.
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(version_key)
        pipe.hget(users_key, user)
        version, entry = await self._call("read", pipe.execute())
        if version is None:
            return None
        return int(version), frozenset() if entry is None else decode_visible(entry)

    async def close(self) -> None:
        return None  # the value store owns the client
