"""Scenario schema: what a simulated contact center is made of, decoded and checked from YAML.

A scenario names tenants, their queues (with arrival rates, handle times, patience, hold,
transfers, routing points and virtual queues in front) and their agent groups (skills, capacity
per media, shifts, breaks, random not-ready, outbound and internal calls). ``docs/simulator.md``
documents every field with an example. Durations are in seconds unless the name says otherwise
(``minutes``, ``hours``, ``per_hour``).

Decoding errors and consistency errors (an unknown profile, a transfer to a queue of another
media) raise :class:`~wallboard.core.errors.InvalidInput` whose message starts with the path of
the offending field, e.g. ``tenants[0].queues[2].transfer.to[0]``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.events import Media
from wallboard.inputs import load_yaml_file

# Every number has an upper bound, so a typo (or a hostile file) cannot ask for infinite
# durations or gigabytes of events: the bounds are far beyond any real contact center.
MAX_SECONDS = 7 * 86_400
"""Longest duration a scenario gives (handle time, patience…): a week."""
MAX_QUEUE_RATE = 100_000
"""Most contacts an hour arriving at one queue."""
MAX_AGENT_RATE = 60
"""Most calls, or unplanned not-ready periods, an hour per agent."""
MAX_TOTAL_RATE = 1_000_000
"""Most contacts an hour arriving at all the queues of a scenario together."""
MAX_AGENTS = 100_000
"""Most agents of a scenario."""
MAX_HOURS = 366 * 24
"""Longest simulated run (and latest shift hour): a year."""
MAX_SPEED = 10_000
"""Fastest live run, in simulated seconds per real second."""

Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]
Hours = Annotated[float, msgspec.Meta(ge=0, le=MAX_HOURS)]
Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Rate = Annotated[float, msgspec.Meta(ge=0, le=MAX_QUEUE_RATE)]
AgentRate = Annotated[float, msgspec.Meta(ge=0, le=MAX_AGENT_RATE)]
SkillLevel = Annotated[int, msgspec.Meta(ge=1, le=100)]
ReasonCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

DEFAULT_START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
"""Simulated time starts here unless the scenario says otherwise (a Monday, 08:00 UTC)."""
EARLIEST_START = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST_START = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
"""A run of at most MAX_HOURS from here stays far below the largest time events carry
(9999-12-31)."""

MAX_LEGS = 3
"""A voice contact is transferred at most ``MAX_LEGS - 1`` times, so transfers cannot loop."""


class Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the schema: immutable, keyword-only, and a typo in a field name is an error."""


class Duration(Struct, frozen=True, kw_only=True):
    """A random duration in seconds: ``exponential`` (mean), ``lognormal`` (mean, sd) or
    ``constant`` (mean)."""

    dist: Literal["exponential", "lognormal", "constant"] = "exponential"
    mean: Seconds
    sd: Seconds | None = None


class Arrivals(Struct, frozen=True, kw_only=True):
    """Poisson arrivals at ``per_hour`` on average, shaped by an intraday ``profile``."""

    per_hour: Rate
    profile: Ident | None = None


class Hold(Struct, frozen=True, kw_only=True):
    """With ``probability`` an answered call is put on hold once, for ``duration``."""

    probability: Probability
    duration: Duration


class Transfer(Struct, frozen=True, kw_only=True):
    """With ``probability`` the agent transfers the call, at the end of its talk time, to one of
    the queues ``to`` (chosen uniformly). With ``consult_probability`` the transfer is a
    consultation transfer: the caller is held for ``consult`` while the agent consults."""

    probability: Probability
    to: Annotated[list[Ident], msgspec.Meta(min_length=1)]
    consult_probability: Probability = 0.0
    consult: Duration = Duration(dist="exponential", mean=30.0)


class Queue(Struct, frozen=True, kw_only=True):
    """An ACD queue of one media, served by the agents having ``skill``."""

    id: Ident
    media: Media = Media.VOICE
    skill: Ident | None = None
    """The skill an agent needs; defaults to the queue id."""
    min_level: SkillLevel = 1
    routing: Literal["longest_idle", "skill_level"] = "longest_idle"
    """``longest_idle``: the qualified agent idle longest; ``skill_level``: the highest skill
    level first, the longest idle among equals."""
    arrivals: Arrivals | None = None
    """None: the queue receives only transfers."""
    handle_time: Duration
    """Talk time for voice; the time from acceptance to done for chats and emails."""
    answer_delay: Duration | None = None
    """Ringing time of a voice call, or the time an agent takes to accept a chat or an email."""
    patience: Duration | None = None
    """How long a waiting customer waits before abandoning; None: nobody abandons."""
    after_call_work: Duration | None = None
    hold: Hold | None = None
    transfer: Transfer | None = None
    routing_point: Ident | None = None
    """A routing point in front of the queue: calls arrive there and are diverted to the queue."""
    routing_delay: Seconds = 0.5
    """How long a call stays at the routing point before it is diverted to the queue."""
    virtual_queue: Ident | None = None
    """A virtual queue in which a contact also waits while it waits in this queue."""
    released_by_caller: Probability = 0.6
    """Share of voice calls that the caller (rather than the agent) hangs up."""
    max_waiting: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    """At most this many calls wait in the (voice) queue: a call that arrives when it is full
    is turned away (``call.refused``, reason ``full``). None: no limit."""
    max_wait: Seconds | None = None
    """A (voice) call still waiting after this long is sent on to the queue's overflow
    (``call.diverted``, cause ``timeout``), unless the caller abandoned first. None: never."""

    @property
    def skill_name(self) -> str:
        return self.skill if self.skill is not None else self.id


class Shift(Struct, frozen=True, kw_only=True):
    """When the group works, in hours after the scenario start; ``end`` None: until the end."""

    start: Hours = 0.0
    end: Annotated[float, msgspec.Meta(gt=0, le=MAX_HOURS)] | None = None
    login_spread: Seconds = 0.0
    """Agents log in at evenly spread moments over this many seconds after ``start``."""
    agents: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    """In a group's ``shifts``: how many of the group's agents work this shift."""


class Break(Struct, frozen=True, kw_only=True):
    """A scheduled not-ready period (break, lunch) ``after`` hours into the agent's shift."""

    reason: ReasonCode
    after: Hours
    minutes: Annotated[float, msgspec.Meta(gt=0, le=1440)]
    jitter_minutes: Annotated[float, msgspec.Meta(ge=0, le=1440)] = 10.0
    """Each agent's break moves by a uniform random amount within ± this many minutes."""


class RandomNotReady(Struct, frozen=True, kw_only=True):
    """Unplanned not-ready periods: Poisson at ``per_hour`` per agent, each lasting ``duration``
    with a reason drawn uniformly from ``reasons``."""

    per_hour: AgentRate
    duration: Duration
    reasons: Annotated[list[ReasonCode], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["personal"]
    )


class AgentCalls(Struct, frozen=True, kw_only=True):
    """Calls an idle agent places (outbound to customers or internal to other extensions), as a
    Poisson process at ``per_hour`` per agent."""

    per_hour: AgentRate
    handle_time: Duration
    answer_probability: Probability = 1.0
    dial_time: Duration = Duration(dist="constant", mean=8.0)


class Group(Struct, frozen=True, kw_only=True):
    """``agents`` identical agents named ``<id>-001``, ``<id>-002``…"""

    id: Ident
    agents: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    skills: Annotated[dict[Ident, SkillLevel], msgspec.Meta(min_length=1)]
    capacity: dict[Media, Annotated[int, msgspec.Meta(ge=0, le=100)]] = msgspec.field(
        default_factory=lambda: {Media.VOICE: 1}
    )
    """Contacts at once per media: voice at most 1, and an agent on a call takes no chat or
    email (and one with a chat or email takes no call)."""
    shift: Shift = Shift()
    shifts: list[Shift] = []
    """Staggered shifts instead of ``shift``: each says how many agents work it (``agents``),
    taken in agent order; the counts add up to the group's ``agents``."""
    breaks: list[Break] = []
    not_ready: RandomNotReady | None = None
    outbound: AgentCalls | None = None
    internal: AgentCalls | None = None

    def agent_ids(self) -> list[str]:
        """The ids of the group's agents, as they appear in events."""
        width = max(3, len(str(self.agents)))
        return [f"{self.id}-{i:0{width}d}" for i in range(1, self.agents + 1)]

    def agent_shifts(self) -> list[tuple[Shift, int, int]]:
        """Each agent's shift, in agent order, with the agent's place among the shift's agents
        and their number (logins are spread over the shift's agents)."""
        if not self.shifts:
            return [(self.shift, i, self.agents) for i in range(self.agents)]
        return [
            (shift, i, shift.agents or 0) for shift in self.shifts for i in range(shift.agents or 0)
        ]


class Tenant(Struct, frozen=True, kw_only=True):
    id: Ident
    queues: Annotated[list[Queue], msgspec.Meta(min_length=1)]
    groups: list[Group] = []


class Profile(Struct, frozen=True, kw_only=True):
    """An intraday shape of arrivals, as weights of consecutive intervals of a day.

    Either ``csv`` (a file of ``DateTime,Calls`` rows, such as the bank data; relative paths are
    relative to the scenario file) with an optional ``date`` (one day; omitted: the mean over all
    days), or ``weights`` starting at time of day ``start`` (UTC, ``HH:MM``), each covering
    ``interval_minutes``. Outside the covered part of the day the rate is zero (closed)."""

    csv: str | None = None
    date: dt.date | None = None
    weights: list[Annotated[float, msgspec.Meta(ge=0, le=1e9)]] | None = None
    start: Annotated[str, msgspec.Meta(pattern=r"^\d\d:\d\d$")] = "00:00"
    interval_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 30


class Scenario(Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    start: dt.datetime = DEFAULT_START
    profiles: dict[Ident, Profile] = {}
    tenants: Annotated[list[Tenant], msgspec.Meta(min_length=1)]
    base_dir: str = "."
    """Where relative ``csv`` paths are resolved; set by :func:`load_scenario`."""


_PATH = re.compile(r"at `\$(.*)`")


def _field_path(message: str) -> str:
    match = _PATH.search(message)
    return match.group(1).lstrip(".") if match else ""


def parse_scenario(data: Any, *, base_dir: str = ".") -> Scenario:
    """Turn decoded YAML (plain dicts and lists) into a checked :class:`Scenario`."""
    if isinstance(data, dict) and "base_dir" not in data:
        data = {**data, "base_dir": base_dir}
    try:
        scenario = msgspec.convert(data, Scenario, strict=False)
    except msgspec.ValidationError as exc:
        path = _field_path(str(exc)) or "scenario"
        reason = str(exc).split(" - at `", 1)[0]
        raise InvalidInput(f"{path}: {reason}", field=path) from None
    check_scenario(scenario)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read a YAML scenario file; errors name the file and the field."""
    file = Path(path)
    data = load_yaml_file(file, "scenario")
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: a scenario is a mapping with name and tenants", file=str(file))
    try:
        return parse_scenario(data, base_dir=str(file.parent))
    except InvalidInput as exc:
        raise InvalidInput(f"{file}: {exc.message}", file=str(file), **exc.detail) from None


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {message}", field=path)


def _check_duration(path: str, duration: Duration) -> None:
    if duration.dist == "lognormal" and duration.sd is None:
        raise _fail(f"{path}.sd", "a lognormal duration needs sd")
    if duration.dist == "lognormal" and duration.mean < 0.001:
        raise _fail(f"{path}.mean", "a lognormal duration needs a mean of at least 0.001")
    if duration.sd is not None and duration.sd > 100 * max(duration.mean, 0.001):
        raise _fail(f"{path}.sd", "sd must be at most 100 times the mean")


def check_hours(hours: float) -> None:
    """A run's length: above 0, at most MAX_HOURS."""
    if not 0 < hours <= MAX_HOURS:
        raise InvalidInput(f"--hours must be above 0 and at most {MAX_HOURS}", field="hours")


def check_speed(speed: float) -> None:
    """A live run's speed: above 0, at most MAX_SPEED."""
    if not 0 < speed <= MAX_SPEED:
        raise InvalidInput(f"--speed must be above 0 and at most {MAX_SPEED}", field="speed")


def check_scenario(scenario: Scenario) -> None:
    """Check what the schema cannot say: unique ids, references, media rules."""
    if scenario.start.tzinfo is None:
        raise _fail("start", "give the time zone, e.g. 2026-01-05T08:00:00Z")
    if not EARLIEST_START <= scenario.start < LATEST_START:
        raise _fail("start", "must be from 1970-01-01 and before 9000-01-01")
    for name, profile in scenario.profiles.items():
        path = f"profiles.{name}"
        if (profile.csv is None) == (profile.weights is None):
            raise _fail(path, "give either csv or weights")
        if profile.weights is not None and not any(profile.weights):
            raise _fail(f"{path}.weights", "at least one weight must be above 0")
        if profile.weights is not None:
            hours, minutes = (int(p) for p in profile.start.split(":"))
            span = hours * 60 + minutes + len(profile.weights) * profile.interval_minutes
            if hours > 23 or minutes > 59 or span > 1440:
                raise _fail(f"{path}.weights", "the intervals must fit in one day from start")
    tenant_ids: set[str] = set()
    for ti, tenant in enumerate(scenario.tenants):
        tpath = f"tenants[{ti}]"
        if tenant.id in tenant_ids:
            raise _fail(f"{tpath}.id", f"tenant {tenant.id!r} is defined twice")
        tenant_ids.add(tenant.id)
        _check_tenant(scenario, tenant, tpath)
    rate = sum(q.arrivals.per_hour for t in scenario.tenants for q in t.queues if q.arrivals)
    if rate > MAX_TOTAL_RATE:
        raise _fail("tenants", f"the arrivals add up to more than {MAX_TOTAL_RATE:,} an hour")
    if sum(g.agents for t in scenario.tenants for g in t.groups) > MAX_AGENTS:
        raise _fail("tenants", f"the groups add up to more than {MAX_AGENTS:,} agents")


def _check_tenant(scenario: Scenario, tenant: Tenant, tpath: str) -> None:
    queues = {}
    points: set[str] = set()
    for qi, queue in enumerate(tenant.queues):
        qpath = f"{tpath}.queues[{qi}]"
        if queue.id in queues:
            raise _fail(f"{qpath}.id", f"queue {queue.id!r} is defined twice")
        queues[queue.id] = queue
        if queue.media not in (Media.VOICE, Media.CHAT, Media.EMAIL):
            raise _fail(f"{qpath}.media", "the simulator knows voice, chat and email")
        for name in ("handle_time", "answer_delay", "patience", "after_call_work"):
            value = getattr(queue, name)
            if value is not None:
                _check_duration(f"{qpath}.{name}", value)
        if queue.hold is not None:
            _check_duration(f"{qpath}.hold.duration", queue.hold.duration)
        profile = queue.arrivals.profile if queue.arrivals is not None else None
        if profile is not None and profile not in scenario.profiles:
            raise _fail(f"{qpath}.arrivals.profile", f"unknown profile {profile!r}")
        if queue.media is not Media.VOICE:
            for name in (
                "routing_point",
                "after_call_work",
                "hold",
                "transfer",
                "max_waiting",
                "max_wait",
            ):
                if getattr(queue, name) is not None:
                    raise _fail(f"{qpath}.{name}", f"only voice queues have {name}")
        if queue.routing_point is not None:
            if queue.routing_point in points:
                raise _fail(
                    f"{qpath}.routing_point",
                    f"routing point {queue.routing_point!r} is in front of two queues",
                )
            points.add(queue.routing_point)
    for qi, queue in enumerate(tenant.queues):
        if queue.transfer is None:
            continue
        _check_duration(f"{tpath}.queues[{qi}].transfer.consult", queue.transfer.consult)
        for i, target in enumerate(queue.transfer.to):
            path = f"{tpath}.queues[{qi}].transfer.to[{i}]"
            if target not in queues:
                raise _fail(path, f"unknown queue {target!r}")
            if queues[target].media is not Media.VOICE:
                raise _fail(path, f"queue {target!r} is not a voice queue")
    group_ids: set[str] = set()
    for gi, group in enumerate(tenant.groups):
        gpath = f"{tpath}.groups[{gi}]"
        if group.id in group_ids:
            raise _fail(f"{gpath}.id", f"group {group.id!r} is defined twice")
        group_ids.add(group.id)
        if group.capacity.get(Media.VOICE, 0) > 1:
            raise _fail(f"{gpath}.capacity.voice", "an agent takes at most one call at once")
        if Media.WORKITEM in group.capacity:
            raise _fail(f"{gpath}.capacity.workitem", "the simulator knows voice, chat and email")
        if not any(group.capacity.values()):
            raise _fail(f"{gpath}.capacity", "an agent needs capacity for at least one media")
        if group.shifts and group.shift != Shift():
            raise _fail(f"{gpath}.shifts", "give either shift or shifts")
        named = [(f"{gpath}.shifts[{si}]", s) for si, s in enumerate(group.shifts)]
        for spath, shift in named or [(f"{gpath}.shift", group.shift)]:
            if shift.end is not None and shift.end <= shift.start:
                raise _fail(f"{spath}.end", "a shift ends after it starts")
            if named and shift.agents is None:
                raise _fail(f"{spath}.agents", "each of a group's shifts says how many agents")
        if group.shifts and sum(s.agents or 0 for s in group.shifts) != group.agents:
            raise _fail(f"{gpath}.shifts", f"the shifts' agents must add up to {group.agents}")
        for bi, brk in enumerate(group.breaks):
            if brk.reason in ("", None):
                raise _fail(f"{gpath}.breaks[{bi}].reason", "a break needs a reason code")
        if group.not_ready is not None:
            _check_duration(f"{gpath}.not_ready.duration", group.not_ready.duration)
        for name in ("outbound", "internal"):
            calls: AgentCalls | None = getattr(group, name)
            if calls is not None:
                if not group.capacity.get(Media.VOICE, 0):
                    raise _fail(f"{gpath}.{name}", "only agents with voice capacity place calls")
                _check_duration(f"{gpath}.{name}.handle_time", calls.handle_time)
                _check_duration(f"{gpath}.{name}.dial_time", calls.dial_time)
