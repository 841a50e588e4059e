"""The discrete-event core: a heap of timed actions that turns a scenario into events.

Simulated time is an integer number of milliseconds since the Unix epoch (UTC), the unit of
event ``ts``; every duration is drawn in whole milliseconds, so a run is exact and repeatable.
Ties are broken by the order actions were scheduled, so the same scenario and seed always give
the same events in the same order.

Randomness never comes from global state. Each queue has its own generators (arrivals, and the
attributes of each contact drawn once on arrival: handle time, patience, hold, transfer…) and
each agent has one (break jitter, random not-ready, calls it places), all seeded from the run
seed and the object's name, so adding an agent or a queue leaves the others' draws alone.

The engine produces three lists that the caller drains as it goes: :attr:`Engine.events`
(core events, in emission order), :attr:`Engine.records` (finished contacts) and
:attr:`Engine.intervals` (closed agent-state intervals). Drain them in place (``clear()``):
the engine keeps appending to the same list objects. Events go to four sources, each with
its own gapless ``seq`` from 1: ``voice``, ``voice-vq``, ``interactions``, ``interactions-vq``;
an event's id is ``"<source>:<seq>"``.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import math
from collections.abc import Callable, Iterable
from heapq import heappush as _heappush
from random import Random
from typing import Any, Final, cast

from wallboard.core.events import (
    AgentAfterCallWork,
    AgentCapacity,
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    CallAbandoned,
    CallDiverted,
    CallEstablished,
    CallHeld,
    CallQueued,
    CallRefused,
    CallReleased,
    CallRetrieved,
    CallRinging,
    CallTransferred,
    Direction,
    DiversionCause,
    Event,
    InteractionAccepted,
    InteractionCreated,
    InteractionDone,
    InteractionOffered,
    InteractionOutcome,
    InteractionQueued,
    Media,
    QueueKind,
    RefusalReason,
    ReleasedBy,
    TransferKind,
    VirtualQueueEntered,
    VirtualQueueExit,
    VirtualQueueLeft,
)
from wallboard.core.ids import (
    AgentId,
    CallId,
    DnId,
    EventId,
    InteractionId,
    QueueId,
    SourceId,
    TenantId,
    VirtualQueueId,
)
from wallboard.sim.distributions import DurationSampler
from wallboard.sim.groundtruth import AgentInterval, AgentStateName, ContactRecord
from wallboard.sim.profile import MS_PER_DAY, ArrivalProfile, build_profile
from wallboard.sim.scenario import MAX_LEGS, AgentCalls, Duration, Group, Queue, Scenario, Tenant

SOURCE_VOICE: Final = SourceId("voice")
SOURCE_VOICE_VQ: Final = SourceId("voice-vq")
SOURCE_INTERACTIONS: Final = SourceId("interactions")
SOURCE_INTERACTIONS_VQ: Final = SourceId("interactions-vq")
SOURCES: Final = (SOURCE_VOICE, SOURCE_VOICE_VQ, SOURCE_INTERACTIONS, SOURCE_INTERACTIONS_VQ)

# Heap action kinds (indexes into Engine._handlers).
_ARRIVAL, _ENTER_QUEUE, _ABANDON, _ANSWER, _HOLD, _RETRIEVE, _END_TALK = range(7)
_ACW_END, _LOGIN, _REQUEST, _NR_END, _RANDOM_NR, _AGENT_CALL, _CONSULT_END, _DIALLED = range(7, 15)
_TIMEOUT = 15

# Contact stages.
_AT_POINT, _WAITING, _OFFERED, _CONNECTED, _FINISHED = range(5)

# Ready events after: nothing (a call without wrap-up), after-call work (voice), login/not-ready.
_NO_READY, _READY_VOICE, _READY_ALL = range(3)

# Enum members the handlers use, as module constants: in Python 3.11 ``Media.VOICE`` is a
# look-up on the enum class, several times the cost of a global.
_VOICE: Final = Media.VOICE
_CHAT: Final = Media.CHAT
_EMAIL: Final = Media.EMAIL
_INBOUND: Final = Direction.INBOUND
_BY_AGENT: Final = ReleasedBy.AGENT
_BY_CALLER: Final = ReleasedBy.CALLER
_ROUTED: Final = VirtualQueueExit.ROUTED

_event_id = cast("Callable[[str], EventId]", str)
"""``EventId(x)`` without the cost of a Python-level call on the hot path."""

_LOGOUT: Final = ("", -1)
"""The pending request that logs an agent out (others are ``(reason, duration_ms)``)."""


class _Source:
    __slots__ = ("id", "seq")

    def __init__(self, source: SourceId) -> None:
        self.id = source
        self.seq = 0


class _Pool(collections.deque[tuple[int, "_Agent"]]):
    """Agents free for one queue at one skill level, longest idle first (queues served by
    exactly the same agents share one pool: see ``_build_tenant``).

    Entries are ``(token, agent)``; an entry counts only while the agent's token still equals
    it (every change that makes an agent less available bumps the token), so stale entries are
    dropped lazily instead of searched for. ``limit`` bounds the stale entries kept.
    """

    limit: int = 16


def _distinct(pools: Iterable[_Pool]) -> list[_Pool]:
    """The pools in order, each once."""
    seen: set[int] = set()
    out: list[_Pool] = []
    for pool in pools:
        if id(pool) not in seen:
            seen.add(id(pool))
            out.append(pool)
    return out


class _TenantRt:
    __slots__ = ("call_serial", "id", "ix_serial", "spec")

    def __init__(self, spec: Tenant) -> None:
        self.spec = spec
        self.id = TenantId(spec.id)
        self.call_serial = 0
        self.ix_serial = 0


class _QueueRt:
    __slots__ = (
        "acw",
        "answer",
        "arr_rng",
        "arr_time",
        "by_caller",
        "consult",
        "consult_p",
        "handle",
        "hold_dur",
        "hold_p",
        "id",
        "max_wait",
        "max_waiting",
        "media",
        "n_waiting",
        "patience",
        "point",
        "point_delay",
        "pools",
        "rate_per_ms",
        "rng",
        "seg_ends",
        "seg_rates",
        "seg_starts",
        "spec",
        "tenant",
        "transfer_p",
        "transfer_to",
        "voice",
        "vq",
        "waiting",
    )

    def __init__(self, tenant: _TenantRt, spec: Queue, seed: int) -> None:
        self.tenant = tenant
        self.spec = spec
        self.id = QueueId(spec.id)
        self.media = spec.media
        self.voice = spec.media is Media.VOICE
        self.point = QueueId(spec.routing_point) if spec.routing_point else None
        self.point_delay = int(spec.routing_delay * 1000 + 0.5)
        self.vq = VirtualQueueId(spec.virtual_queue) if spec.virtual_queue else None
        base = f"{seed}/{tenant.id}/queue/{spec.id}"
        self.rng = Random(base + "/contacts")
        self.arr_rng = Random(base + "/arrivals")
        self.arr_time = 0.0
        self.handle = DurationSampler(spec.handle_time)
        self.answer = DurationSampler(spec.answer_delay) if spec.answer_delay else None
        self.patience = DurationSampler(spec.patience) if spec.patience else None
        self.acw = DurationSampler(spec.after_call_work) if spec.after_call_work else None
        self.hold_p = spec.hold.probability if spec.hold else 0.0
        self.hold_dur = DurationSampler(spec.hold.duration) if spec.hold else None
        self.transfer_p = spec.transfer.probability if spec.transfer else 0.0
        self.transfer_to: list[_QueueRt] = []
        self.consult_p = spec.transfer.consult_probability if spec.transfer else 0.0
        self.consult = DurationSampler(spec.transfer.consult) if spec.transfer else None
        self.by_caller = spec.released_by_caller
        self.waiting: collections.deque[_Contact] = collections.deque()
        self.n_waiting = 0
        self.max_waiting = -1 if spec.max_waiting is None else spec.max_waiting
        self.max_wait = -1 if spec.max_wait is None else int(spec.max_wait * 1000 + 0.5)
        self.pools: list[_Pool] = []
        self.rate_per_ms = 0.0
        self.seg_starts: list[int] = []
        self.seg_ends: list[int] = []
        self.seg_rates: list[float] = []


class _Agent:
    __slots__ = (
        "calls",
        "chat_cap",
        "chat_pools",
        "dn",
        "email_cap",
        "email_pools",
        "group",
        "home",
        "id",
        "index",
        "logged_in",
        "media",
        "n_chat",
        "n_email",
        "nr",
        "nr_epoch",
        "nr_reason",
        "pending",
        "queues",
        "rng",
        "shift",
        "st",
        "st_reason",
        "st_since",
        "tenant",
        "token",
        "vcall",
        "voice_busy",
        "voice_cap",
        "voice_pools",
        "vstate",
    )

    def __init__(self, tenant: _TenantRt, group: Group, agent_id: str, dn: str, seed: int) -> None:
        self.tenant = tenant
        self.group = group
        self.id = AgentId(agent_id)
        self.index = 0
        self.voice_cap = group.capacity.get(Media.VOICE, 0) > 0
        self.chat_cap = group.capacity.get(Media.CHAT, 0)
        self.email_cap = group.capacity.get(Media.EMAIL, 0)
        self.dn = DnId(dn) if self.voice_cap else None
        self.media = tuple(
            m for m in (Media.VOICE, Media.CHAT, Media.EMAIL) if group.capacity.get(m)
        )
        self.home = self.media[0]
        self.rng = Random(f"{seed}/{tenant.id}/agent/{agent_id}")
        self.shift = group.shift
        self.calls: list[tuple[str, AgentCalls]] = []
        self.queues: list[_QueueRt] = []
        self.voice_pools: list[_Pool] = []
        self.chat_pools: list[_Pool] = []
        self.email_pools: list[_Pool] = []
        self.logged_in = False
        self.nr = False
        self.nr_reason: str | None = None
        self.nr_epoch = 0
        self.pending: collections.deque[tuple[str, int]] = collections.deque()
        self.token = 0
        self.voice_busy = False
        self.vstate: AgentStateName = "ringing"
        self.vcall: _Contact | None = None
        self.n_chat = 0
        self.n_email = 0
        self.st: AgentStateName | None = None
        self.st_reason: str | None = None
        self.st_since = 0


class _Contact:
    __slots__ = (
        "abandoned_at",
        "acw_ms",
        "acw_plan",
        "agent",
        "answer_ms",
        "answered_at",
        "by_caller",
        "call_id",
        "consult_ms",
        "direction",
        "diverted_at",
        "entered_at",
        "handle_ms",
        "hold_at",
        "hold_for",
        "hold_ms",
        "hold_since",
        "leg",
        "media",
        "patience_ms",
        "queue",
        "refused",
        "released_at",
        "serial",
        "stage",
        "tenant",
        "transfer_to",
        "transferred",
    )

    handle_ms: int

    def __init__(
        self,
        serial: int,
        tenant: _TenantRt,
        queue: _QueueRt | None,
        call_id: Any,  # a CallId for calls, an InteractionId for chats and emails
        leg: int,
        media: Media,
        direction: Direction,
        entered_at: int,
    ) -> None:
        self.serial = serial
        self.tenant = tenant
        self.queue = queue
        self.call_id = call_id
        self.leg = leg
        self.media = media
        self.direction = direction
        self.entered_at = entered_at
        self.agent: _Agent | None = None
        self.answered_at: int | None = None
        self.abandoned_at: int | None = None
        self.released_at: int | None = None
        self.hold_ms = 0
        self.hold_since = 0
        self.acw_ms = 0
        self.transferred = False
        self.transfer_to: _QueueRt | None = None
        self.stage = _AT_POINT
        self.hold_at = 0
        self.hold_for = 0
        self.consult_ms = -1
        self.acw_plan = 0
        self.patience_ms = -1
        self.answer_ms = 0
        self.by_caller = True
        self.refused: str | None = None
        self.diverted_at: int | None = None


class Engine:
    """One simulated contact center, advanced with :meth:`run_until`.

    ``start_ms`` overrides the scenario's start (live mode starts at the wall-clock time).
    """

    def __init__(self, scenario: Scenario, seed: int, *, start_ms: int | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.start_ms = start_ms if start_ms is not None else int(scenario.start.timestamp() * 1000)
        self.now_ms = self.start_ms
        # Profiles follow the scenario's time of day even when live mode starts at "now".
        self._tod_shift = int(scenario.start.timestamp() * 1000) - self.start_ms
        self.events: list[Event] = []
        self._emit = self.events.append
        self.records: list[ContactRecord] = []
        self.intervals: list[AgentInterval] = []
        self._heap: list[tuple[int, int, int, Any, Any]] = []
        self._n = 0
        self._open: dict[int, _Contact] = {}
        self._samplers: dict[int, DurationSampler] = {}
        self._serial = 0
        self._voice = _Source(SOURCE_VOICE)
        self._voice_vq = _Source(SOURCE_VOICE_VQ)
        self._ix = _Source(SOURCE_INTERACTIONS)
        self._ix_vq = _Source(SOURCE_INTERACTIONS_VQ)
        self._handlers: list[Callable[[Any, Any, int], None]] = [
            self._on_arrival,
            self._on_enter_queue,
            self._on_abandon,
            self._on_answer,
            self._on_hold,
            self._on_retrieve,
            self._on_end_talk,
            self._on_acw_end,
            self._on_login,
            self._on_request,
            self._on_nr_end,
            self._on_random_nr,
            self._on_agent_call,
            self._on_consult_end,
            self._on_dialled,
            self._on_timeout,
        ]
        self.agents: list[_Agent] = []
        self.queues: list[_QueueRt] = []
        profiles: dict[str, ArrivalProfile] = {
            name: build_profile(spec, scenario.base_dir) for name, spec in scenario.profiles.items()
        }
        for tenant_spec in scenario.tenants:
            self._build_tenant(tenant_spec, profiles)

    # --- set-up ---------------------------------------------------------------------------

    def _build_tenant(self, spec: Tenant, profiles: dict[str, ArrivalProfile]) -> None:
        tenant = _TenantRt(spec)
        by_id: dict[str, _QueueRt] = {}
        for qspec in spec.queues:
            queue = _QueueRt(tenant, qspec, self.seed)
            by_id[qspec.id] = queue
            self.queues.append(queue)
            if qspec.arrivals is not None and qspec.arrivals.per_hour > 0:
                self._plan_arrivals(queue, qspec, profiles)
        for qspec in spec.queues:
            if qspec.transfer is not None:
                by_id[qspec.id].transfer_to = [by_id[t] for t in qspec.transfer.to]
        # Pools per queue and skill level, highest level first for skill-level routing. All
        # the agents of a group have the same skills and capacity, so they are in the same
        # queues and pools: worked out once per group.
        levels: dict[str, dict[int, _Pool]] = {q.id: {} for q in spec.queues}
        members: dict[int, tuple[Media, list[int]]] = {}  # by id(pool): media, group indexes
        group_pools: list[list[tuple[_QueueRt, _Pool]]] = []
        for group_index, group in enumerate(spec.groups):
            served: list[tuple[_QueueRt, _Pool]] = []
            for qspec in spec.queues:
                level = group.skills.get(qspec.skill_name, 0)
                if level < qspec.min_level or not group.capacity.get(qspec.media):
                    continue
                key = level if qspec.routing == "skill_level" else 0
                pool = levels[qspec.id].get(key)
                if pool is None:
                    pool = levels[qspec.id][key] = _Pool()
                    members[id(pool)] = (qspec.media, [])
                members[id(pool)][1].append(group_index)
                pool.limit += 2 * group.agents
                served.append((by_id[qspec.id], pool))
            group_pools.append(served)
        # Pools with the same members for the same media get exactly the same entries at the
        # same moments, and an entry's liveness depends on its agent alone, so their live
        # entries are always the same sequence: one shared pool stands for them all, and an
        # agent who becomes free is added once instead of once per queue.
        shared: dict[tuple[Media, tuple[int, ...]], _Pool] = {}
        canonical: dict[int, _Pool] = {}
        for pools in levels.values():
            for pool in pools.values():
                media, group_indexes = members[id(pool)]
                canonical[id(pool)] = shared.setdefault((media, tuple(group_indexes)), pool)
        for qspec in spec.queues:
            pools = levels[qspec.id]
            by_id[qspec.id].pools = [canonical[id(pools[k])] for k in sorted(pools, reverse=True)]
        dn_number = 10_000
        for group, served in zip(spec.groups, group_pools, strict=True):
            queues = [queue for queue, _ in served]
            # Shared by the group's agents: never changed after set-up.
            by_media = {
                media: _distinct(canonical[id(p)] for q, p in served if q.media is media)
                for media in (Media.VOICE, Media.CHAT, Media.EMAIL)
            }
            for agent_id, (shift, place, count) in zip(
                group.agent_ids(), group.agent_shifts(), strict=True
            ):
                dn_number += 1
                agent = _Agent(tenant, group, agent_id, str(dn_number), self.seed)
                agent.shift = shift
                agent.index = len(self.agents)
                self.agents.append(agent)
                if group.outbound is not None:
                    agent.calls.append(("outbound", group.outbound))
                if group.internal is not None:
                    agent.calls.append(("internal", group.internal))
                agent.queues = queues
                agent.voice_pools = by_media[Media.VOICE]
                agent.chat_pools = by_media[Media.CHAT]
                agent.email_pools = by_media[Media.EMAIL]
                login_ms = self.start_ms + int(shift.start * 3_600_000)
                if shift.login_spread > 0:
                    login_ms += int(shift.login_spread * 1000 * place / count)
                self._push(login_ms, _LOGIN, agent, None)

    def _plan_arrivals(
        self, queue: _QueueRt, spec: Queue, profiles: dict[str, ArrivalProfile]
    ) -> None:
        assert spec.arrivals is not None
        rate = spec.arrivals.per_hour / 3_600_000.0
        queue.rate_per_ms = rate
        if spec.arrivals.profile is not None:
            for seg_start, seg_end, weight in profiles[spec.arrivals.profile].segments():
                queue.seg_starts.append(seg_start)
                queue.seg_ends.append(seg_end)
                queue.seg_rates.append(rate * weight)
        queue.arr_time = float(self.start_ms)
        first = self._next_arrival(queue)
        if first is not None:
            self._push(first, _ARRIVAL, queue, None)

    def _next_arrival(self, queue: _QueueRt) -> int | None:
        """Advance the queue's arrival clock to its next arrival (piecewise-constant rate)."""
        rng = queue.arr_rng
        t = queue.arr_time
        if not queue.seg_rates:
            t += -math.log(1.0 - rng.random()) / queue.rate_per_ms
            queue.arr_time = t
            return int(t)
        # Non-homogeneous Poisson: draw within the current segment at its rate; crossing the
        # segment's end restarts the draw there (memorylessness makes this exact).
        shift = self._tod_shift
        for _ in range(4 * len(queue.seg_rates) + 8):
            scenario_t = int(t) + shift
            day_start = (scenario_t // MS_PER_DAY) * MS_PER_DAY
            index = bisect.bisect_right(queue.seg_starts, scenario_t - day_start) - 1
            seg_end = day_start + queue.seg_ends[index] - shift
            rate = queue.seg_rates[index]
            if rate > 0:
                candidate = t - math.log(1.0 - rng.random()) / rate
                if candidate < seg_end:
                    queue.arr_time = candidate
                    return int(candidate)
            t = float(seg_end)
        return None  # the profile is zero for a whole day: the queue never gets a call

    def _sampler(self, spec: Duration) -> DurationSampler:
        """The sampler of a duration of the scenario, made once (the sampler keeps its spec
        alive, so the id cannot be reused while cached)."""
        sampler = self._samplers.get(id(spec))
        if sampler is None:
            sampler = self._samplers[id(spec)] = DurationSampler(spec)
        return sampler

    def _push(self, t: int, kind: int, obj: Any, arg: Any) -> None:
        # Written out in place on the hottest paths (contacts' own steps), to save the call.
        self._n += 1
        _heappush(self._heap, (t, self._n, kind, obj, arg))

    # --- running --------------------------------------------------------------------------

    def next_time(self) -> int | None:
        """When the next action happens, or None when nothing is left to do."""
        return self._heap[0][0] if self._heap else None

    def run_until(self, limit_ms: int, max_events: int = 1 << 62) -> bool:
        """Do every action before ``limit_ms``; stop early once ``max_events`` events are
        buffered. True when every action before the limit is done."""
        heap = self._heap
        pop = heapq.heappop
        handlers = self._handlers
        events = self.events
        t = self.now_ms
        while heap:
            if heap[0][0] >= limit_ms:
                self.now_ms = limit_ms
                return True
            t, _, kind, obj, arg = pop(heap)
            handlers[kind](obj, arg, t)
            if len(events) >= max_events:
                self.now_ms = t
                return not heap or heap[0][0] >= limit_ms
        self.now_ms = max(t, limit_ms)
        return True

    def finish(self, end_ms: int) -> None:
        """Write what is still open at the end of the run: contacts in queues or in progress
        (with the fields known so far) and the agents' current states (``end`` None)."""
        for contact in self._open.values():
            # A call still at its routing point has not entered a queue yet: no record.
            if contact.stage != _AT_POINT:
                self.records.append(self._record(contact))
        self._open.clear()
        for agent in self.agents:
            if agent.st is not None and agent.st_since <= end_ms:
                self.intervals.append(
                    AgentInterval(
                        tenant=agent.tenant.id,
                        agent=agent.id,
                        state=agent.st,
                        reason=agent.st_reason,
                        start=agent.st_since,
                        end=None,
                    )
                )

    @property
    def sequences(self) -> dict[str, int]:
        """The last sequence number emitted per source."""
        return {s.id: s.seq for s in (self._voice, self._voice_vq, self._ix, self._ix_vq)}

    # --- ground truth ---------------------------------------------------------------------

    def _record(self, c: _Contact) -> ContactRecord:
        return ContactRecord(
            tenant=c.tenant.id,
            id=c.call_id,
            leg=c.leg,
            media=c.media,
            direction=c.direction,
            queue=c.queue.id if c.queue is not None else None,
            entered_at=c.entered_at,
            answered_at=c.answered_at,
            abandoned_at=c.abandoned_at,
            agent=c.agent.id if c.agent is not None else None,
            released_at=c.released_at,
            hold_seconds=c.hold_ms / 1000,
            acw_seconds=c.acw_ms / 1000,
            transferred=c.transferred,
            transferred_to=c.transfer_to.id if c.transferred and c.transfer_to else None,
            refused=c.refused,
            diverted_at=c.diverted_at,
        )

    def _close(self, c: _Contact) -> None:
        c.stage = _FINISHED
        del self._open[c.serial]
        self.records.append(self._record(c))

    def _refresh(self, a: _Agent, t: int) -> None:
        """Record a change of the agent's displayed state as a closed interval."""
        reason: str | None = None
        state: AgentStateName | None
        if not a.logged_in:
            state = None
        elif a.voice_busy:
            state = a.vstate
        elif a.n_chat or a.n_email:
            state = "busy"
        elif a.nr:
            state = "not_ready"
            reason = a.nr_reason
        else:
            state = "ready"
        if state == a.st and reason == a.st_reason:
            return
        if a.st is not None and t > a.st_since:
            self.intervals.append(
                AgentInterval(
                    tenant=a.tenant.id,
                    agent=a.id,
                    state=a.st,
                    reason=a.st_reason,
                    start=a.st_since,
                    end=t,
                )
            )
        a.st = state
        a.st_reason = reason
        a.st_since = t

    # --- contacts -------------------------------------------------------------------------

    def _new_contact(self, queue: _QueueRt, t: int, call_id: str, leg: int) -> _Contact:
        """A contact for ``queue`` with all its random attributes drawn now, from the queue's
        own generator, so that routing never changes what the customers do."""
        self._serial += 1
        c = _Contact(self._serial, queue.tenant, queue, call_id, leg, queue.media, _INBOUND, t)
        self._open[c.serial] = c
        rng = queue.rng
        c.handle_ms = queue.handle.sample(rng)
        if queue.answer is not None:
            c.answer_ms = queue.answer.sample(rng)
        if queue.patience is not None:
            c.patience_ms = queue.patience.sample(rng)
        if queue.voice:
            c.by_caller = rng.random() < queue.by_caller
            if queue.acw is not None:
                c.acw_plan = queue.acw.sample(rng)
            if queue.hold_dur is not None and rng.random() < queue.hold_p:
                c.hold_at = int(c.handle_ms * rng.random())
                c.hold_for = queue.hold_dur.sample(rng)
            if queue.consult is not None:
                # Drawn whether or not used, so one contact's choice never shifts the next.
                u_transfer, u_consult, u_target = rng.random(), rng.random(), rng.random()
                consult_ms = queue.consult.sample(rng)
                if u_transfer < queue.transfer_p and leg < MAX_LEGS:
                    targets = queue.transfer_to
                    c.transfer_to = targets[int(u_target * len(targets))]
                    if u_consult < queue.consult_p:
                        c.consult_ms = consult_ms
        return c

    def _on_arrival(self, queue: _QueueRt, _: None, t: int) -> None:
        nxt = self._next_arrival(queue)
        if nxt is not None:
            self._n = n = self._n + 1
            _heappush(self._heap, (nxt, n, _ARRIVAL, queue, None))
        tenant = queue.tenant
        if queue.voice:
            tenant.call_serial += 1
            c = self._new_contact(queue, t, CallId(f"{tenant.id}-call-{tenant.call_serial}"), 1)
            if queue.point is not None:
                s = self._voice
                s.seq += 1
                self._emit(
                    CallQueued(
                        tenant=tenant.id,
                        source=s.id,
                        seq=s.seq,
                        id=_event_id(f"voice:{s.seq}"),
                        ts=t,
                        call=c.call_id,
                        queue=queue.point,
                        point=QueueKind.ROUTING_POINT,
                    )
                )
                self._push(t + queue.point_delay, _ENTER_QUEUE, c, None)
                return
            if 0 <= queue.max_waiting <= queue.n_waiting:
                self._refuse(c, t)
                return
        else:
            tenant.ix_serial += 1
            c = self._new_contact(
                queue, t, InteractionId(f"{tenant.id}-{queue.media.value}-{tenant.ix_serial}"), 1
            )
            s = self._ix
            s.seq += 1
            self._emit(
                InteractionCreated(
                    tenant=tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"interactions:{s.seq}"),
                    ts=t,
                    interaction=c.call_id,
                    media=queue.media,
                )
            )
        self._enter_queue(c, t)

    def _on_enter_queue(self, c: _Contact, _: None, t: int) -> None:
        queue = c.queue
        assert queue is not None
        assert queue.point is not None
        s = self._voice
        s.seq += 1
        self._emit(
            CallDiverted(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                queue=queue.point,
                target=queue.id,
                cause=DiversionCause.ROUTED,
            )
        )
        c.entered_at = t
        if 0 <= queue.max_waiting <= queue.n_waiting:
            self._refuse(c, t)
            return
        self._enter_queue(c, t)

    def _refuse(self, c: _Contact, t: int) -> None:
        """A new call at a full queue is turned away: it never waits (a transferred call is
        not: the agent transferring it would hear of it, which is not modelled)."""
        queue = c.queue
        assert queue is not None
        s = self._voice
        s.seq += 1
        self._emit(
            CallRefused(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                queue=queue.id,
                reason=RefusalReason.FULL,
            )
        )
        c.refused = RefusalReason.FULL.value
        self._close(c)

    def _enter_queue(self, c: _Contact, t: int) -> None:
        queue = c.queue
        assert queue is not None
        tenant_id = c.tenant.id
        if queue.voice:
            s = self._voice
            s.seq += 1
            self._emit(
                CallQueued(
                    tenant=tenant_id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    call=c.call_id,
                    queue=queue.id,
                )
            )
        else:
            s = self._ix
            s.seq += 1
            self._emit(
                InteractionQueued(
                    tenant=tenant_id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"interactions:{s.seq}"),
                    ts=t,
                    interaction=c.call_id,
                    media=c.media,
                    queue=queue.id,
                )
            )
        if queue.vq is not None:
            s = self._voice_vq if queue.voice else self._ix_vq
            s.seq += 1
            if queue.voice:
                vq_event: Event = VirtualQueueEntered(
                    tenant=tenant_id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"{s.id}:{s.seq}"),
                    ts=t,
                    vq=queue.vq,
                    call=c.call_id,
                )
            else:
                vq_event = VirtualQueueEntered(
                    tenant=tenant_id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"{s.id}:{s.seq}"),
                    ts=t,
                    vq=queue.vq,
                    interaction=c.call_id,
                    media=c.media,
                )
            self._emit(vq_event)
        c.stage = _WAITING
        agent = self._free_agent(queue)
        if agent is not None:
            self._assign(c, agent, t)
            return
        queue.waiting.append(c)
        queue.n_waiting += 1
        if c.patience_ms >= 0:
            self._n = n = self._n + 1
            _heappush(self._heap, (t + c.patience_ms, n, _ABANDON, c, None))
        if queue.max_wait >= 0:
            self._n = n = self._n + 1
            _heappush(self._heap, (t + queue.max_wait, n, _TIMEOUT, c, None))

    def _free_agent(self, queue: _QueueRt) -> _Agent | None:
        """The agent to route to: the first live entry of the best non-empty pool."""
        for pool in queue.pools:
            while pool:
                token, agent = pool.popleft()
                if token == agent.token:
                    return agent
        return None

    def _leave_vq(self, c: _Contact, reason: VirtualQueueExit, target: str | None, t: int) -> None:
        queue = c.queue
        assert queue is not None
        assert queue.vq is not None
        s = self._voice_vq if queue.voice else self._ix_vq
        s.seq += 1
        if queue.voice:
            self._emit(
                VirtualQueueLeft(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"{s.id}:{s.seq}"),
                    ts=t,
                    vq=queue.vq,
                    call=c.call_id,
                    reason=reason,
                    target=target,
                )
            )
        else:
            self._emit(
                VirtualQueueLeft(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"{s.id}:{s.seq}"),
                    ts=t,
                    vq=queue.vq,
                    interaction=c.call_id,
                    media=c.media,
                    reason=reason,
                    target=target,
                )
            )

    def _stop_waiting(self, c: _Contact, reason: VirtualQueueExit, t: int) -> _QueueRt | None:
        """A contact leaves its queue unanswered — first its virtual queue, as when it is
        routed; None when it no longer waits (answered, or gone for another reason first)."""
        if c.stage != _WAITING:
            return None
        queue = c.queue
        assert queue is not None
        queue.n_waiting -= 1
        if queue.vq is not None:
            self._leave_vq(c, reason, None, t)
        return queue

    def _on_timeout(self, c: _Contact, _: None, t: int) -> None:
        """The call waited the queue's ``max_wait``: it is sent on to the overflow."""
        queue = self._stop_waiting(c, VirtualQueueExit.TIMEOUT, t)
        if queue is None:
            return
        c.diverted_at = t
        s = self._voice
        s.seq += 1
        self._emit(
            CallDiverted(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                queue=queue.id,
                target="timeout",
                cause=DiversionCause.TIMEOUT,
            )
        )
        self._close(c)

    def _on_abandon(self, c: _Contact, _: None, t: int) -> None:
        queue = self._stop_waiting(c, VirtualQueueExit.ABANDONED, t)
        if queue is None:
            return
        c.abandoned_at = t
        if queue.voice:
            s = self._voice
            s.seq += 1
            self._emit(
                CallAbandoned(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    call=c.call_id,
                    queue=queue.id,
                )
            )
        if not queue.voice:
            s = self._ix
            s.seq += 1
            self._emit(
                InteractionDone(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"interactions:{s.seq}"),
                    ts=t,
                    interaction=c.call_id,
                    media=c.media,
                    queue=queue.id,
                    outcome=InteractionOutcome.ABANDONED,
                )
            )
        self._close(c)

    def _assign(self, c: _Contact, a: _Agent, t: int) -> None:
        """Hand a waiting contact to an agent who is free for its media."""
        queue = c.queue
        assert queue is not None
        c.stage = _OFFERED
        c.agent = a
        a.token += 1
        if queue.vq is not None:
            self._leave_vq(c, _ROUTED, a.id, t)
        if queue.voice:
            a.voice_busy = True
            a.vstate = "ringing"
            a.vcall = c
            s = self._voice
            s.seq += 1
            self._emit(
                CallRinging(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    call=c.call_id,
                    agent=a.id,
                    dn=a.dn,
                    queue=queue.id,
                )
            )
        else:
            if c.media is _CHAT:
                a.n_chat += 1
            else:
                a.n_email += 1
            s = self._ix
            s.seq += 1
            self._emit(
                InteractionOffered(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"interactions:{s.seq}"),
                    ts=t,
                    interaction=c.call_id,
                    media=c.media,
                    agent=a.id,
                    queue=queue.id,
                )
            )
        self._refresh(a, t)
        if c.answer_ms:
            self._n = n = self._n + 1
            _heappush(self._heap, (t + c.answer_ms, n, _ANSWER, c, None))
        else:
            self._on_answer(c, None, t)

    def _on_answer(self, c: _Contact, _: None, t: int) -> None:
        a = c.agent
        assert a is not None
        c.stage = _CONNECTED
        c.answered_at = t
        queue = c.queue
        if c.media is _VOICE:
            a.vstate = "talking"
            s = self._voice
            s.seq += 1
            self._emit(
                CallEstablished(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    call=c.call_id,
                    agent=a.id,
                    dn=a.dn,
                    queue=queue.id if queue is not None else None,
                    direction=c.direction,
                )
            )
            self._refresh(a, t)
            if c.hold_for:
                self._n = n = self._n + 1
                _heappush(self._heap, (t + c.hold_at, n, _HOLD, c, None))
            else:
                self._n = n = self._n + 1
                _heappush(self._heap, (t + c.handle_ms, n, _END_TALK, c, None))
        else:
            assert queue is not None
            s = self._ix
            s.seq += 1
            self._emit(
                InteractionAccepted(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"interactions:{s.seq}"),
                    ts=t,
                    interaction=c.call_id,
                    media=c.media,
                    agent=a.id,
                    queue=queue.id,
                )
            )
            self._n = n = self._n + 1
            _heappush(self._heap, (t + c.handle_ms, n, _END_TALK, c, None))

    def _held(self, c: _Contact, a: _Agent, t: int) -> None:
        a.vstate = "held"
        c.hold_since = t
        s = self._voice
        s.seq += 1
        self._emit(
            CallHeld(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                agent=a.id,
                dn=a.dn,
            )
        )
        self._refresh(a, t)

    def _on_hold(self, c: _Contact, _: None, t: int) -> None:
        a = c.agent
        assert a is not None
        self._held(c, a, t)
        self._push(t + c.hold_for, _RETRIEVE, c, None)

    def _on_retrieve(self, c: _Contact, _: None, t: int) -> None:
        a = c.agent
        assert a is not None
        a.vstate = "talking"
        c.hold_ms += t - c.hold_since
        s = self._voice
        s.seq += 1
        self._emit(
            CallRetrieved(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                agent=a.id,
                dn=a.dn,
            )
        )
        self._refresh(a, t)
        self._push(t + c.handle_ms - c.hold_at, _END_TALK, c, None)

    def _on_end_talk(self, c: _Contact, _: None, t: int) -> None:
        a = c.agent
        assert a is not None
        if c.media is not _VOICE:
            self._interaction_done(c, a, t)
            return
        if c.transfer_to is not None:
            if c.consult_ms >= 0:
                # Consultation: the caller waits on hold while the agent consults, then the
                # held call is transferred.
                self._held(c, a, t)
                self._push(t + c.consult_ms, _CONSULT_END, c, None)
                return
            self._transfer(c, a, TransferKind.BLIND, t)
            return
        self._release(c, a, _BY_CALLER if c.by_caller else _BY_AGENT, t)

    def _on_consult_end(self, c: _Contact, _: None, t: int) -> None:
        a = c.agent
        assert a is not None
        self._transfer(c, a, TransferKind.CONSULT, t)

    def _transfer(self, c: _Contact, a: _Agent, kind: TransferKind, t: int) -> None:
        target = c.transfer_to
        assert target is not None
        c.transferred = True
        s = self._voice
        s.seq += 1
        self._emit(
            CallTransferred(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                agent=a.id,
                target=target.id,
                kind=kind,
            )
        )
        self._release(c, a, _BY_AGENT, t)
        # The same call continues as a new leg in the target queue, with its own attributes.
        self._enter_queue(self._new_contact(target, t, c.call_id, c.leg + 1), t)

    def _release(self, c: _Contact, a: _Agent, by: ReleasedBy, t: int) -> None:
        c.released_at = t
        if a.vstate == "held":  # a consultation transfer releases the held call
            c.hold_ms += t - c.hold_since
        queue = c.queue
        s = self._voice
        s.seq += 1
        self._emit(
            CallReleased(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                agent=a.id,
                dn=a.dn,
                queue=queue.id if queue is not None else None,
                by=by,
            )
        )
        if c.acw_plan:
            a.vstate = "acw"
            s.seq += 1
            self._emit(
                AgentAfterCallWork(
                    tenant=c.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    agent=a.id,
                    call=c.call_id,
                )
            )
            self._refresh(a, t)
            self._n = n = self._n + 1
            _heappush(self._heap, (t + c.acw_plan, n, _ACW_END, a, c))
            return
        self._close(c)
        a.voice_busy = False
        a.vcall = None
        self._agent_idle(a, _NO_READY, t)

    def _on_acw_end(self, a: _Agent, c: _Contact, t: int) -> None:
        c.acw_ms = t - (c.released_at or t)
        self._close(c)
        a.voice_busy = False
        a.vcall = None
        self._agent_idle(a, _READY_VOICE, t)

    def _interaction_done(self, c: _Contact, a: _Agent, t: int) -> None:
        c.released_at = t
        queue = c.queue
        assert queue is not None
        s = self._ix
        s.seq += 1
        self._emit(
            InteractionDone(
                tenant=c.tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"interactions:{s.seq}"),
                ts=t,
                interaction=c.call_id,
                media=c.media,
                agent=a.id,
                queue=queue.id,
            )
        )
        self._close(c)
        if c.media is _CHAT:
            a.n_chat -= 1
        else:
            a.n_email -= 1
        if a.n_chat or a.n_email:
            self._refresh(a, t)
            self._dispatch(a, t)  # a slot freed: take more work if any waits
        else:
            self._agent_idle(a, _NO_READY, t)

    # --- agents ---------------------------------------------------------------------------

    def _agent_events(
        self, a: _Agent, t: int, make: Callable[[SourceId, int, EventId, Media], Event]
    ) -> None:
        """Emit one agent-state event per source the agent is on (voice, interactions)."""
        if a.voice_cap:
            s = self._voice
            s.seq += 1
            self._emit(make(s.id, s.seq, _event_id(f"voice:{s.seq}"), _VOICE))
        for media, cap in ((_CHAT, a.chat_cap), (_EMAIL, a.email_cap)):
            if cap:
                s = self._ix
                s.seq += 1
                self._emit(make(s.id, s.seq, _event_id(f"interactions:{s.seq}"), media))

    def _on_login(self, a: _Agent, _: None, t: int) -> None:
        a.logged_in = True
        tenant = a.tenant.id
        group = a.group
        queue_ids = tuple(q.id for q in a.queues)
        if a.voice_cap:
            s = self._voice
            s.seq += 1
            self._emit(
                AgentLogin(
                    tenant=tenant,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    agent=a.id,
                    dn=a.dn,
                    media=(_VOICE,),
                    queues=tuple(q.id for q in a.queues if q.voice),
                )
            )
        ix_media = tuple(m for m in a.media if m is not _VOICE)
        if ix_media:
            s = self._ix
            s.seq += 1
            self._emit(
                AgentLogin(
                    tenant=tenant,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"interactions:{s.seq}"),
                    ts=t,
                    agent=a.id,
                    media=ix_media,
                    queues=tuple(
                        q for q, r in zip(queue_ids, a.queues, strict=True) if not r.voice
                    ),
                )
            )
        self._agent_events(
            a,
            t,
            lambda source, seq, eid, media: AgentCapacity(
                tenant=tenant,
                source=source,
                seq=seq,
                id=eid,
                ts=t,
                agent=a.id,
                media=media,
                capacity=group.capacity.get(media, 0),
            ),
        )
        # Everything the agent will do on its own: breaks, logout, random not-ready, calls.
        rng = a.rng
        end_ms = self.start_ms + int(a.shift.end * 3_600_000) if a.shift.end is not None else None
        for brk in group.breaks:
            jitter = (rng.random() * 2 - 1) * brk.jitter_minutes * 60_000
            at = t + int(brk.after * 3_600_000 + jitter)
            if end_ms is None or at < end_ms:
                self._push(max(at, t), _REQUEST, a, (brk.reason, int(brk.minutes * 60_000)))
        if end_ms is not None:
            self._push(max(end_ms, t), _REQUEST, a, _LOGOUT)
        if group.not_ready is not None and group.not_ready.per_hour > 0:
            self._push(t + self._exp_ms(rng, group.not_ready.per_hour), _RANDOM_NR, a, None)
        for kind, calls in a.calls:
            if calls.per_hour > 0:
                self._push(t + self._exp_ms(rng, calls.per_hour), _AGENT_CALL, a, (kind, calls))
        self._agent_idle(a, _READY_ALL, t)

    @staticmethod
    def _exp_ms(rng: Random, per_hour: float) -> int:
        return int(-math.log(1.0 - rng.random()) * 3_600_000 / per_hour) + 1

    def _on_request(self, a: _Agent, request: tuple[str, int], t: int) -> None:
        """The agent wants a break (or random not-ready, or to log out): at once if idle,
        otherwise after the contacts in hand (and their wrap-up) are done."""
        if not a.logged_in:
            return
        if request is _LOGOUT:
            a.pending.clear()
            a.pending.append(request)
            if a.nr:
                a.nr = False
                a.nr_epoch += 1  # the running not-ready period will not end by itself now
        elif a.nr or a.pending:
            a.pending.append(request)  # taken after the current not-ready or pending one
            return
        else:
            a.pending.append(request)
        a.token += 1
        if not a.voice_busy and not a.n_chat and not a.n_email and not a.nr:
            self._agent_idle(a, _NO_READY, t)

    def _on_random_nr(self, a: _Agent, _: None, t: int) -> None:
        if not a.logged_in:
            return
        spec = a.group.not_ready
        assert spec is not None
        rng = a.rng
        reason = spec.reasons[int(rng.random() * len(spec.reasons))]
        duration = self._sampler(spec.duration).sample(rng)
        self._push(t + self._exp_ms(rng, spec.per_hour), _RANDOM_NR, a, None)
        if not a.nr and not a.pending:
            self._on_request(a, (reason, max(duration, 1)), t)

    def _on_nr_end(self, a: _Agent, epoch: int, t: int) -> None:
        if epoch != a.nr_epoch or not a.logged_in:
            return
        a.nr = False
        a.nr_reason = None
        self._agent_idle(a, _READY_ALL, t)

    def _agent_idle(self, a: _Agent, ready: int, t: int) -> None:
        """The agent has nothing in hand: start what is pending, or become ready and take work."""
        if a.pending:
            request = a.pending.popleft()
            a.token += 1
            if request is _LOGOUT:
                self._logout(a, t)
                return
            reason, duration = request
            a.nr = True
            a.nr_reason = reason
            a.nr_epoch += 1
            self._agent_events(
                a,
                t,
                lambda source, seq, eid, media: AgentNotReady(
                    tenant=a.tenant.id,
                    source=source,
                    seq=seq,
                    id=eid,
                    ts=t,
                    agent=a.id,
                    media=media,
                    reason=reason,
                ),
            )
            self._refresh(a, t)
            self._push(t + duration, _NR_END, a, a.nr_epoch)
            return
        if ready == _READY_VOICE:
            s = self._voice
            s.seq += 1
            self._emit(
                AgentReady(
                    tenant=a.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"voice:{s.seq}"),
                    ts=t,
                    agent=a.id,
                )
            )
        elif ready == _READY_ALL:
            self._agent_events(
                a,
                t,
                lambda source, seq, eid, media: AgentReady(
                    tenant=a.tenant.id,
                    source=source,
                    seq=seq,
                    id=eid,
                    ts=t,
                    agent=a.id,
                    media=media,
                ),
            )
        self._refresh(a, t)
        self._dispatch(a, t)

    def _logout(self, a: _Agent, t: int) -> None:
        a.logged_in = False
        a.nr = False
        a.pending.clear()
        # Each source logs the agent out of the media it logged it in to, as each platform of
        # a mixed contact center would (the voice platform knows nothing of chats).
        sources: list[tuple[_Source, tuple[Media, ...]]] = []
        if a.voice_cap:
            sources.append((self._voice, (_VOICE,)))
        ix_media = tuple(m for m in a.media if m is not _VOICE)
        if ix_media:
            sources.append((self._ix, ix_media))
        for s, media in sources:
            s.seq += 1
            self._emit(
                AgentLogout(
                    tenant=a.tenant.id,
                    source=s.id,
                    seq=s.seq,
                    id=_event_id(f"{s.id}:{s.seq}"),
                    ts=t,
                    agent=a.id,
                    reason="shift_end",
                    media=media,
                )
            )
        self._refresh(a, t)

    def _dispatch(self, a: _Agent, t: int) -> None:
        """An agent became free (or freer): take the longest-waiting contact of the agent's
        queues it can take now, repeatedly; then wait in the queues' pools."""
        if not a.logged_in or a.nr or a.pending or a.voice_busy:
            return
        while True:
            best: _Contact | None = None
            for queue in a.queues:
                if not queue.n_waiting:
                    continue
                if queue.voice:
                    if a.n_chat or a.n_email:
                        continue
                elif queue.media is _CHAT:
                    if a.n_chat >= a.chat_cap:
                        continue
                elif a.n_email >= a.email_cap:
                    continue
                waiting = queue.waiting
                while waiting[0].stage != _WAITING:
                    waiting.popleft()
                head = waiting[0]
                if (
                    best is None
                    or head.entered_at < best.entered_at
                    or (head.entered_at == best.entered_at and head.serial < best.serial)
                ):
                    best = head
            if best is None:
                break
            chosen = best.queue
            assert chosen is not None
            chosen.waiting.popleft()
            chosen.n_waiting -= 1
            self._assign(best, a, t)
            if a.voice_busy:
                return
        a.token += 1
        entry = (a.token, a)
        if a.voice_cap and not a.n_chat and not a.n_email:
            for pool in a.voice_pools:
                self._pool_add(pool, entry)
        if a.n_chat < a.chat_cap:
            for pool in a.chat_pools:
                self._pool_add(pool, entry)
        if a.n_email < a.email_cap:
            for pool in a.email_pools:
                self._pool_add(pool, entry)

    @staticmethod
    def _pool_add(pool: _Pool, entry: tuple[int, _Agent]) -> None:
        pool.append(entry)
        if len(pool) > pool.limit:
            # Mostly stale entries of agents that went busy elsewhere: keep the live ones.
            live = [e for e in pool if e[0] == e[1].token]
            pool.clear()
            pool.extend(live)

    # --- calls agents place -------------------------------------------------------------

    def _on_agent_call(self, a: _Agent, spec: tuple[str, AgentCalls], t: int) -> None:
        if not a.logged_in:
            return
        kind, calls = spec
        rng = a.rng
        self._push(t + self._exp_ms(rng, calls.per_hour), _AGENT_CALL, a, spec)
        dial_ms = self._sampler(calls.dial_time).sample(rng)
        talk_ms = self._sampler(calls.handle_time).sample(rng)
        answered = rng.random() < calls.answer_probability
        if a.voice_busy or a.n_chat or a.n_email or a.nr or a.pending:
            return  # busy: this call is not placed
        tenant = a.tenant
        tenant.call_serial += 1
        self._serial += 1
        c = _Contact(
            self._serial,
            tenant,
            None,
            CallId(f"{tenant.id}-call-{tenant.call_serial}"),
            1,
            _VOICE,
            Direction.OUTBOUND if kind == "outbound" else Direction.INTERNAL,
            t,
        )
        self._open[c.serial] = c
        c.agent = a
        c.handle_ms = talk_ms
        c.by_caller = False
        c.stage = _OFFERED
        a.token += 1
        a.voice_busy = True
        a.vstate = "ringing"
        a.vcall = c
        s = self._voice
        s.seq += 1
        self._emit(
            CallRinging(
                tenant=tenant.id,
                source=s.id,
                seq=s.seq,
                id=_event_id(f"voice:{s.seq}"),
                ts=t,
                call=c.call_id,
                agent=a.id,
                dn=a.dn,
                direction=c.direction,
            )
        )
        self._refresh(a, t)
        self._push(t + dial_ms, _DIALLED, c, answered)

    def _on_dialled(self, c: _Contact, answered: bool, t: int) -> None:
        a = c.agent
        assert a is not None
        if answered:
            self._on_answer(c, None, t)
        else:
            self._release(c, a, ReleasedBy.SYSTEM, t)
