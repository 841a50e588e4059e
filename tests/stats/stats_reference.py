"""Brute-force reference: recompute a statistic from the whole event list, nothing incremental.

It replays the (deduplicated, time-sorted) events — agents on several media, calls, chat and
email interactions, virtual queues — into plain lists of facts: every action with its time,
queue-entry time, duration, media and the contact's attributes; every agent status interval;
what is still in progress at the end (waiting contacts, answered legs, holds, sessions). Each
question is then answered by filtering those lists. Only the window arithmetic
(``DayPartition``, checked on its own against a minute-by-minute scan) is shared with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from wallboard.core import events as ev
from wallboard.stats.definitions import (
    Attribution,
    Category,
    Counting,
    Durations,
    Filter,
    ServiceLevelType,
    SinceLogin,
    Sliding,
    StatisticDefinition,
)
from wallboard.stats.state import ObjectConfig
from wallboard.stats.windows import fixed_windows

Owner = tuple[str, str]  # ("agent", id) or (queue type, id)


@dataclass(frozen=True)
class Attrs:
    """A contact's attributes at the time of a fact (what filters look at)."""

    direction: str
    data: tuple[tuple[str, str], ...]
    skill: str | None

    def matches(self, f: Filter) -> bool:
        if f.direction and self.direction not in f.direction:
            return False
        data = dict(self.data)
        if f.skill is not None and data.get("skill", self.skill) != f.skill:
            return False
        return all(data.get(k) == v for k, v in f.data.items())


@dataclass
class Action:
    owner: Owner
    kind: str
    t: int
    entered: int
    dur: int
    media: str
    attrs: Attrs | None
    cause: str | None = None  # a refusal's reason, a diversion's cause
    reported: int | None = None  # the duration the platform reported, if any


@dataclass
class Ongoing:
    """An action still in progress at the end: it would complete with duration now - start."""

    owner: Owner
    kind: str
    start: int
    entered: int | None  # None: the read time (a session's logout)
    media: str
    attrs: Attrs | None


@dataclass
class Interval:
    agent: str
    media: str
    status: str
    reason: str | None
    start: int
    end: int | None = None


@dataclass
class Contact:
    media: str
    direction: str
    data: dict[str, str]
    skill: str | None = None
    queue: Owner | None = None
    entered: int = -1
    answered_from: Owner | None = None
    answered_entered: int | None = None
    legs: dict[str, dict[str, int]] = field(default_factory=dict)
    # Its first entry into an ACD queue and its first answer from a queue (counts per contact).
    first_entered: int | None = None
    first_answered: int | None = None
    transferred_at: int | None = None  # transferred since it last entered a queue

    def attrs(self) -> Attrs:
        return Attrs(self.direction, tuple(sorted(self.data.items())), self.skill)


@dataclass
class Facts:
    actions: list[Action] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    logins: dict[str, list[int]] = field(default_factory=dict)
    # queue (type, id) → contact key → (since, media, attributes) of contacts waiting at the end
    waiting: dict[Owner, dict[str, tuple[int, str, Attrs | None]]] = field(default_factory=dict)
    ongoing: list[Ongoing] = field(default_factory=list)
    login_queues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (agent, media) → (leg status, attributes) of the contacts the agent is on at the end
    on_contacts: dict[tuple[str, str], list[tuple[str, Attrs]]] = field(default_factory=dict)
    # Contacts waiting in an ACD queue at the end, never answered: (first entry, media, attrs)
    contacts_waiting: list[tuple[int, str, Attrs]] = field(default_factory=list)


CONTACTS: Owner = ("contact", "")
"""The owner of the facts of contacts as the tenant counts them (``count: contacts``)."""


def derive_facts(
    events: list[ev.Event], lateness_ms: int, config: ObjectConfig | None = None
) -> Facts:
    config = config or ObjectConfig()
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
    base: dict[tuple[str, str], tuple[str, str | None]] = {}
    media_of: dict[str, list[str]] = {}  # agent → media met, in order
    on_contacts: dict[tuple[str, str], dict[str, str]] = {}  # (agent, media) → contact → state
    current: dict[tuple[str, str], Interval] = {}
    contacts: dict[str, Contact] = {}  # "call:id" / "ix:id"
    vq_entries: dict[tuple[str, str], int] = {}
    # Calls whose last leg ended after a transfer, kept an hour for their next queue:
    # key → transfer instant, in the order they were kept.
    kept_calls: dict[str, int] = {}
    # (agent, media) → [(the queue, entry, media, attributes, key) of the contact answered from
    # a queue the agent released last, the release instant — None once after-call work began]
    wraps: dict[tuple[str, str], list[Any]] = {}

    def wrap_change(agent: str, media: str, status: str, since: int, t: int) -> None:
        """After-call work begun at the release of a contact answered from a queue (or later
        by an ``agent.acw`` naming it) is that queue's, counted when it ends."""
        wrap = wraps.get((agent, media))
        if wrap is None:
            return
        (owner, entered, wrap_media, attrs, _), at = wrap
        if at is None:
            del wraps[(agent, media)]
            facts.actions.append(
                Action(owner, "after_call_work", t, entered, t - since, wrap_media, attrs)
            )
        elif at != t:
            del wraps[(agent, media)]
        elif status == "acw":
            wrap[1] = None

    def effective(agent: str, media: str) -> tuple[str, str | None]:
        values = on_contacts.get((agent, media), {}).values()
        if "talking" in values:
            return "talking", None
        if "held" in values:
            return "held", None
        if values:
            return "ringing", None
        status, reason = base.get((agent, media), ("logged_out", None))
        # Ready, but a contact of another media in the way: a call excludes every other media,
        # a chat or email excludes calls.
        others = [m for m in media_of.get(agent, []) if m != media and on_contacts.get((agent, m))]
        if status == "ready" and any(media == "voice" or m == "voice" for m in others):
            return "busy", reason
        return status, reason

    def refresh(agent: str, media: str, t: int) -> None:
        if media not in media_of.setdefault(agent, []):
            media_of[agent].append(media)
        status, reason = effective(agent, media)
        open_interval = current.get((agent, media))
        if open_interval is None:
            open_interval = current[(agent, media)] = Interval(agent, media, "logged_out", None, t)
            facts.intervals.append(open_interval)
        if (open_interval.status, open_interval.reason) != (status, reason):
            wrap_change(agent, media, status, open_interval.start, t)
            open_interval.end = t
            current[(agent, media)] = Interval(agent, media, status, reason, t)
            facts.intervals.append(current[(agent, media)])

    def act(
        owner: Owner,
        kind: str,
        t: int,
        entered: int,
        dur: int,
        media: str,
        c: Contact | None,
        cause: str | None = None,
        reported: int | None = None,
    ) -> None:
        attrs = None if c is None else c.attrs()
        facts.actions.append(Action(owner, kind, t, entered, dur, media, attrs, cause, reported))

    def contact_of(key: str, media: str, direction: str = "inbound") -> Contact:
        c = contacts.get(key)
        if c is None:
            c = contacts[key] = Contact(media, direction, {})
        return c

    def leave(
        c: Contact, kind: str, t: int, reported: int | None = None, cause: str | None = None
    ) -> None:
        assert c.queue is not None
        q = c.queue
        facts.waiting[q].pop(key_of[id(c)])
        act(q, kind, t, c.entered, t - c.entered, c.media, c, cause, reported)
        if kind == "answered":
            c.answered_from, c.answered_entered = q, c.entered
        c.queue = None
        if kind != "diverted" and c.first_answered is None and c.first_entered is not None:
            if kind == "answered":
                c.first_answered = t
            act(CONTACTS, kind, t, c.first_entered, t - c.first_entered, c.media, c)

    def enter(c: Contact, q: Owner, t: int) -> None:
        if c.queue is not None:
            leave(c, "diverted", t, cause="routed")
        if c.transferred_at is not None:
            c.transferred_at = None
            kept_calls.pop(key_of[id(c)], None)
        c.queue, c.entered = q, t
        if q[0] == "queue":
            queue_config = config.queues.get(q[1])
            c.skill = None if queue_config is None else queue_config.skill
        facts.waiting.setdefault(q, {})[key_of[id(c)]] = (t, c.media, None)
        act(q, "entered", t, t, 0, c.media, c)
        if q[0] == "queue" and c.first_entered is None:
            c.first_entered = t
            act(CONTACTS, "entered", t, t, 0, c.media, c)

    key_of: dict[int, str] = {}

    def get(key: str, media: str, direction: str = "inbound") -> Contact:
        c = contact_of(key, media, direction)
        key_of[id(c)] = key
        return c

    def set_leg(key: str, c: Contact, agent: str, status: str, t: int) -> dict[str, int]:
        refresh(agent, c.media, t)
        leg = c.legs.setdefault(
            agent, {"rang": t if status == "ringing" else -1, "answered": -1, "hold": -1}
        )
        on_contacts.setdefault((agent, c.media), {})[key] = status
        for m in media_of[agent]:
            refresh(agent, m, t)
        return leg

    def drop_leg(
        key: str, c: Contact, agent: str, t: int, completed: bool, talk: int | None = None
    ) -> None:
        leg = c.legs.pop(agent)
        entered = c.answered_entered if c.answered_entered is not None else t
        if leg["hold"] >= 0:
            act(("agent", agent), "hold", t, entered, t - leg["hold"], c.media, c)
        if leg["answered"] >= 0:
            if completed:
                measured = t - leg["answered"]
                act(("agent", agent), "released", t, entered, measured, c.media, c, None, talk)
                if c.answered_from is not None:
                    act(c.answered_from, "released", t, entered, measured, c.media, c, None, talk)
                    wrap = (c.answered_from, entered, c.media, c.attrs(), key)
                    wraps[(agent, c.media)] = [wrap, t]
        elif c.direction != "outbound":
            act(("agent", agent), "missed", t, entered, 0, c.media, c)
        on_contacts.get((agent, c.media), {}).pop(key, None)
        for m in media_of.setdefault(agent, [c.media]):
            refresh(agent, m, t)

    def answer(key: str, c: Contact, agent: str, t: int, reported: int | None = None) -> None:
        leg = set_leg(key, c, agent, "talking", t)
        leg["answered"] = t
        entered = c.answered_entered if c.answered_entered is not None else t
        ring = t - leg["rang"] if leg["rang"] >= 0 else 0
        act(("agent", agent), "answered", t, entered, ring, c.media, c, None, reported)

    # agent → media → the queues its logins and changes named for that media
    media_queues: dict[str, dict[str, set[str]]] = {}

    def session_queues(a: str) -> None:
        facts.login_queues[a] = tuple(set().union(*media_queues[a].values()))

    for t, _, e in kept:
        if isinstance(e, ev.AgentLogin):
            a = e.agent
            if not logged_in.get(a):
                # A new session; a login while logged in joins it: the queues add up, the
                # session's start stays.
                logged_in[a] = True
                facts.logins.setdefault(a, []).append(t)
                media_queues[a] = {}
            if e.queues:
                for m in e.media:
                    media_queues[a].setdefault(m, set()).update(e.queues)
                session_queues(a)
            for m in e.media:
                refresh(a, m, t)
                if base.get((a, m), ("logged_out", None))[0] == "logged_out":
                    base[(a, m)] = ("not_ready", None)
                    refresh(a, m, t)
                    act(("agent", a), "login", t, t, 0, m, None)
        elif isinstance(e, ev.AgentQueuesChanged):
            a = e.agent
            if logged_in.get(a):
                named = (
                    list(e.media)
                    or list(media_queues[a])
                    or [
                        m
                        for m in media_of.get(a, [])
                        if base.get((a, m), ("logged_out", None))[0] != "logged_out"
                    ]
                )
                if not e.media:
                    media_queues[a] = {}
                for m in named:
                    media_queues[a][m] = set(e.queues)
                if named:
                    session_queues(a)
                else:
                    facts.login_queues[a] = tuple(e.queues)
        elif isinstance(e, ev.AgentLogout):
            a = e.agent
            if logged_in.get(a):
                for m in media_of.get(a, []):
                    if base.get((a, m), ("logged_out", None))[0] == "logged_out":
                        continue
                    if e.media and m not in e.media:
                        continue
                    base[(a, m)] = ("logged_out", None)
                    refresh(a, m, t)
                    act(("agent", a), "logout", t, t, t - facts.logins[a][-1], m, None)
                    if media_queues[a].pop(m, None) is not None:
                        session_queues(a)
                if all(
                    base.get((a, m), ("logged_out", None))[0] == "logged_out"
                    for m in media_of.get(a, [])
                ):
                    logged_in[a] = False
                    facts.login_queues.pop(a, None)
        elif isinstance(e, ev.AgentReady | ev.AgentNotReady | ev.AgentAfterCallWork):
            if isinstance(e, ev.AgentAfterCallWork) and e.call is not None:
                wrap = wraps.get((e.agent, e.media))
                if wrap is not None and wrap[1] is not None and wrap[0][4] == f"call:{e.call}":
                    wrap[1] = t
            if not logged_in.get(e.agent):
                continue
            refresh(e.agent, e.media, t)
            if isinstance(e, ev.AgentReady):
                base[(e.agent, e.media)] = ("ready", None)
            elif isinstance(e, ev.AgentNotReady):
                base[(e.agent, e.media)] = ("not_ready", e.reason)
            else:
                base[(e.agent, e.media)] = ("acw", None)
            refresh(e.agent, e.media, t)
        elif isinstance(e, ev.CallQueued):
            c = get(f"call:{e.call}", "voice", e.direction)
            c.data.update(e.data)
            enter(c, (e.point.value, e.queue), t)
        elif isinstance(e, ev.InteractionCreated):
            key = f"ix:{e.interaction}"
            if key in contacts:
                continue
            c = get(key, e.media, e.direction)
            c.data.update(e.data)
        elif isinstance(e, ev.InteractionQueued):
            c = get(f"ix:{e.interaction}", e.media)
            enter(c, ("queue", e.queue), t)
        elif isinstance(e, ev.CallRinging | ev.InteractionOffered):
            if isinstance(e, ev.CallRinging):
                key = f"call:{e.call}"
                c = get(key, "voice", e.direction)
            else:
                key = f"ix:{e.interaction}"
                c = get(key, e.media)
            if e.agent is None or e.agent in c.legs:
                continue
            set_leg(key, c, e.agent, "ringing", t)
            entered = c.entered if c.queue is not None else t
            act(("agent", e.agent), "offered", t, entered, 0, c.media, c)
        elif isinstance(e, ev.CallEstablished):
            key = f"call:{e.call}"
            c = get(key, "voice", e.direction)
            if e.agent is not None and e.agent in c.legs and c.legs[e.agent]["answered"] >= 0:
                continue
            if c.queue is not None:
                leave(c, "answered", t, e.wait_ms)
            if e.agent is None:
                continue
            for other in [a for a, leg in c.legs.items() if leg["answered"] < 0 and a != e.agent]:
                drop_leg(key, c, other, t, completed=False)
            answer(key, c, e.agent, t, e.ring_ms)
        elif isinstance(e, ev.InteractionAccepted):
            key = f"ix:{e.interaction}"
            c = get(key, e.media)
            if e.agent in c.legs and c.legs[e.agent]["answered"] >= 0:
                continue
            if c.queue is not None:
                leave(c, "answered", t)
            answer(key, c, e.agent, t)
        elif isinstance(e, ev.CallHeld | ev.CallRetrieved):
            key = f"call:{e.call}"
            found = contacts.get(key)
            want = "talking" if isinstance(e, ev.CallHeld) else "held"
            if (
                found is None
                or e.agent is None
                or e.agent not in found.legs
                or on_contacts.get((e.agent, "voice"), {}).get(key) != want
            ):
                continue
            leg = found.legs[e.agent]
            if isinstance(e, ev.CallHeld):
                leg["hold"] = t
                set_leg(key, found, e.agent, "held", t)
            else:
                entered = found.answered_entered if found.answered_entered is not None else t
                act(("agent", e.agent), "hold", t, entered, t - leg["hold"], "voice", found)
                leg["hold"] = -1
                set_leg(key, found, e.agent, "talking", t)
        elif isinstance(e, ev.CallReleased):
            key = f"call:{e.call}"
            found = contacts.get(key)
            if found is None:
                continue
            if e.agent is not None:
                if e.agent not in found.legs:
                    continue
                completed = found.legs[e.agent]["answered"] >= 0
                drop_leg(key, found, e.agent, t, completed, e.talk_ms)
            else:
                for agent in list(found.legs):
                    drop_leg(key, found, agent, t, True, e.talk_ms)
            if found.queue is not None and e.agent is None:
                leave(found, "diverted", t)
                first = found.first_entered
                if not found.legs and found.first_answered is None and first is not None:
                    act(CONTACTS, "diverted", t, first, t - first, found.media, found)
            if not found.legs and found.queue is None:
                if found.transferred_at is None:
                    del contacts[key]
                    continue
                kept_calls.pop(key, None)
                kept_calls[key] = found.transferred_at
                for old_key, at in list(kept_calls.items()):
                    if at >= t - 3_600_000:
                        break
                    del kept_calls[old_key]
                    old = contacts.get(old_key)
                    lingering = old is not None and not old.legs and old.queue is None
                    if lingering and old is not None and old.transferred_at == at:
                        del contacts[old_key]
        elif isinstance(e, ev.CallAbandoned):
            key = f"call:{e.call}"
            found = contacts.get(key)
            if found is None or found.queue is None:
                continue
            leave(found, "abandoned", t, e.wait_ms)
            for agent in list(found.legs):
                drop_leg(key, found, agent, t, completed=False)
            del contacts[key]
        elif isinstance(e, ev.CallRefused):
            found = contacts.get(f"call:{e.call}")
            if found is not None and found.queue is not None and found.queue[1] == e.queue:
                continue
            if found is None:
                # Not kept: an inbound call with the queue's skill, for the filters.
                queue_config = config.queues.get(e.queue)
                found = Contact("voice", "inbound", {})
                found.skill = None if queue_config is None else queue_config.skill
            act(("queue", e.queue), "refused", t, t, 0, "voice", found, e.reason.value)
        elif isinstance(e, ev.CallDiverted):
            key = f"call:{e.call}"
            found = contacts.get(key)
            if found is None or found.queue is None or found.queue[1] != e.queue:
                continue
            cause = None if e.cause is None else e.cause.value
            leave(found, "diverted", t, e.wait_ms, cause)
            if not found.legs:
                # Out of view: the contact's outcome, if it was never answered.
                first = found.first_entered
                if found.first_answered is None and first is not None:
                    act(CONTACTS, "diverted", t, first, t - first, found.media, found, cause)
                del contacts[key]
        elif isinstance(e, ev.InteractionRejected | ev.InteractionRevoked):
            key = f"ix:{e.interaction}"
            found = contacts.get(key)
            if found is None or e.agent not in found.legs or found.legs[e.agent]["answered"] >= 0:
                continue
            drop_leg(key, found, e.agent, t, completed=False)
        elif isinstance(e, ev.CallTransferred | ev.InteractionTransferred):
            if isinstance(e, ev.CallTransferred):
                key, media = f"call:{e.call}", "voice"
            else:
                key, media = f"ix:{e.interaction}", e.media.value
            found = contacts.get(key)
            if found is None:
                continue
            entered = found.answered_entered if found.answered_entered is not None else t
            if e.agent is not None:
                act(("agent", e.agent), "transferred", t, entered, 0, media, found)
            if found.answered_from is not None:
                act(found.answered_from, "transferred", t, entered, 0, media, found)
            if isinstance(e, ev.CallTransferred):
                found.transferred_at = t  # (its next queue is the same call's)
            elif e.agent is not None and e.agent in found.legs:
                drop_leg(key, found, e.agent, t, completed=True)
        elif isinstance(e, ev.InteractionDone):
            key = f"ix:{e.interaction}"
            found = contacts.get(key)
            if found is None:
                continue
            if found.queue is not None:
                abandoned = e.outcome is ev.InteractionOutcome.ABANDONED
                leave(found, "abandoned" if abandoned else "stopped", t)
            for agent in list(found.legs):
                drop_leg(key, found, agent, t, completed=True)
            del contacts[key]
        elif isinstance(e, ev.VirtualQueueEntered | ev.VirtualQueueLeft):
            if e.call is not None:
                key = f"call:{e.call}"
            elif e.interaction is not None:
                key = f"ix:{e.interaction}"
            else:
                continue
            contact_id = e.call or e.interaction
            assert contact_id is not None
            vq: Owner = ("virtual_queue", e.vq)
            vq_contact = contacts.get(key)
            if isinstance(e, ev.VirtualQueueEntered):
                if (e.vq, contact_id) in vq_entries:
                    continue
                vq_entries[(e.vq, contact_id)] = t
                # Filters look at the contact as it is when the current value is read.
                facts.waiting.setdefault(vq, {})[f"vq:{key}"] = (t, e.media, None)
                act(vq, "entered", t, t, 0, e.media, vq_contact)
            else:
                since = vq_entries.pop((e.vq, contact_id), None)
                if since is None:
                    continue
                facts.waiting[vq].pop(f"vq:{key}")
                act(vq, e.reason.value, t, since, t - since, e.media, vq_contact)
        else:
            raise AssertionError(f"the reference does not model {type(e).__name__}")
    # What is in progress at the end, and the attributes of contacts still waiting.
    for waiting in facts.waiting.values():
        for key, (since, media, _) in list(waiting.items()):
            c = contacts.get(key.removeprefix("vq:"))
            waiting[key] = (since, media, None if c is None else c.attrs())
    for c in contacts.values():
        attrs = c.attrs()
        for agent, leg in c.legs.items():
            entered = c.answered_entered if c.answered_entered is not None else None
            if leg["answered"] >= 0:
                facts.ongoing.append(
                    Ongoing(("agent", agent), "released", leg["answered"], entered, c.media, attrs)
                )
                if c.answered_from is not None:
                    facts.ongoing.append(
                        Ongoing(
                            c.answered_from,
                            "released",
                            leg["answered"],
                            c.answered_entered,
                            c.media,
                            attrs,
                        )
                    )
            if leg["hold"] >= 0:
                facts.ongoing.append(
                    Ongoing(("agent", agent), "hold", leg["hold"], entered, c.media, attrs)
                )
    for (agent, media), (status, _) in base.items():
        if status != "logged_out":
            facts.ongoing.append(
                Ongoing(("agent", agent), "logout", facts.logins[agent][-1], None, media, None)
            )
    facts.contacts_waiting = [
        (c.first_entered, c.media, c.attrs())
        for c in contacts.values()
        if c.queue is not None
        and c.queue[0] == "queue"
        and c.first_answered is None
        and c.first_entered is not None
    ]
    facts.on_contacts = {
        pair: [(status, contacts[key].attrs()) for key, status in on.items()]
        for pair, on in on_contacts.items()
    }
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


_WAIT_EXITS = frozenset(
    {"answered", "abandoned", "diverted", "stopped", "routed", "cleared", "timeout"}
)


def _reasons(f: Filter) -> set[str | None] | None:
    if not f.reasons:
        return None
    found: set[str | None] = set(f.reasons)
    if "unspecified" in found:
        found.add(None)
    return found


def queue_agents(facts: Facts, config: ObjectConfig, queues: frozenset[str]) -> frozenset[str]:
    """Agents of the queues: login queues at the end plus configured members."""
    found = {a for a, named in facts.login_queues.items() if queues & set(named)}
    for queue in queues:
        queue_config = config.queues.get(queue)
        if queue_config is not None:
            found |= set(queue_config.agents)
    return frozenset(found)


def reference_value(
    d: StatisticDefinition,
    facts: Facts,
    object_type: str,
    object_id: str,
    members: frozenset[str],
    now: int,
    zone: ZoneInfo,
    queues: frozenset[str] = frozenset(),
    interval: tuple[int, int] | None = None,
) -> object:
    """The value of ``d`` for one object at ``now``. ``members``: the agents of an agent,
    group, queue, queue group or tenant (for agent statuses); ``queues``: the ACD queues of a
    queue group or tenant. ``interval``: the fixed window ``[start, end)`` to read instead of
    the one at ``now`` (actions only): an action attributed to it counts if it completed
    before its end plus the grace; actions in progress only while it holds ``now``."""
    category = d.category
    media_list = [m.value for m in d.filter.media] or [m.value for m in ev.Media]
    contact_filter = d.filter if d.filter.contact_filtered else None
    owners: set[Owner]
    contacts = d.count is Counting.CONTACTS
    if contacts:
        owners = {CONTACTS}
    elif object_type == "queue_group" or object_type == "tenant":
        owners = {("queue", q) for q in queues}
    elif object_type in ("agent", "agent_group"):
        owners = {("agent", a) for a in members}
    else:
        owners = {(object_type, object_id)}
    if category in (Category.CURRENT_NUMBER, Category.CURRENT_MAX_TIME):
        if d.mask == ("waiting",):
            starts = [
                since
                for owner in sorted(owners)
                for since, media, attrs in facts.waiting.get(owner, {}).values()
                if media in media_list
                and (contact_filter is None or (attrs is not None and attrs.matches(d.filter)))
            ]
        else:
            reasons = _reasons(d.filter)
            starts = [
                i.start
                for i in facts.intervals
                if i.agent in members
                and i.media == d.status_media.value
                and i.end is None
                and i.status in d.mask
                and (reasons is None or i.reason in reasons)
                and (
                    contact_filter is None
                    or any(
                        status in d.mask and attrs.matches(d.filter)
                        for status, attrs in facts.on_contacts.get((i.agent, i.media), [])
                    )
                )
            ]
        if category is Category.CURRENT_NUMBER:
            return len(starts)
        return now - min(starts) if starts else None
    window = _window(d, zone, facts, object_id, now) if interval is None else interval
    if window is None:
        return None
    ws, we = window
    current = interval is None or ws <= now < we
    if d.is_status:
        assert interval is None, "status times of a closed interval are read at its end"
        reasons = _reasons(d.filter)
        picked = [
            i
            for i in facts.intervals
            if i.agent in members
            and i.media == d.status_media.value
            and i.status in d.mask
            and (reasons is None or i.reason in reasons)
        ]
        include_open = d.counts_in_progress
        total = 0
        by_reason: dict[str, int] = {}
        lengths: list[int] = []
        for i in picked:
            end = i.end if i.end is not None else (now if include_open else None)
            if end is None:
                continue
            spent = max(0, end - max(i.start, ws))
            total += spent
            if spent:
                key = "unspecified" if i.reason is None else i.reason
                by_reason[key] = by_reason.get(key, 0) + spent
            if i.start >= ws and (i.end is None or i.end > i.start):
                lengths.append(end - i.start)
        if d.breakdown is not None:
            return dict(sorted(by_reason.items()))
        if category is Category.TOTAL_TIME:
            return total
        if category is Category.TOTAL_NUMBER:
            return len(lengths)
        if category is Category.AVERAGE_TIME:
            return sum(lengths) / len(lengths) if lengths else None
        if category is Category.MAX_TIME:
            return max(lengths) if lengths else None
        return min(lengths) if lengths else None
    entered = d.attribution is Attribution.ENTERED
    causes = {
        kind: {str(v) for v in values}
        for kind, values in (
            ("refused", d.filter.refusal_reasons),
            ("diverted", d.filter.diversion_causes),
        )
        if values
    }
    reported = d.durations is Durations.REPORTED

    def in_window(t: int) -> bool:
        return ws <= t <= now and (interval is None or t < we)

    def kept(a: Action) -> bool:
        if a.owner not in owners or a.media not in media_list:
            return False
        if a.kind in causes and a.cause not in causes[a.kind]:
            return False
        if interval is not None and a.t >= we + d.grace_ms:
            return False  # completed after its interval's grace: dropped
        if contact_filter is None:
            return True
        return a.attrs is not None and a.attrs.matches(d.filter)

    def dur(a: Action) -> int:
        return a.reported if reported and a.reported is not None else a.dur

    if category is Category.SERVICE_FACTOR:
        assert d.service_level is not None
        threshold = round(d.service_level.threshold_s * 1000)
        ans_w = ab_w = exceeded = entered_n = removed_w = answered = 0
        for a in facts.actions:
            if not kept(a):
                continue
            when = a.entered if entered else a.t
            if a.kind == "entered":
                entered_n += in_window(a.t)
                continue
            if a.kind not in _WAIT_EXITS:
                continue
            within = dur(a) <= threshold
            if a.kind == "answered" and in_window(when):
                answered += 1
            if within and in_window(when):
                removed_w += 1
                ans_w += a.kind == "answered"
                ab_w += a.kind == "abandoned"
            if not within and in_window(a.entered if entered else a.entered + threshold):
                exceeded += 1
        waiting = (
            facts.contacts_waiting
            if contacts
            else [item for owner in owners for item in facts.waiting.get(owner, {}).values()]
        )
        for since, media, attrs in waiting:
            if media not in media_list:
                continue
            if contact_filter is not None and (attrs is None or not attrs.matches(d.filter)):
                continue
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

    def durations_of(mask: tuple[str, ...]) -> list[int]:
        found = [
            dur(a)
            for a in facts.actions
            if kept(a) and a.kind in mask and in_window(a.entered if entered else a.t)
        ]
        if d.counts_in_progress and current:
            for o in facts.ongoing:
                if o.owner not in owners or o.kind not in mask or o.media not in media_list:
                    continue
                if contact_filter is not None and (
                    o.attrs is None or not o.attrs.matches(d.filter)
                ):
                    continue
                when = now if o.entered is None or not entered else o.entered
                if in_window(when):
                    found.append(now - o.start)
        return found

    if category is Category.RATIO:
        top_n, bottom_n = len(durations_of(d.mask)), len(durations_of(d.denominator_mask))
        return top_n / bottom_n if bottom_n else None
    durations = durations_of(d.mask)
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
