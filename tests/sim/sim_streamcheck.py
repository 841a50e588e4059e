"""An independent reading of a simulator run: replays events.jsonl as a collector would, checks
the stream's invariants, and rebuilds the ground truth from the events alone so the tests can
compare it with calls.jsonl and agents.jsonl.

It shares no code with the engine: it knows only the event types and the documented meaning of
the files (docs/simulator.md).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec

from wallboard.core.codec import decode_event
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
    VirtualQueueEntered,
    VirtualQueueExit,
    VirtualQueueLeft,
)

SOURCES = ("voice", "voice-vq", "interactions", "interactions-vq")


class StreamError(AssertionError):
    """An invariant of the stream does not hold; the message names the event."""


@dataclasses.dataclass
class Run:
    events: list[Event]
    calls: list[dict[str, Any]]
    intervals: list[dict[str, Any]]


def read_run(directory: Path) -> Run:
    events: list[Event] = []
    for line in (directory / "events.jsonl").read_bytes().splitlines():
        event = decode_event(line)  # validates every field against the event types
        assert isinstance(event, Event), f"unknown event type in {line!r}"
        events.append(event)
    calls = [msgspec.json.decode(x) for x in (directory / "calls.jsonl").read_bytes().splitlines()]
    intervals = [
        msgspec.json.decode(x) for x in (directory / "agents.jsonl").read_bytes().splitlines()
    ]
    return Run(events=events, calls=calls, intervals=intervals)


def check_sequences(events: list[Event]) -> dict[str, int]:
    """Gapless ``seq`` from 1 per source, ids ``source:seq``, ``ts`` never going back."""
    last: dict[str, int] = dict.fromkeys(SOURCES, 0)
    previous_ts = 0
    for event in events:
        if event.source not in last:
            raise StreamError(f"unknown source {event.source!r} in {event.id}")
        if event.seq != last[event.source] + 1:
            raise StreamError(f"{event.source}: seq {event.seq} after {last[event.source]}")
        last[event.source] = event.seq
        if event.id != f"{event.source}:{event.seq}":
            raise StreamError(f"id {event.id!r} is not source:seq")
        if event.ts < previous_ts:
            raise StreamError(f"{event.id}: ts {event.ts} goes back from {previous_ts}")
        previous_ts = event.ts
    return last


@dataclasses.dataclass
class _AgentView:
    logged_sources: set[str] = dataclasses.field(default_factory=set)
    nr_reason: str | None = None
    nr: bool = False
    call: str | None = None
    call_state: str = ""
    acw: dict[str, Any] | None = None
    acw_since: int = 0
    interactions: dict[str, Media] = dataclasses.field(default_factory=dict)
    capacity: dict[Media, int] = dataclasses.field(default_factory=dict)
    state: tuple[str, str | None] | None = None
    since: int = 0

    def displayed(self) -> tuple[str, str | None] | None:
        if not self.logged_sources:
            return None
        if self.call is not None:
            return (self.call_state, None)
        if self.acw is not None:
            return ("acw", None)
        if self.interactions:
            return ("busy", None)
        if self.nr:
            return ("not_ready", self.nr_reason)
        return ("ready", None)


class Replay:
    """Replays the events, raising :class:`StreamError` on the first broken invariant."""

    def __init__(self) -> None:
        self.agents: dict[tuple[str, str], _AgentView] = defaultdict(_AgentView)
        self.records: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.current: dict[tuple[str, str], dict[str, Any]] = {}
        self.at_point: dict[tuple[str, str], str] = {}
        self.in_vq: dict[tuple[str, str], str] = {}
        self.held_since: dict[tuple[str, str], int] = {}
        self.intervals: list[dict[str, Any]] = []

    # --- helpers -------------------------------------------------------------------------

    def _new_record(
        self,
        tenant: str,
        contact: str,
        media: Media,
        direction: Direction,
        queue: str | None,
        ts: int,
    ) -> dict[str, Any]:
        previous = self.current.get((tenant, contact))
        leg = previous["leg"] + 1 if previous is not None else 1
        if previous is not None and queue is not None and not previous["transferred"]:
            raise StreamError(f"{contact} queued again at {queue} without a transfer")
        record: dict[str, Any] = {
            "tenant": tenant,
            "id": contact,
            "leg": leg,
            "media": media.value,
            "direction": direction.value,
            "queue": queue,
            "entered_at": ts,
            "answered_at": None,
            "abandoned_at": None,
            "agent": None,
            "released_at": None,
            "_hold_ms": 0,
            "acw_seconds": 0.0,
            "transferred": False,
            "transferred_to": None,
            "refused": None,
            "diverted_at": None,
            "_waiting": queue is not None,
        }
        self.current[(tenant, contact)] = record
        self.records[(tenant, contact, leg)] = record
        return record

    def _record(self, event: Event, contact: str) -> dict[str, Any]:
        record = self.current.get((event.tenant, contact))
        if record is None:
            raise StreamError(f"{event.id} ({event.type}): {contact} was never seen before")
        return record

    def _agent(self, event: Event, agent: str | None) -> _AgentView:
        if agent is None:
            raise StreamError(f"{event.id} ({event.type}) names no agent")
        view = self.agents[(event.tenant, agent)]
        if not view.logged_sources and not isinstance(event, AgentLogin):
            raise StreamError(f"{event.id} ({event.type}): agent {agent} is not logged in")
        return view

    def _update(self, event: Event, agent: str) -> None:
        view = self.agents[(event.tenant, agent)]
        state = view.displayed()
        if state == view.state:
            return
        if view.state is not None:
            self.intervals.append(
                {
                    "tenant": event.tenant,
                    "agent": agent,
                    "state": view.state[0],
                    "reason": view.state[1],
                    "start": view.since,
                    "end": event.ts,
                }
            )
        view.state = state
        view.since = event.ts

    def _require_idle(self, event: Event, view: _AgentView, agent: str) -> None:
        if view.call is not None or view.interactions:
            raise StreamError(
                f"{event.id} ({event.type}): agent {agent} still has "
                f"{view.call or sorted(view.interactions)}"
            )

    def _end_acw(self, view: _AgentView, ts: int) -> None:
        if view.acw is not None:
            view.acw["acw_seconds"] = (ts - view.acw_since) / 1000
            view.acw = None

    # --- the replay ------------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is None:
            raise StreamError(f"{event.id}: the simulator should not emit {event.type}")
        handler(event)

    def finish(self, end_ms: int) -> None:
        for (tenant, agent), view in self.agents.items():
            if view.state is not None:
                self.intervals.append(
                    {
                        "tenant": tenant,
                        "agent": agent,
                        "state": view.state[0],
                        "reason": view.state[1],
                        "start": view.since,
                        "end": None,
                    }
                )

    def _on_AgentLogin(self, e: AgentLogin) -> None:
        view = self.agents[(e.tenant, e.agent)]
        if e.source in view.logged_sources:
            raise StreamError(f"{e.id}: {e.agent} logs in twice on {e.source}")
        view.logged_sources.add(e.source)
        self._update(e, e.agent)

    def _on_AgentLogout(self, e: AgentLogout) -> None:
        view = self._agent(e, e.agent)
        self._require_idle(e, view, e.agent)
        self._end_acw(view, e.ts)
        view.logged_sources.discard(e.source)
        view.nr = False
        self._update(e, e.agent)

    def _on_AgentCapacity(self, e: AgentCapacity) -> None:
        self._agent(e, e.agent).capacity[e.media] = e.capacity

    def _on_AgentReady(self, e: AgentReady) -> None:
        view = self._agent(e, e.agent)
        self._require_idle(e, view, e.agent)
        self._end_acw(view, e.ts)
        view.nr = False
        self._update(e, e.agent)

    def _on_AgentNotReady(self, e: AgentNotReady) -> None:
        view = self._agent(e, e.agent)
        self._require_idle(e, view, e.agent)
        self._end_acw(view, e.ts)
        view.nr = True
        view.nr_reason = e.reason
        self._update(e, e.agent)

    def _on_AgentAfterCallWork(self, e: AgentAfterCallWork) -> None:
        view = self._agent(e, e.agent)
        self._require_idle(e, view, e.agent)
        assert e.call is not None
        record = self._record(e, e.call)
        if record["agent"] != e.agent or record["released_at"] != e.ts:
            raise StreamError(f"{e.id}: after-call work not right after {e.call} was released")
        view.acw = record
        view.acw_since = e.ts
        self._update(e, e.agent)

    def _on_CallQueued(self, e: CallQueued) -> None:
        key = (e.tenant, e.call)
        if e.point is QueueKind.ROUTING_POINT:
            self.at_point[key] = e.queue
            return
        self._new_record(e.tenant, e.call, Media.VOICE, e.direction, e.queue, e.ts)

    def _on_CallDiverted(self, e: CallDiverted) -> None:
        if (e.tenant, e.call) not in self.at_point:
            # Sent on from its queue after the queue's longest wait.
            record = self._record(e, e.call)
            if not record["_waiting"] or record["queue"] != e.queue:
                raise StreamError(
                    f"{e.id}: {e.call} diverted from {e.queue} where it does not wait"
                )
            if e.cause is not DiversionCause.TIMEOUT or (e.tenant, e.call) in self.in_vq:
                raise StreamError(f"{e.id}: a queue diverts on timeout, out of its virtual queue")
            record["_waiting"] = False
            record["diverted_at"] = e.ts
            return
        if self.at_point.pop((e.tenant, e.call)) != e.queue:
            raise StreamError(f"{e.id}: {e.call} diverted from {e.queue} where it was not")
        if e.cause is not DiversionCause.ROUTED:
            raise StreamError(f"{e.id}: a routing point routes, it diverts for no other cause")

    def _on_CallRefused(self, e: CallRefused) -> None:
        # Turned away at entry (after its routing point, if any): it never waits.
        record = self._new_record(e.tenant, e.call, Media.VOICE, Direction.INBOUND, e.queue, e.ts)
        record["refused"] = e.reason.value
        record["_waiting"] = False

    def _on_VirtualQueueEntered(self, e: VirtualQueueEntered) -> None:
        contact = e.call or e.interaction
        assert contact is not None
        record = self._record(e, contact)
        if not record["_waiting"] or record["entered_at"] != e.ts:
            raise StreamError(f"{e.id}: {contact} enters {e.vq} without entering its queue")
        if (e.tenant, contact) in self.in_vq:
            raise StreamError(f"{e.id}: {contact} already in a virtual queue")
        self.in_vq[(e.tenant, contact)] = e.vq

    def _on_VirtualQueueLeft(self, e: VirtualQueueLeft) -> None:
        contact = e.call or e.interaction
        assert contact is not None
        if self.in_vq.pop((e.tenant, contact), None) != e.vq:
            raise StreamError(f"{e.id}: {contact} leaves {e.vq} where it was not")
        record = self._record(e, contact)
        if not record["_waiting"]:
            raise StreamError(f"{e.id}: {contact} leaves {e.vq} but it no longer waits")
        if e.reason is VirtualQueueExit.ROUTED and e.target is None:
            raise StreamError(f"{e.id}: routed without a target")

    def _on_CallRinging(self, e: CallRinging) -> None:
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.call is not None or view.interactions or view.acw is not None or view.nr:
            raise StreamError(f"{e.id}: {e.call} rings at {e.agent}, who is not free")
        if e.direction is Direction.INBOUND:
            record = self._record(e, e.call)
            if not record["_waiting"] or record["queue"] != e.queue:
                raise StreamError(f"{e.id}: {e.call} rings without waiting in {e.queue} first")
            if (e.tenant, e.call) in self.in_vq:
                raise StreamError(f"{e.id}: {e.call} rings while still in a virtual queue")
            record["_waiting"] = False
        else:
            record = self._new_record(e.tenant, e.call, Media.VOICE, e.direction, None, e.ts)
        record["agent"] = e.agent
        view.call = e.call
        view.call_state = "ringing"
        self._update(e, e.agent)

    def _on_CallEstablished(self, e: CallEstablished) -> None:
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.call != e.call or view.call_state != "ringing":
            raise StreamError(f"{e.id}: {e.call} established at {e.agent} without ringing there")
        record = self._record(e, e.call)
        record["answered_at"] = e.ts
        view.call_state = "talking"
        self._update(e, e.agent)

    def _on_CallHeld(self, e: CallHeld) -> None:
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.call != e.call or view.call_state != "talking":
            raise StreamError(f"{e.id}: {e.call} held but not talking at {e.agent}")
        self.held_since[(e.tenant, e.call)] = e.ts
        view.call_state = "held"
        self._update(e, e.agent)

    def _on_CallRetrieved(self, e: CallRetrieved) -> None:
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.call != e.call or view.call_state != "held":
            raise StreamError(f"{e.id}: {e.call} retrieved but not held at {e.agent}")
        record = self._record(e, e.call)
        record["_hold_ms"] += e.ts - self.held_since.pop((e.tenant, e.call))
        view.call_state = "talking"
        self._update(e, e.agent)

    def _on_CallTransferred(self, e: CallTransferred) -> None:
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.call != e.call:
            raise StreamError(f"{e.id}: {e.agent} transfers {e.call} it does not hold")
        record = self._record(e, e.call)
        record["transferred"] = True
        record["transferred_to"] = e.target

    def _on_CallReleased(self, e: CallReleased) -> None:
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.call != e.call:
            raise StreamError(f"{e.id}: {e.call} released at {e.agent}, who does not have it")
        record = self._record(e, e.call)
        held = self.held_since.pop((e.tenant, e.call), None)
        if held is not None:
            record["_hold_ms"] += e.ts - held
        record["released_at"] = e.ts
        view.call = None
        self._update(e, e.agent)

    def _on_CallAbandoned(self, e: CallAbandoned) -> None:
        record = self._record(e, e.call)
        if not record["_waiting"] or record["queue"] != e.queue:
            raise StreamError(f"{e.id}: {e.call} abandons {e.queue} where it does not wait")
        record["_waiting"] = False
        record["abandoned_at"] = e.ts

    def _on_InteractionCreated(self, e: InteractionCreated) -> None:
        if (e.tenant, e.interaction) in self.current:
            raise StreamError(f"{e.id}: {e.interaction} created twice")

    def _on_InteractionQueued(self, e: InteractionQueued) -> None:
        self._new_record(e.tenant, e.interaction, e.media, Direction.INBOUND, e.queue, e.ts)

    def _on_InteractionOffered(self, e: InteractionOffered) -> None:
        view = self._agent(e, e.agent)
        record = self._record(e, e.interaction)
        if not record["_waiting"] or record["queue"] != e.queue:
            raise StreamError(f"{e.id}: {e.interaction} offered without waiting in {e.queue}")
        if (e.tenant, e.interaction) in self.in_vq:
            raise StreamError(f"{e.id}: {e.interaction} offered while still in a virtual queue")
        if view.call is not None or view.acw is not None or view.nr:
            raise StreamError(f"{e.id}: {e.interaction} offered to {e.agent}, who is not free")
        in_hand = sum(1 for m in view.interactions.values() if m is e.media)
        if in_hand >= view.capacity.get(e.media, 0):
            raise StreamError(f"{e.id}: {e.agent} is over capacity for {e.media}")
        record["_waiting"] = False
        record["agent"] = e.agent
        view.interactions[e.interaction] = e.media
        self._update(e, e.agent)

    def _on_InteractionAccepted(self, e: InteractionAccepted) -> None:
        view = self._agent(e, e.agent)
        if e.interaction not in view.interactions:
            raise StreamError(f"{e.id}: {e.interaction} accepted by {e.agent} without an offer")
        self._record(e, e.interaction)["answered_at"] = e.ts

    def _on_InteractionDone(self, e: InteractionDone) -> None:
        record = self._record(e, e.interaction)
        if e.outcome is InteractionOutcome.ABANDONED:
            if not record["_waiting"]:
                raise StreamError(f"{e.id}: {e.interaction} abandoned but not waiting")
            record["_waiting"] = False
            record["abandoned_at"] = e.ts
            return
        assert e.agent is not None
        view = self._agent(e, e.agent)
        if view.interactions.pop(e.interaction, None) is None:
            raise StreamError(f"{e.id}: {e.interaction} done by {e.agent}, who does not have it")
        record["released_at"] = e.ts
        self._update(e, e.agent)


def replay(events: list[Event], end_ms: int) -> Replay:
    r = Replay()
    for event in events:
        r.feed(event)
    r.finish(end_ms)
    return r


def normalise_intervals(
    intervals: list[dict[str, Any]],
) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Per agent, intervals without zero-length ones and with equal neighbours merged."""
    out: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    for item in sorted(intervals, key=lambda i: (i["tenant"], i["agent"], i["start"])):
        if item["end"] is not None and item["end"] <= item["start"]:
            continue
        rows = out[(item["tenant"], item["agent"])]
        row = (item["state"], item["reason"], item["start"], item["end"])
        if rows and rows[-1][:2] == row[:2] and rows[-1][3] == row[2]:
            rows[-1] = (*row[:2], rows[-1][2], row[3])
        else:
            rows.append(row)
    return out


def truth_from_events(r: Replay) -> dict[tuple[str, str, int], dict[str, Any]]:
    out = {}
    for key, record in r.records.items():
        row = {k: v for k, v in record.items() if not k.startswith("_")}
        row["hold_seconds"] = record["_hold_ms"] / 1000
        out[key] = row
    return out
