"""Brute-force reference: recompute a statistic from the whole event list, nothing incremental.

It replays the (deduplicated, time-sorted) voice events into plain lists of facts — every
action with its time, queue-entry time and duration; every agent status interval — and then
answers each question by filtering those lists. Only the window arithmetic (``DayPartition``,
checked on its own against a minute-by-minute scan) is shared with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from wallboard.core import events as ev
from wallboard.stats.definitions import (
    Attribution,
    Category,
    ServiceLevelType,
    SinceLogin,
    Sliding,
    StatisticDefinition,
)
from wallboard.stats.windows import fixed_windows


@dataclass
class Action:
    scope: str  # "agent" or "queue"
    owner: str
    kind: str
    t: int
    entered: int
    dur: int


@dataclass
class Interval:
    agent: str
    status: str
    reason: str | None
    start: int
    end: int | None = None


@dataclass
class Facts:
    actions: list[Action] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    logins: dict[str, list[int]] = field(default_factory=dict)
    waiting: dict[str, dict[str, int]] = field(default_factory=dict)  # queue → call → since
    entered_of: dict[str, int] = field(default_factory=dict)


def derive_facts(events: list[ev.Event], lateness_ms: int) -> Facts:
    # Dedupe by id (first arrival wins), drop what the engine must call too late, sort by time.
    seen: set[str] = set()
    kept: list[tuple[int, int, ev.Event]] = []
    watermark = -1
    cutoff = -1
    for index, e in enumerate(events):
        if e.id in seen:
            continue
        if e.ts < cutoff:
            continue
        seen.add(e.id)
        watermark = max(watermark, e.ts)
        cutoff = max(cutoff, watermark - lateness_ms)
        kept.append((e.ts, index, e))
    kept.sort(key=lambda item: (item[0], item[1]))
    facts = Facts()
    logged_in: dict[str, bool] = {}
    base: dict[str, tuple[str, str | None]] = {}
    contacts: dict[str, dict[str, str]] = {}
    current: dict[str, Interval] = {}
    calls: dict[str, dict[str, object]] = {}

    def effective(agent: str) -> tuple[str, str | None]:
        values = contacts.get(agent, {}).values()
        if "talking" in values:
            return "talking", None
        if "held" in values:
            return "held", None
        if values:
            return "ringing", None
        return base.get(agent, ("logged_out", None))

    def refresh(agent: str, t: int) -> None:
        status, reason = effective(agent)
        open_interval = current.get(agent)
        if open_interval is None:
            current[agent] = Interval(agent, "logged_out", None, t)
            facts.intervals.append(current[agent])
            open_interval = current[agent]
        if (open_interval.status, open_interval.reason) != (status, reason):
            open_interval.end = t
            current[agent] = Interval(agent, status, reason, t)
            facts.intervals.append(current[agent])

    def act(scope: str, owner: str, kind: str, t: int, entered: int, dur: int) -> None:
        facts.actions.append(Action(scope, owner, kind, t, entered, dur))

    def drop_leg(
        call_id: str, call: dict[str, object], agent: str, t: int, completed: bool
    ) -> None:
        legs: dict[str, dict[str, int]] = call["legs"]  # type: ignore[assignment]
        leg = legs.pop(agent)
        entered = call["answered_entered"] if call["answered_entered"] is not None else t
        assert isinstance(entered, int)
        if leg["hold"] >= 0:
            act("agent", agent, "hold", t, entered, t - leg["hold"])
        if leg["answered"] >= 0:
            if completed:
                act("agent", agent, "released", t, entered, t - leg["answered"])
                if call["from"] is not None:
                    act("queue", str(call["from"]), "released", t, entered, t - leg["answered"])
        else:
            act("agent", agent, "missed", t, entered, 0)
        contacts.get(agent, {}).pop(call_id, None)
        refresh(agent, t)

    for t, _, e in kept:
        if isinstance(e, ev.AgentLogin):
            a = e.agent
            refresh(a, t)
            logged_in[a] = True
            facts.logins.setdefault(a, []).append(t)
            if base.get(a, ("logged_out", None))[0] == "logged_out":
                base[a] = ("not_ready", None)
                refresh(a, t)
                act("agent", a, "login", t, t, 0)
        elif isinstance(e, ev.AgentLogout):
            if logged_in.get(e.agent):
                logged_in[e.agent] = False
                base[e.agent] = ("logged_out", None)
                refresh(e.agent, t)
                act("agent", e.agent, "logout", t, t, t - facts.logins[e.agent][-1])
        elif isinstance(e, ev.AgentReady | ev.AgentNotReady | ev.AgentAfterCallWork):
            if not logged_in.get(e.agent):
                continue
            if isinstance(e, ev.AgentReady):
                base[e.agent] = ("ready", None)
            elif isinstance(e, ev.AgentNotReady):
                base[e.agent] = ("not_ready", e.reason)
            else:
                base[e.agent] = ("acw", None)
            refresh(e.agent, t)
        elif isinstance(e, ev.CallQueued):
            call = calls.setdefault(
                e.call,
                {"queue": None, "entered": -1, "legs": {}, "from": None, "answered_entered": None},
            )
            if call["queue"] is not None:
                q = str(call["queue"])
                since = facts.waiting[q].pop(e.call)
                act("queue", q, "diverted", t, since, t - since)
            call["queue"], call["entered"] = e.queue, t
            facts.waiting.setdefault(e.queue, {})[e.call] = t
            act("queue", e.queue, "entered", t, t, 0)
        elif isinstance(e, ev.CallRinging):
            call = calls.setdefault(
                e.call,
                {"queue": None, "entered": -1, "legs": {}, "from": None, "answered_entered": None},
            )
            legs = call["legs"]
            assert isinstance(legs, dict)
            if e.agent is None or e.agent in legs:
                continue
            refresh(e.agent, t)
            legs[e.agent] = {"rang": t, "answered": -1, "hold": -1}
            contacts.setdefault(e.agent, {})[e.call] = "ringing"
            refresh(e.agent, t)
            entered = call["entered"] if call["queue"] is not None else t
            assert isinstance(entered, int)
            act("agent", e.agent, "offered", t, entered, 0)
        elif isinstance(e, ev.CallEstablished):
            call = calls.setdefault(
                e.call,
                {"queue": None, "entered": -1, "legs": {}, "from": None, "answered_entered": None},
            )
            legs = call["legs"]
            assert isinstance(legs, dict)
            if e.agent is not None and e.agent in legs and legs[e.agent]["answered"] >= 0:
                continue
            if call["queue"] is not None:
                q = str(call["queue"])
                since = facts.waiting[q].pop(e.call)
                act("queue", q, "answered", t, since, t - since)
                call["from"], call["answered_entered"], call["queue"] = q, since, None
            if e.agent is None:
                continue
            for other in [a for a, leg in legs.items() if leg["answered"] < 0 and a != e.agent]:
                drop_leg(e.call, call, other, t, completed=False)
            refresh(e.agent, t)
            leg = legs.setdefault(e.agent, {"rang": -1, "answered": -1, "hold": -1})
            leg["answered"] = t
            contacts.setdefault(e.agent, {})[e.call] = "talking"
            refresh(e.agent, t)
            entered = call["answered_entered"] if call["answered_entered"] is not None else t
            assert isinstance(entered, int)
            act(
                "agent", e.agent, "answered", t, entered, t - leg["rang"] if leg["rang"] >= 0 else 0
            )
        elif isinstance(e, ev.CallHeld | ev.CallRetrieved):
            call = calls.get(e.call)
            legs = {} if call is None else call["legs"]
            assert isinstance(legs, dict)
            want = "talking" if isinstance(e, ev.CallHeld) else "held"
            if (
                e.agent is None
                or e.agent not in legs
                or contacts.get(e.agent, {}).get(e.call) != want
            ):
                continue
            assert call is not None
            if isinstance(e, ev.CallHeld):
                legs[e.agent]["hold"] = t
                contacts[e.agent][e.call] = "held"
            else:
                entered = call["answered_entered"] if call["answered_entered"] is not None else t
                assert isinstance(entered, int)
                act("agent", e.agent, "hold", t, entered, t - legs[e.agent]["hold"])
                legs[e.agent]["hold"] = -1
                contacts[e.agent][e.call] = "talking"
            refresh(e.agent, t)
        elif isinstance(e, ev.CallReleased):
            call = calls.get(e.call)
            if call is None:
                continue
            legs = call["legs"]
            assert isinstance(legs, dict)
            if e.agent is not None:
                if e.agent not in legs or legs[e.agent]["answered"] < 0:
                    continue
                drop_leg(e.call, call, e.agent, t, completed=True)
            else:
                for agent in list(legs):
                    drop_leg(e.call, call, agent, t, completed=True)
            if call["queue"] is not None and e.agent is None:
                q = str(call["queue"])
                since = facts.waiting[q].pop(e.call)
                act("queue", q, "diverted", t, since, t - since)
                call["queue"] = None
            if not legs and call["queue"] is None:
                del calls[e.call]
        elif isinstance(e, ev.CallAbandoned):
            call = calls.get(e.call)
            if call is None or call["queue"] is None:
                continue
            q = str(call["queue"])
            since = facts.waiting[q].pop(e.call)
            act("queue", q, "abandoned", t, since, t - since)
            call["queue"] = None
            legs = call["legs"]
            assert isinstance(legs, dict)
            for agent in list(legs):
                drop_leg(e.call, call, agent, t, completed=False)
            del calls[e.call]
        else:
            raise AssertionError(f"the reference does not model {type(e).__name__}")
    return facts


def _window(
    d: StatisticDefinition, zone: ZoneInfo, facts: Facts, owner: str, now: int
) -> tuple[int, int] | None:
    """[start, end] of the window at ``now`` as a time interval (sliding: bucket-aligned)."""
    if isinstance(d.profile, Sliding):
        step = d.profile.step_s * 1000
        slots = d.profile.window_s // d.profile.step_s
        return (now // step - slots + 1) * step, now
    if isinstance(d.profile, SinceLogin):
        logins = [t for t in facts.logins.get(owner, []) if t <= now]
        return (logins[-1], now) if logins else None
    windows = fixed_windows(d.profile, zone)
    assert windows is not None
    return windows.start(now), now


def reference_value(
    d: StatisticDefinition,
    facts: Facts,
    object_type: str,
    object_id: str,
    members: frozenset[str],
    now: int,
    zone: ZoneInfo,
) -> object:
    """The value of ``d`` for one agent/group (``members``) or queue at ``now``."""
    category = d.category
    if category is Category.CURRENT_NUMBER or category is Category.CURRENT_MAX_TIME:
        if d.mask == ("waiting",):
            starts = list(facts.waiting.get(object_id, {}).values())
        else:
            starts = [
                i.start
                for i in facts.intervals
                if i.agent in members and i.end is None and i.status in d.mask
            ]
        if category is Category.CURRENT_NUMBER:
            return len(starts)
        return now - min(starts) if starts else None
    window = _window(d, zone, facts, object_id, now)
    if window is None:
        return None
    ws, _ = window
    if d.is_status:
        picked = [i for i in facts.intervals if i.agent in members and i.status in d.mask]
        include_open = d.counts_in_progress
        total = 0
        lengths: list[int] = []
        for i in picked:
            end = i.end if i.end is not None else (now if include_open else None)
            if end is None:
                continue
            total += max(0, end - max(i.start, ws))
            if i.start >= ws:
                lengths.append(end - i.start)
        if category is Category.TOTAL_TIME:
            return total
        if category is Category.TOTAL_NUMBER:
            return len(lengths)
        if category is Category.AVERAGE_TIME:
            return sum(lengths) / len(lengths) if lengths else None
        if category is Category.MAX_TIME:
            return max(lengths) if lengths else None
        return min(lengths) if lengths else None
    scope = "agent" if object_type in ("agent", "agent_group") else "queue"
    owners = members if scope == "agent" else frozenset({object_id})
    entered = d.attribution is Attribution.ENTERED

    def in_window(t: int) -> bool:
        return ws <= t <= now

    if category is Category.SERVICE_FACTOR:
        assert d.service_level is not None
        threshold = round(d.service_level.threshold_s * 1000)
        ans_w = ab_w = exceeded = entered_n = removed_w = answered = 0
        for a in facts.actions:
            if a.scope != scope or a.owner not in owners:
                continue
            when = a.entered if entered else a.t
            if a.kind == "entered":
                entered_n += in_window(a.t)
                continue
            if a.kind not in ("answered", "abandoned", "diverted"):
                continue
            within = a.dur <= threshold
            if a.kind == "answered" and in_window(when):
                answered += 1
            if within and in_window(when):
                removed_w += 1
                ans_w += a.kind == "answered"
                ab_w += a.kind == "abandoned"
            if not within and in_window(a.entered if entered else a.entered + threshold):
                exceeded += 1
        for since in facts.waiting.get(object_id, {}).values():
            if since + threshold <= now and in_window(since if entered else since + threshold):
                exceeded += 1
        offered = ans_w + ab_w + exceeded
        kind = d.service_level.type
        pairs = {
            ServiceLevelType.REMOVED_FROM_QUEUE: (removed_w, entered_n),
            ServiceLevelType.IGNORE_ABANDONED: (ans_w, offered - ab_w),
            ServiceLevelType.ABANDONED_NEGATIVE: (ans_w, offered),
            ServiceLevelType.ABANDONED_POSITIVE: (ans_w + ab_w, offered),
            ServiceLevelType.ANSWERED_ONLY: (ans_w, answered),
        }
        top, bottom = pairs[kind]
        return 100.0 * top / bottom if bottom else None
    picked_actions = [
        a
        for a in facts.actions
        if a.scope == scope
        and a.owner in owners
        and a.kind in d.mask
        and in_window(a.entered if entered else a.t)
    ]
    durations = [a.dur for a in picked_actions]
    if category is Category.TOTAL_NUMBER:
        return len(durations)
    if category is Category.TOTAL_TIME:
        return sum(durations)
    if category is Category.AVERAGE_TIME:
        return sum(durations) / len(durations) if durations else None
    if category is Category.MAX_TIME:
        return max(durations) if durations else None
    if category is Category.MIN_TIME:
        return min(durations) if durations else None
    assert d.time_range is not None
    lo = round(d.time_range.from_s * 1000)
    hi = 1 << 62 if d.time_range.to_s is None else round(d.time_range.to_s * 1000)
    inside = sum(1 for x in durations if lo <= x <= hi)
    if category is Category.TOTAL_NUMBER_IN_TIME_RANGE:
        return inside
    return 100.0 * inside / len(durations) if durations else None
