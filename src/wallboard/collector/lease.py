"""Collector membership: which process computes an ordinal's tenants, under a lease in Redis.

Tenants are split among ``replicas`` ordinals (:func:`~wallboard.collector.service.shard`). A
process computes an ordinal only while it holds that ordinal's lease, a Redis key::

    <prefix>:{~collector-<k>}:lease   string  holder id, expires after the lease time (PX)
    <prefix>:{~collector-<k>}:claim   string  a member waiting for its own lease back

Both live in the slot of the ordinal's own state record (reserved tenant ``~collector-<k>``),
and every command touches one key (a script that sets it with ``PX`` where it is free, check-and-
``PEXPIRE`` to renew, check-and-``DEL`` to give back), so a Redis Cluster serves them as well.

Why two writers never overlap: the holder renews every quarter of the lease time and counts its
lease valid until the moment it *sent* its last successful renewal plus the lease time (Redis
starts the expiry later, when it receives the command; only durations are compared, never two
machines' clocks). Its collector writes through :class:`LeasedStore`, which refuses any write
once less than a quarter of the lease time is left, unless a renewal sent then confirms the key
is still its own; when renewals keep failing the collector is aborted at that moment, writing
nothing more. So the last write of a holder is sent at least a quarter of the lease time before
another process can take the key: in-flight writes land first unless the network holds one back
longer than that (seconds, with the default). A holder whose renewals came late (its event loop
busy with a large flush or checkpoint) keeps the lease if the key is still its own when it
renews; a process that was paused (stopped, swapped out, its machine suspended) past its lease
finds the key gone or another's, and its writes refused, on waking.

A member (ordinal ``k``) waits for lease ``k``; a standby contends for every ordinal and runs
the first it gets, restoring that ordinal's state record and tenants' checkpoints as a
restarted member would. A member that finds its lease held (by a standby that took over)
leaves a claim; the standby sees it at its next renewal, stops cleanly (last values and
checkpoints written), gives the lease back and stands by again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.exceptions
from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.collector.service import RESERVED_PREFIX, Collector
from wallboard.core.errors import Conflict, InvalidInput, Unavailable
from wallboard.core.ids import TenantId
from wallboard.ops.metrics import counter, gauge
from wallboard.store.interface import ValueStore
from wallboard.store.redis import RedisClient
from wallboard.store.values import Change, Checkpoint, IntervalValue

log = logging.getLogger(__name__)

T = TypeVar("T")

# KEYS: 1 the lease; ARGV: 1 holder, 2 lease time (ms). 1 when taken (or still ours: a holder
# that could not confirm a renewal in time takes its own lease back at once), 0 when another's.
_ACQUIRE: str = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if holder then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# KEYS: 1 the lease; ARGV: 1 holder, 2 lease time (ms). 1 when renewed, 0 when not ours.
_RENEW: str = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: 1 the lease; ARGV: 1 holder. 1 when deleted, 0 when not ours.
_RELEASE: str = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


_BOOTTIME: int = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


def lease_clock() -> float:
    """Seconds on a clock that keeps counting while the machine is suspended (Linux
    ``CLOCK_BOOTTIME``), unlike ``time.monotonic``: Redis goes on expiring the lease meanwhile,
    and a holder waking from a suspended VM must see that its time is up."""
    return time.clock_gettime(_BOOTTIME)


class LeaseLost(Conflict):
    """The lease is no longer (certainly) held: nothing more may be written under it."""


def holder_id() -> str:
    """This process's identity as a lease holder: host, pid and a random part (a pid is reused
    across restarts of a container)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_key(prefix: str, ordinal: int) -> str:
    return f"{prefix}:{{{RESERVED_PREFIX}{ordinal}}}:lease"


def claim_key(prefix: str, ordinal: int) -> str:
    return f"{prefix}:{{{RESERVED_PREFIX}{ordinal}}}:claim"


@dataclasses.dataclass(frozen=True)
class LeaseSettings:
    """The lease time, and the intervals derived from it (see the module docstring)."""

    ttl_s: float = 10.0

    def check(self) -> None:
        if not 0.25 < self.ttl_s <= 3600:
            raise InvalidInput(f"lease time {self.ttl_s:g} s: must be above 0.25 and at most 3600")

    @property
    def renew_s(self) -> float:
        """A holder renews this often."""
        return self.ttl_s / 4

    @property
    def margin_s(self) -> float:
        """A holder stops writing this long before its lease could expire."""
        return self.ttl_s / 4

    @property
    def call_s(self) -> float:
        """A lease command unanswered this long has failed (and is tried again): a holder gets
        about three tries before it must stop."""
        return self.ttl_s / 8

    @property
    def poll_s(self) -> float:
        """A process waiting for a lease asks again this often."""
        return self.ttl_s / 10

    @property
    def takeover_s(self) -> float:
        """The longest a failed holder's ordinal waits for another process to take its lease;
        the new holder then restores the checkpoints before it reads on."""
        return self.ttl_s + self.poll_s


class Lease:
    """One lease key taken by one holder. ``valid_until`` (:func:`lease_clock` seconds) is the latest
    moment the holder can be sure the key is still its own; 0 when it is not held."""

    def __init__(
        self,
        client: RedisClient,
        key: str,
        holder: str,
        ttl_s: float,
        *,
        call_s: float | None = None,
        clock: Callable[[], float] = lease_clock,
    ) -> None:
        self.client = client
        self.key = key
        self.holder = holder
        self.ttl_s = ttl_s
        self.call_s = call_s or ttl_s / 8
        self.valid_until = 0.0
        self._clock = clock

    @property
    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl_s * 1000))

    async def _call(self, what: str, awaitable: Awaitable[T]) -> T:
        """Bounded (``call_s``): a late answer is no use to a holder, another try may be."""
        try:
            async with asyncio.timeout(self.call_s):
                return await awaitable
        except (TimeoutError, redis.exceptions.TimeoutError) as exc:
            raise Unavailable(f"Redis did not answer {what} of {self.key} in time") from exc
        except redis.exceptions.ConnectionError as exc:
            raise Unavailable(f"Redis cannot be reached for {what} of {self.key}: {exc}") from exc

    async def acquire(self) -> bool:
        """Take the lease if no one else holds it."""
        sent = self._clock()
        taken = await self._call(
            "acquisition", self.client.eval(_ACQUIRE, 1, self.key, self.holder, self._ttl_ms)
        )
        if taken:
            self.valid_until = sent + self.ttl_s
        return bool(taken)

    async def put(self) -> None:
        """Set the key to this holder whoever had it (a claim, not a lease)."""
        await self._call("SET", self.client.set(self.key, self.holder, px=self._ttl_ms))

    async def renew(self) -> bool:
        """Extend the lease by its whole time if it is still ours; False (and no longer valid)
        when it expired or another holder has it."""
        sent = self._clock()
        renewed = await self._call(
            "renewal", self.client.eval(_RENEW, 1, self.key, self.holder, self._ttl_ms)
        )
        self.valid_until = sent + self.ttl_s if renewed else 0.0
        return bool(renewed)

    async def release(self) -> None:
        """Give the lease back at once (if it is still ours), so another may take it."""
        self.valid_until = 0.0
        await self._call("release", self.client.eval(_RELEASE, 1, self.key, self.holder))

    async def current_holder(self) -> str | None:
        raw = await self._call("GET", self.client.get(self.key))
        return raw.decode() if isinstance(raw, bytes) else raw

    def left_s(self) -> float:
        """Seconds the lease is certainly still ours (negative once that is past)."""
        return self.valid_until - self._clock()


class LeasedStore:
    """The value store as a lease holder's collector sees it: every write is refused with
    :class:`LeaseLost` once less than ``margin_s`` of the lease is left; reads pass through.

    Every method of :class:`~wallboard.store.interface.ValueStore` that writes must be
    overridden here (a test holds the list of the ones that only read)."""

    def __init__(self, store: ValueStore, lease: Lease, margin_s: float) -> None:
        self._store = store
        self._lease = lease
        self._margin_s = margin_s

    async def _check(self) -> None:
        """Let a write through while the lease is certainly held. A holder whose renewals were
        late (its event loop busy, the process paused) renews first: that succeeds only while
        the key is still its own, so no one else can have written meanwhile."""
        if self._lease.left_s() > self._margin_s:
            return
        try:
            renewed = await self._lease.renew()
        except Unavailable:
            renewed = False
        if not renewed or self._lease.left_s() <= self._margin_s:
            raise LeaseLost(f"lease {self._lease.key} is not certainly held: write refused")

    async def apply(
        self,
        tenant: TenantId,
        changes: Sequence[Change],
        *,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        await self._check()
        return await self._store.apply(tenant, changes, checkpoint=checkpoint)

    async def write_intervals(self, tenant: TenantId, intervals: Sequence[IntervalValue]) -> None:
        await self._check()
        await self._store.write_intervals(tenant, intervals)

    async def put_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        await self._check()
        await self._store.put_checkpoint(tenant, checkpoint)

    async def drop_tenant(self, tenant: TenantId) -> None:
        await self._check()
        await self._store.drop_tenant(tenant)

    async def close(self) -> None:
        """The holder's store outlives its collectors: closed by its owner, not here."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class MembershipMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.held = gauge(
            "collector",
            "lease_held",
            "1 while this process holds the lease of the ordinal.",
            labels=("ordinal",),
            registry=registry,
        )
        self.takeovers = counter(
            "collector",
            "takeovers",
            "Ordinals a standby took over from a failed or stopped member.",
            registry=registry,
        )
        self.lost = counter(
            "collector",
            "leases_lost",
            "Leases that could not be renewed in time; the collector was aborted.",
            registry=registry,
        )
        self.handbacks = counter(
            "collector",
            "handbacks",
            "Ordinals a standby gave back to their restarted member.",
            registry=registry,
        )


MakeCollector = Callable[[int, ValueStore], Collector]


class Membership:
    """Runs collectors under leases until cancelled: a member for its own ordinal (``ordinal``)
    or, with ``ordinal=None``, a standby for any of ``replicas``."""

    def __init__(
        self,
        client: RedisClient,
        store: ValueStore,
        make_collector: MakeCollector,
        *,
        prefix: str,
        replicas: int,
        ordinal: int | None,
        settings: LeaseSettings | None = None,
        holder: str | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.settings = settings or LeaseSettings()
        self.settings.check()
        self._client = client
        self._store = store
        self._make = make_collector
        self._prefix = prefix
        self.replicas = replicas
        self.ordinal = ordinal
        self.holder = holder or holder_id()
        self._clock = lease_clock
        self.metrics = MembershipMetrics(registry)
        self.collector: Collector | None = None
        """The collector running now (None while waiting or standing by)."""
        self.holding: int | None = None
        self.state = "starting"
        """What the process is doing, in words (shown on ``/readyz``)."""
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End :meth:`run` cleanly: the running collector writes its last values and
        checkpoints, then the lease is given back at once (a standby may take it)."""
        self._stopping.set()

    @property
    def standby(self) -> bool:
        return self.ordinal is None

    def _lease(self, ordinal: int) -> Lease:
        return self._key(lease_key(self._prefix, ordinal))

    def _claim(self, ordinal: int) -> Lease:
        return self._key(claim_key(self._prefix, ordinal))

    def _key(self, key: str) -> Lease:
        s = self.settings
        return Lease(self._client, key, self.holder, s.ttl_s, call_s=s.call_s)

    async def run(self) -> None:
        """Take a lease, collect under it until it is lost or handed back, and again, until
        :meth:`stop`."""
        while not self._stopping.is_set():
            taken = await self._acquire()
            if taken is None:
                break
            await self._collect(*taken)
        if self.ordinal is not None:  # stopped while waiting: no claim left behind
            await _quietly(self._claim(self.ordinal).release())

    async def _pause(self, seconds: float) -> bool:
        """Sleep, or less if stopped: True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _acquire(self) -> tuple[Lease, int] | None:
        candidates: Sequence[int] = (
            range(self.replicas) if self.ordinal is None else (self.ordinal,)
        )
        said = False
        while True:
            for ordinal in candidates:
                lease = self._lease(ordinal)
                try:
                    if await self._try(lease, ordinal):
                        return lease, ordinal
                except Unavailable as exc:
                    log.warning("collector: %s; asking again", exc.message)
                if not said and not self.standby:
                    holder = await _quietly(lease.current_holder())
                    self.state = f"waiting for the lease of ordinal {ordinal} (held by {holder})"
                    log.info("collector: %s", self.state)
                    said = True
            if self.standby:
                self.state = f"standing by for ordinals 0 to {self.replicas - 1}"
            if await self._pause(self.settings.poll_s):
                return None

    async def _try(self, lease: Lease, ordinal: int) -> bool:
        claim = self._claim(ordinal)
        if self.standby:
            if await claim.current_holder() is not None:
                return False  # its member is back and waits for it
            if not await lease.acquire():
                return False
            self.metrics.takeovers.inc()
            log.warning("collector: standby %s took over ordinal %d", self.holder, ordinal)
            return True
        await claim.put()
        if not await lease.acquire():
            return False
        await _quietly(claim.release())
        return True

    async def _collect(self, lease: Lease, ordinal: int) -> None:
        collector = self._make(ordinal, LeasedStore(self._store, lease, self.settings.margin_s))
        self.collector, self.holding = collector, ordinal
        self.state = f"collecting ordinal {ordinal} of {self.replicas}"
        held = self.metrics.held.labels(str(ordinal))
        held.set(1)
        task = asyncio.create_task(collector.run(), name=f"collector-{ordinal}")
        restored = asyncio.create_task(self._say_when_restored(collector, ordinal))
        try:
            outcome = await self._keep(lease, ordinal, task)
            await self._end(outcome, collector, task, lease, ordinal)
        except asyncio.CancelledError:
            # Stopping: the last values and checkpoints, then the lease goes at once.
            collector.stop()
            with contextlib.suppress(LeaseLost):
                await task
            await _quietly(lease.release())
            raise
        except Exception:
            await _quietly(lease.release())  # the collector failed: let another try at once
            raise
        finally:
            restored.cancel()
            held.set(0)
            self.collector, self.holding = None, None

    async def _end(
        self,
        outcome: str,
        collector: Collector,
        task: asyncio.Task[None],
        lease: Lease,
        ordinal: int,
    ) -> None:
        """End the collector as the outcome of :meth:`_keep` asks."""
        if outcome == "lost":
            self.metrics.lost.inc()
            log.error("collector: lease of ordinal %d lost; collector aborted", ordinal)
            collector.abort()
            try:
                await task
            except Exception as exc:  # what it failed of no longer matters: it is stopped
                log.warning("collector: the aborted collector ended with %r", exc)
            return
        if outcome == "handback":
            log.info("collector: giving ordinal %d back to its member", ordinal)
        if outcome in ("handback", "stop"):
            collector.stop()  # last values and checkpoints, under the lease
            await task
        await _quietly(lease.release())
        if outcome == "handback":
            self.metrics.handbacks.inc()

    async def _say_when_restored(self, collector: Collector, ordinal: int) -> None:
        began = self._clock()
        await collector.started.wait()
        log.info(
            "collector: ordinal %d restored from its checkpoints in %.2f s, reading on",
            ordinal,
            self._clock() - began,
        )

    async def _keep(self, lease: Lease, ordinal: int, task: asyncio.Task[None]) -> str:
        """Renew until the collector ends ("ended"; its error is raised, a lease it found
        lost is "lost"), renewal fails for too long ("lost"), the member claims its ordinal
        back ("handback") or the process stops ("stop")."""
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            s = self.settings
            renew_at = self._clock() + s.renew_s
            while True:
                wait = min(renew_at - self._clock(), lease.left_s() - s.margin_s)
                await asyncio.wait({task, stopping}, timeout=max(0.0, wait))
                if task.done():
                    try:
                        task.result()
                    except LeaseLost:
                        return "lost"
                    return "ended"
                if stopping.done():
                    return "stop"
                late = lease.left_s() <= s.margin_s
                if self._clock() < renew_at and not late:
                    continue
                # A renewal that comes late (the event loop was busy past its time) still holds
                # the lease when the key is still ours: no one else can have taken it.
                try:
                    if not await lease.renew():
                        return "lost"
                    renew_at = self._clock() + s.renew_s
                    if self.standby and await self._claim(ordinal).current_holder() is not None:
                        return "handback"
                except Unavailable as exc:
                    if late:
                        return "lost"  # renewals keep failing: stop before it can expire
                    log.warning(
                        "collector: renewing the lease of ordinal %d: %s", ordinal, exc.message
                    )
                    renew_at = self._clock() + s.poll_s
        finally:
            stopping.cancel()


async def _quietly(awaitable: Awaitable[T]) -> T | None:
    """A courtesy call (a release, a name for a log line) that may fail without harm."""
    try:
        return await awaitable
    except Unavailable:
        return None
