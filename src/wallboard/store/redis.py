"""The Redis value store: values, change streams, interval history and checkpoints in Redis.

Key layout (``p`` = the configured prefix, ``t`` = the tenant id)::

    p:{t}:version                 string  the tenant's current version
    p:{t}:origin                  string  the version before the tenant's first batch
    p:{t}:changes                 stream  one entry per batch, entry id "<version>-0",
                                          field "b" = {"written_ms", "changes"} (JSON)
    p:{t}:objects                 set     "<object type>:<object id>" of objects with values
    p:{t}:obj:<type>:<id>         hash    statistic id -> value (JSON)
    p:{t}:ts:<stat>:<type>:<id>   zset    score = interval start (ms), member "<start>:<JSON>"
    p:{t}:checkpoint:<name>       hash    blob, version
    p:{t}:x:<name>                any     other parts' records of the tenant (:meth:`~RedisValueStore.key`)

Every key of a tenant carries the hash tag ``{t}``, so a Redis Cluster keeps all of them in one
slot and the multi-key writes below stay legal there. Tenant ids are checked to hold no brace,
colon or whitespace (:func:`~wallboard.store.values.check_tenant_id`); object types, statistic
ids and checkpoint names hold no colon, and the object id always comes last, so no two
(statistic, object) pairs share a key.

A batch is applied by one Lua script: values, object index, version, stream entry and the
optional checkpoint change together or not at all, and concurrent writers get distinct,
gapless versions. Reads of a snapshot are not frozen (see
:class:`~wallboard.store.values.Snapshot`): the version is read before the values, so replaying
the batches after it gives the current values.

redis-py retries a command once the connection is back; a retried batch may land twice, under
two versions, which readers cannot tell from two identical batches (changes are overwrites).

Every call to Redis is bounded by ``timeout`` seconds (blocking reads by their wait plus that);
a timeout, a lost connection, a server still loading its data or a cluster without a master for
the slot raises :class:`~wallboard.core.errors.Unavailable`. The store object outlives an outage:
redis-py connects again on the next call, so a caller waits, retries the same call on the same
object, and goes on.

Redis Cluster: a URL ``redis+cluster://host:port[,host:port…]`` (``rediss+cluster://`` for TLS)
opens a :class:`redis.asyncio.cluster.RedisCluster` seeded with those nodes (see
:func:`redis_client`). Every command of the store touches one tenant's keys only, so each script,
transaction and pipeline runs on the one node that serves the tenant's slot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Sequence
from typing import Any, Final, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import msgspec
import redis.asyncio
import redis.asyncio.cluster
import redis.exceptions

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.errors import InvalidInput, ResumeGap, Unavailable
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
    check_checkpoint,
    check_interval,
    check_limit,
    check_name,
    check_object_id,
    check_tenant_id,
    decode_value,
    normalise_changes,
    revive_value,
)

T = TypeVar("T")

RedisClient: TypeAlias = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
"""What :attr:`RedisValueStore.client` is: one server's client, or a cluster's."""

CLUSTER_SCHEMES: Final = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
"""URL schemes that ask for a Redis Cluster, and the plain scheme of each node."""

# What a Redis that is away, restarting or failing over raises: the call may succeed later.
_AWAY_ERRORS: Final = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError: a restart still loading
    redis.exceptions.ClusterError,  # CLUSTERDOWN, MASTERDOWN
    redis.exceptions.TryAgainError,  # a slot being moved
    redis.exceptions.ReadOnlyError,  # a master demoted under our feet
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.RedisClusterUnreachableError,
)

_PREFIX = re.compile(r"[^\s{}*?\[\]\\]{1,64}")

# KEYS: the series (sorted sets) written; ARGV: 1 retention (ms), 2 most intervals kept, then
# triples (series number from 1, interval start, member "<start>:<value JSON>" or "" to remove).
# Each start's member replaces the one there; then each series written is trimmed relative to
# the newest start written to it (as trimming after each start would) and its expiry renewed.
_INTERVALS_SCRIPT: Final = """
local retention = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local newest = {}
for i = 3, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local start = tonumber(ARGV[i + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[k], start, start)
  if ARGV[i + 2] ~= '' then
    redis.call('ZADD', KEYS[k], start, ARGV[i + 2])
    if newest[k] == nil or start > newest[k] then
      newest[k] = start
    end
  end
end
for k, start in pairs(newest) do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. (start - retention))
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -keep - 1)
  redis.call('PEXPIRE', KEYS[k], retention)
end
return 0
"""

INTERVALS_PER_CALL: Final = 2000
"""Interval values written by one script call: Redis runs a script to its end before anything
else, so a long catch-up goes in steps (each idempotent: a crash between them writes them again)."""

# KEYS: 1 version, 2 origin, 3 changes stream, 4 object index, 5 checkpoint, 6.. object hashes
# ARGV: 1 origin, 2 stream length, 3 batch entry, 4 "1" to write the checkpoint, 5 its blob,
#       6 number of changes n, then n triples (object hash number from 1, statistic, value JSON
#       or "" to remove), then one object index member per object hash
_APPLY_SCRIPT: Final = """
local n = tonumber(ARGV[6])
local version = redis.call('GET', KEYS[1])
if n > 0 then
  if not version then
    redis.call('SET', KEYS[2], ARGV[1])
    redis.call('SET', KEYS[1], ARGV[1])
  end
  redis.call('INCR', KEYS[1])
  -- read back as a string: Lua numbers are doubles and tostring() would print 1.7e+15
  version = redis.call('GET', KEYS[1])
  for i = 0, n - 1 do
    local at = 7 + 3 * i
    local key = KEYS[5 + tonumber(ARGV[at])]
    if ARGV[at + 2] == '' then
      redis.call('HDEL', key, ARGV[at + 1])
    else
      redis.call('HSET', key, ARGV[at + 1], ARGV[at + 2])
    end
  end
  for j = 6, #KEYS do
    local member = ARGV[7 + 3 * n + (j - 6)]
    if redis.call('EXISTS', KEYS[j]) == 1 then
      redis.call('SADD', KEYS[4], member)
    else
      redis.call('SREM', KEYS[4], member)
    end
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', '=', ARGV[2], version .. '-0', 'b', ARGV[3])
end
if not version then
  version = '0'
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[5], 'blob', ARGV[5], 'version', version)
end
return version
"""


class _StoredBatch(msgspec.Struct, frozen=True):
    """A stream entry's payload; the version is the entry id."""

    written_ms: int
    changes: list[tuple[str, str, str, Any]]


_batch_encoder: Final = msgspec.json.Encoder()
_batch_decoder: Final = msgspec.json.Decoder(_StoredBatch)


def _bad_url(url: str, why: str) -> InvalidInput:
    # The URL may hold a password: name the problem, not the URL.
    scheme = url.partition("://")[0]
    return InvalidInput(f"the Redis URL ({scheme}://…) {why}", field="redis_url")


def _cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]]:
    """``redis+cluster://[user:password@]host:port[,host:port…][/0][?options]`` as the plain URL
    of the first node (with the credentials and options, which every node gets) and the
    ``(host, port)`` of every node: any one that answers is enough to find the cluster."""
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    seeds = [seed.strip() for seed in hosts.split(",")]
    if not all(seeds):
        raise _bad_url(url, "needs host:port of at least one cluster node, comma-separated")
    if parts.path not in ("", "/", "/0"):
        raise _bad_url(url, "names a database, but a Redis Cluster has only database 0")
    scheme = CLUSTER_SCHEMES[parts.scheme.lower()]
    nodes = []
    for seed in seeds:
        try:
            node = urlsplit(f"{scheme}://{seed}")
            host, port = node.hostname, node.port
        except ValueError as exc:
            raise _bad_url(url, f"has a cluster node that is not host:port ({exc})") from None
        if not host or port is None:
            raise _bad_url(url, "needs host:port for every cluster node (a port is required)")
        nodes.append((host, port))
    netloc = f"{credentials}@{seeds[0]}" if credentials else seeds[0]
    return urlunsplit((scheme, netloc, "/0", parts.query, "")), nodes


def check_redis_url(url: str) -> str:
    """``url`` if the store can use it, else InvalidInput naming what is wrong (never the URL,
    which may hold a password). No I/O: whether Redis answers is :meth:`RedisValueStore.connect`'s
    business."""
    if not isinstance(url, str) or "://" not in url:
        raise InvalidInput(
            "the Redis URL must look like redis://host:6379/0 or redis+cluster://host:7000",
            field="redis_url",
        )
    scheme = url.partition("://")[0].lower()
    if scheme in CLUSTER_SCHEMES:
        _cluster_seeds(url)
    elif scheme not in ("redis", "rediss", "unix"):
        raise _bad_url(
            url,
            "must start with redis://, rediss://, unix://, redis+cluster:// or rediss+cluster://",
        )
    else:
        try:
            urlsplit(url).port  # noqa: B018 - parsing it is the check
        except ValueError as exc:
            raise _bad_url(url, f"has no valid port ({exc})") from None
    return url


def redis_client(url: str, *, timeout: float = 5.0) -> RedisClient:
    """The redis-py asyncio client a URL asks for: a cluster for ``redis+cluster://`` and
    ``rediss+cluster://``, else one server (``redis://``, ``rediss://``, ``unix://``).

    Replies are bytes. There is no socket read timeout: a blocking XREAD waits longer than a
    normal call may, so callers bound each call themselves (``RedisValueStore`` does, with
    ``asyncio.timeout``). Connecting is bounded by ``timeout``. Raises InvalidInput for a URL
    it cannot use (:func:`check_redis_url`).
    """
    check_redis_url(url)
    if url.partition("://")[0].lower() in CLUSTER_SCHEMES:
        first, nodes = _cluster_seeds(url)
        return redis.asyncio.cluster.RedisCluster.from_url(
            first,
            startup_nodes=[redis.asyncio.cluster.ClusterNode(h, p) for h, p in nodes[1:]],
            socket_connect_timeout=timeout,
            socket_timeout=None,
            decode_responses=False,
        )
    try:
        return redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=None, decode_responses=False
        )
    except ValueError as exc:
        raise _bad_url(url, f"cannot be used: {exc}") from None


def check_prefix(prefix: str) -> str:
    """A key prefix: 1 to 64 characters, no whitespace, braces or glob characters."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise InvalidInput(
            "the Redis key prefix must be 1 to 64 characters without whitespace or { } * ? [ ] \\",
            field="redis_prefix",
            value=prefix,
        )
    return prefix


class TenantKeys:
    """The Redis keys of one tenant (see the module docstring for the layout)."""

    def __init__(self, prefix: str, tenant: TenantId) -> None:
        self.base = f"{prefix}:{{{tenant}}}:"
        self.version = self.base + "version"
        self.origin = self.base + "origin"
        self.changes = self.base + "changes"
        self.objects = self.base + "objects"

    def object(self, member: str) -> str:
        """The hash of one object, from its index member ``<type>:<id>``."""
        return f"{self.base}obj:{member}"

    def series(self, statistic: str, object_type: str, object_id: str) -> str:
        return f"{self.base}ts:{statistic}:{object_type}:{object_id}"

    def checkpoint(self, name: str) -> str:
        return f"{self.base}checkpoint:{name}"


def _as_bytes(value: object) -> bytes:
    """A reply item as bytes: the client is built with ``decode_responses=False``."""
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes from Redis, got {type(value).__name__}")
    return value


def _decode_hash(raw: object) -> ObjectValues:
    """An object's hash as values; ``raw`` is what HGETALL returned."""
    if not isinstance(raw, dict):
        raise TypeError(f"expected a hash from Redis, got {type(raw).__name__}")
    return {
        _as_bytes(field).decode(): decode_value(_as_bytes(value)) for field, value in raw.items()
    }


def _decode_entries(entries: object) -> list[ChangeBatch]:
    """Stream entries (XRANGE, or one stream of an XREAD reply) as batches."""
    if not isinstance(entries, list):
        raise TypeError(f"expected stream entries from Redis, got {type(entries).__name__}")
    return [_batch_of(_as_bytes(entry_id), fields) for entry_id, fields in entries]


def _int_or_zero(raw: object) -> int:
    return 0 if raw is None else int(_as_bytes(raw))


def _version_of(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def _batch_of(entry_id: bytes, fields: dict[bytes, bytes]) -> ChangeBatch:
    stored = _batch_decoder.decode(_as_bytes(fields[b"b"]))
    changes = tuple(
        Change(object_type, object_id, statistic, revive_value(value))
        for object_type, object_id, statistic, value in stored.changes
    )
    return ChangeBatch(_version_of(entry_id), stored.written_ms, changes)


class RedisValueStore:
    """A :class:`~wallboard.store.interface.ValueStore` in Redis: one server, or a Redis Cluster
    for a ``redis+cluster://`` URL."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "wb",
        clock: Clock | None = None,
        timeout: float = 5.0,
        max_batches: int = 10_000,
        interval_retention_ms: int = 8 * 24 * 3600 * 1000,
        max_intervals: int = 10_000,
    ) -> None:
        """Build the client; no I/O happens until the first call (see :meth:`connect`).

        ``max_batches``: change-stream length per tenant. ``interval_retention_ms`` and
        ``max_intervals`` bound each interval series; a series not written for
        ``interval_retention_ms`` of wall time expires.
        """
        if not timeout > 0:
            raise InvalidInput("timeout must be above 0 seconds", field="timeout", value=timeout)
        self._prefix = check_prefix(prefix)
        self._clock = clock or SystemClock()
        self._timeout = timeout
        self._max_batches = check_limit(max_batches)
        self._retention_ms = check_limit(interval_retention_ms)
        self._max_intervals = check_limit(max_intervals)
        # No socket timeout: blocking XREAD waits longer than a normal call may, so every call
        # is bounded with asyncio.timeout instead (see _call).
        # Any: the two clients share the commands used here but not their declared types.
        self._redis: Any = redis_client(url, timeout=timeout)
        self._apply_script = self._redis.register_script(_APPLY_SCRIPT)
        self._intervals_script = self._redis.register_script(_INTERVALS_SCRIPT)

    @property
    def client(self) -> RedisClient:
        """The redis-py client the store uses, for other small records in the same Redis (a
        collector's lease, for instance): ``redis.asyncio.Redis``, or ``RedisCluster`` for a
        cluster URL. Replies are bytes; calls are not bounded by a socket timeout, so bound
        them (``asyncio.timeout``). On a cluster a command or script must keep to keys of one
        slot: keys of one tenant share the hash tag ``{tenant}`` (see :meth:`key`). The store
        owns the client: do not close it.
        """
        return cast(RedisClient, self._redis)

    def key(self, tenant: TenantId, name: str) -> str:
        """A key of the tenant's own, beside the store's: ``<prefix>:{<tenant>}:x:<name>``, in the
        tenant's cluster slot and under the prefix (so :meth:`drop_tenant` removes it too).
        ``name`` holds no braces, so the slot stays the tenant's."""
        if not isinstance(name, str) or not _PREFIX.fullmatch(name):
            raise InvalidInput(
                "a key name is 1 to 64 characters without whitespace or { } * ? [ ] \\",
                field="name",
                value=name,
            )
        return f"{self._keys(tenant).base}x:{name}"

    @classmethod
    async def connect(cls, url: str, **options: Any) -> RedisValueStore:
        """Build a store and check that Redis answers, so a bad URL fails at start-up."""
        store = cls(url, **options)
        try:
            await store._call("PING", store._redis.ping())
        except Unavailable:
            await store.close()
            raise
        return store

    async def _call(self, what: str, awaitable: Awaitable[T], seconds: float | None = None) -> T:
        limit = self._timeout if seconds is None else seconds
        try:
            async with asyncio.timeout(limit):
                return await awaitable
        except (TimeoutError, redis.exceptions.TimeoutError) as exc:
            raise Unavailable(
                f"Redis did not answer {what} within {limit:g} s", operation=what
            ) from exc
        except _AWAY_ERRORS as exc:
            raise Unavailable(
                f"Redis cannot serve {what}: {exc or type(exc).__name__}", operation=what
            ) from exc

    def _keys(self, tenant: TenantId) -> TenantKeys:
        return TenantKeys(self._prefix, check_tenant_id(tenant))

    # --- current values and change stream ----------------------------------------------------

    async def apply(
        self,
        tenant: TenantId,
        changes: Sequence[Change],
        *,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        keys = self._keys(tenant)
        checked = normalise_changes(changes)
        if checkpoint is not None:
            check_checkpoint(checkpoint)
        object_numbers: dict[str, int] = {}
        triples: list[bytes | str | int] = []
        for change, encoded in checked:
            member = f"{change.object_type}:{change.object_id}"
            number = object_numbers.setdefault(member, len(object_numbers) + 1)
            triples += [number, change.statistic, b"" if encoded is None else encoded]
        now_ms = self._clock.now_ms()
        entry = _batch_encoder.encode(
            _StoredBatch(
                now_ms,
                [(c.object_type, c.object_id, c.statistic, c.value) for c, _ in checked],
            )
        )
        script_keys = [
            keys.version,
            keys.origin,
            keys.changes,
            keys.objects,
            keys.checkpoint(checkpoint.name) if checkpoint is not None else keys.base + "none",
            *(keys.object(member) for member in object_numbers),
        ]
        script_args: list[bytes | str | int] = [
            now_ms * VERSION_ORIGIN_FACTOR,
            self._max_batches,
            entry,
            1 if checkpoint is not None else 0,
            checkpoint.blob if checkpoint is not None else b"",
            len(checked),
            *triples,
            *object_numbers,
        ]
        version = await self._call("apply", self._apply_script(keys=script_keys, args=script_args))
        return int(version)

    async def get_object(self, tenant: TenantId, object_type: str, object_id: str) -> ObjectValues:
        keys = self._keys(tenant)
        check_name(object_type, "object_type")
        check_object_id(object_id)
        raw = await self._call(
            "HGETALL", self._redis.hgetall(keys.object(f"{object_type}:{object_id}"))
        )
        return _decode_hash(raw)

    async def snapshot(self, tenant: TenantId) -> Snapshot:
        keys = self._keys(tenant)
        # The version first, in one step with the object list: every value read afterwards is
        # at least that new, which is what replaying later batches needs.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.version)
            pipe.smembers(keys.objects)
            raw_version, members = await self._call("snapshot", pipe.execute())
        version = _int_or_zero(raw_version)
        values: TenantValues = {}
        ordered = sorted(_as_bytes(member).decode() for member in members)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            async with self._redis.pipeline(transaction=False) as pipe:
                for member in chunk:
                    pipe.hgetall(keys.object(member))
                hashes = await self._call("snapshot", pipe.execute())
            for member, raw in zip(chunk, hashes, strict=True):
                if not raw:
                    continue  # emptied by a batch after our version; replay removes it too
                object_type, object_id = member.split(":", 1)
                values.setdefault(object_type, {})[object_id] = _decode_hash(raw)
        return Snapshot(version, values)

    async def current_version(self, tenant: TenantId) -> int:
        keys = self._keys(tenant)
        return _int_or_zero(await self._call("GET", self._redis.get(keys.version)))

    async def changes_since(
        self, tenant: TenantId, version: int, limit: int = 1000
    ) -> list[ChangeBatch]:
        keys = self._keys(tenant)
        check_limit(limit)
        if not isinstance(version, int) or version < 0:
            raise InvalidInput("a version is 0 or more", field="version", value=version)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.version)
            pipe.get(keys.origin)
            pipe.xrange(keys.changes, min=f"({version}-0" if version else "-", count=limit)
            raw_current, raw_origin, entries = await self._call("XRANGE", pipe.execute())
        current = _int_or_zero(raw_current)
        if version == current:
            return []
        origin = _int_or_zero(raw_origin)
        batches = _decode_entries(entries)
        self._check_follows(tenant, version, origin, current, batches)
        return batches

    def _check_follows(
        self,
        tenant: TenantId,
        version: int,
        origin: int,
        current: int,
        batches: list[ChangeBatch],
    ) -> None:
        """Raise ResumeGap unless ``batches`` start right after ``version``.

        Versions are gapless, so any other first version means the batches between were
        trimmed, or ``version`` belongs to data this Redis no longer has.
        """
        expected = (version or origin) + 1
        if version > current or not batches or batches[0].version != expected:
            raise ResumeGap(
                f"changes after version {version} of tenant {tenant} are no longer kept; "
                "take a fresh snapshot",
                tenant=tenant,
                version=version,
                oldest=batches[0].version if batches else None,
                current=current,
            )

    async def wait_for_changes(
        self, tenant: TenantId, version: int, *, max_wait: float, limit: int = 1000
    ) -> list[ChangeBatch]:
        batches = await self.changes_since(tenant, version, limit)
        if batches:
            return batches
        keys = self._keys(tenant)
        # changes_since returned nothing: ``version`` is the current one. XREAD returns the
        # entries after it, including one written since that call.
        block_ms = max(1, round(max_wait * 1000))
        reply = await self._call(
            "XREAD",
            self._redis.xread({keys.changes: f"{version}-0"}, count=limit, block=block_ms),
            seconds=max_wait + self._timeout,
        )
        if not reply:
            return []
        # One stream asked, so one [name, entries] pair (RESP2 reply shape).
        _, entries = cast(list[Any], reply)[0]
        batches = _decode_entries(entries)
        origin = 0
        if version == 0:
            origin = _int_or_zero(await self._call("GET", self._redis.get(keys.origin)))
        self._check_follows(tenant, version, origin, batches[-1].version, batches)
        return batches

    # --- interval history ----------------------------------------------------------------------

    async def write_intervals(self, tenant: TenantId, intervals: Sequence[IntervalValue]) -> None:
        keys = self._keys(tenant)
        checked = [(point, check_interval(point)) for point in intervals]
        if not checked:
            return
        for first in range(0, len(checked), INTERVALS_PER_CALL):
            series: dict[str, int] = {}
            args: list[bytes | int] = [self._retention_ms, self._max_intervals]
            for point, encoded in checked[first : first + INTERVALS_PER_CALL]:
                key = keys.series(point.statistic, point.object_type, point.object_id)
                number = series.setdefault(key, len(series) + 1)
                start = point.start_ms
                args += (number, start, b"" if encoded is None else f"{start}:".encode() + encoded)
            await self._call(
                "write intervals", self._intervals_script(keys=list(series), args=args)
            )

    async def read_intervals(
        self,
        tenant: TenantId,
        statistic: str,
        object_type: str,
        object_id: str,
        start_ms: int,
        end_ms: int,
    ) -> list[IntervalValue]:
        keys = self._keys(tenant)
        check_name(statistic, "statistic")
        check_name(object_type, "object_type")
        check_object_id(object_id)
        if end_ms <= start_ms:
            return []
        members = await self._call(
            "ZRANGE",
            self._redis.zrange(
                keys.series(statistic, object_type, object_id),
                start_ms,
                f"({end_ms}",
                byscore=True,
            ),
        )
        points = []
        for member in members:
            start, encoded = _as_bytes(member).split(b":", 1)
            points.append(
                IntervalValue(statistic, object_type, object_id, int(start), decode_value(encoded))
            )
        return points

    # --- checkpoints ----------------------------------------------------------------------------

    async def put_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        await self.apply(tenant, (), checkpoint=checkpoint)

    async def get_checkpoint(self, tenant: TenantId, name: str) -> StoredCheckpoint | None:
        keys = self._keys(tenant)
        check_name(name, "checkpoint")
        blob, version = await self._call(
            "HMGET", self._redis.hmget(keys.checkpoint(name), ["blob", "version"])
        )
        if blob is None:
            return None
        return StoredCheckpoint(_as_bytes(blob), _int_or_zero(version))

    async def drop_tenant(self, tenant: TenantId) -> None:
        keys = self._keys(tenant)
        # Rare (tenant teardown), so a SCAN over the prefix is acceptable.
        found = await self._call("SCAN", self._scan(keys.base + "*"), seconds=self._timeout * 10)
        for start in range(0, len(found), 500):
            await self._call("UNLINK", self._redis.unlink(*found[start : start + 500]))

    async def _scan(self, pattern: str) -> list[bytes]:
        return [key async for key in self._redis.scan_iter(match=pattern, count=1000)]

    async def close(self) -> None:
        await self._redis.aclose()
