"""Asterisk Manager Interface (AMI): message parser, action grouping, member state, translator, client.

AMI speaks ``Key: Value`` lines (CRLF on the wire, LF in many captures), one blank line after
each message. A message is an ``Event``, a ``Response`` to an action, or (in captures of both
directions) an ``Action``. Actions that list things (``QueueStatus``) answer with a
``Response`` and then events carrying the same ``ActionID`` up to a ``…Complete`` event.

Event names and headers are those of Asterisk 12+ (``QueueCallerJoin``, ``AgentConnect``,
``QueueMemberPause``…) with the Asterisk 1.8/11 aliases (``Join``, ``Leave``,
``QueueMemberPaused``, ``Location`` for ``Interface``). Events carry a time only when
``timestampevents = yes`` in ``manager.conf``; otherwise see :class:`AmiTranslator`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import ClassVar, Final

from wallboard.adapters.base import (
    VOICE_ONLY,
    BadRecord,
    Draft,
    Location,
    QueueMembership,
    TranslatorBase,
    check_name,
    offset,
    optional_name,
    reported_ms,
)
from wallboard.adapters.reconnect import ReconnectingClient
from wallboard.adapters.timestamps import epoch_to_ms
from wallboard.core.clock import Clock
from wallboard.core.errors import Unauthenticated, Unavailable
from wallboard.core.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentQueuesChanged,
    AgentReady,
    CallAbandoned,
    CallDiverted,
    CallEstablished,
    CallQueued,
    CallReleased,
    CallRinging,
    CallTransferred,
    Event,
    ReleasedBy,
    TransferKind,
)
from wallboard.core.ids import AgentId, CallId, DnId, QueueId

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_HEADERS: Final = 512


# --- messages and the parser ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AmiMessage:
    """One AMI message: its headers in order (keys may repeat) and its byte offset."""

    headers: tuple[tuple[str, str], ...]
    offset: int = 0

    def get(self, key: str, default: str | None = None) -> str | None:
        wanted = key.lower()
        for name, value in self.headers:
            if name.lower() == wanted:
                return value
        return default

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]

    @property
    def kind(self) -> str:
        """``event``, ``response`` or ``action``: what the first header says."""
        first = self.headers[0][0].lower() if self.headers else ""
        return first if first in ("event", "response", "action") else "unknown"

    @property
    def name(self) -> str:
        return self.headers[0][1] if self.headers else ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def to_bytes(self, newline: bytes = b"\r\n") -> bytes:
        lines = [f"{k}: {v}".encode() for k, v in self.headers]
        return newline.join(lines) + newline + newline


@dataclasses.dataclass(frozen=True)
class AmiParseError:
    error: BadRecord
    offset: int


class AmiParser:
    """Splits an AMI byte stream into messages, incrementally.

    Accepts CRLF and LF; a line of only spaces counts as the blank separator. The
    ``Asterisk Call Manager/x.y`` greeting is kept in ``banner``. A line without ``:`` or a
    message over ``max_message_bytes`` is reported in ``errors`` (with its byte offset) and
    skipped; parsing goes on.
    """

    def __init__(self, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self.banner: str | None = None
        self.errors: list[AmiParseError] = []
        self._buffer = b""
        self._buffer_offset = 0
        self._headers: list[tuple[str, str]] = []
        self._message_offset = 0
        self._message_bytes = 0
        self._skipping = False

    def feed(self, data: bytes) -> list[AmiMessage]:
        self._buffer += data
        messages: list[AmiMessage] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self.max_message_bytes:
                    self._error("line longer than the message limit", "message_too_long")
                    self._buffer_offset += len(self._buffer)
                    self._buffer = b""
                    self._skipping = True
                break
            raw = self._buffer[:end]
            line_offset = self._buffer_offset
            self._buffer = self._buffer[end + 1 :]
            self._buffer_offset += end + 1
            self._line(raw.rstrip(b"\r"), line_offset, messages)
        return messages

    def close(self) -> list[AmiMessage]:
        """End of input: a last message without its blank line still counts."""
        messages: list[AmiMessage] = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r"), self._buffer_offset, messages)
            self._buffer_offset += len(self._buffer)
            self._buffer = b""
        self._finish_message(messages)
        return messages

    def _line(self, raw: bytes, line_offset: int, out: list[AmiMessage]) -> None:
        if not raw.strip():
            self._finish_message(out)
            return
        if self._skipping:
            return
        text = raw.decode("utf-8", "replace")
        if not self._headers:
            self._message_offset = line_offset
            self._message_bytes = 0
            if self.banner is None and text.startswith("Asterisk Call Manager"):
                self.banner = text.strip()
                return
        self._message_bytes += len(raw) + 1
        if self._message_bytes > self.max_message_bytes or len(self._headers) >= MAX_HEADERS:
            self._error("message longer than the limit", "message_too_long")
            self._headers = []
            self._skipping = True
            return
        key, colon, value = text.partition(":")
        if not colon or not key.strip():
            self.errors.append(
                AmiParseError(
                    BadRecord(f"line without 'Key:' {text[:40]!r}", reason="malformed_line"),
                    line_offset,
                )
            )
            return
        self._headers.append((key.strip(), value.strip()))

    def _finish_message(self, out: list[AmiMessage]) -> None:
        self._skipping = False
        if self._headers:
            out.append(AmiMessage(tuple(self._headers), self._message_offset))
            self._headers = []

    def _error(self, message: str, reason: str) -> None:
        self.errors.append(AmiParseError(BadRecord(message, reason=reason), self._message_offset))


def parse_ami(data: bytes) -> tuple[list[AmiMessage], list[AmiParseError]]:
    """Parse a whole capture (a file): its messages and the errors met on the way."""
    parser = AmiParser()
    messages = parser.feed(data)
    messages.extend(parser.close())
    return messages, parser.errors


# --- grouping a list action's answer --------------------------------------------------------------


@dataclasses.dataclass
class ActionResult:
    """The answer to one action: the response and the events that share its ActionID."""

    action_id: str
    response: AmiMessage | None = None
    events: list[AmiMessage] = dataclasses.field(default_factory=list)
    complete: bool = False

    @property
    def messages(self) -> int:
        return len(self.events) + (1 if self.response is not None else 0)


class ActionGrouper:
    """Ties responses and list events together by ActionID, up to the ``…Complete`` event."""

    def __init__(self, *, max_open: int = 1000) -> None:
        self.open: dict[str, ActionResult] = {}
        self.max_open = max_open

    def add(self, message: AmiMessage) -> ActionResult | None:
        """The finished group ``message`` completes, or ``None``."""
        action_id = message.action_id
        if action_id is None or message.kind == "action":
            return None
        group = self.open.get(action_id)
        if group is None:
            if len(self.open) >= self.max_open:
                self.open.pop(next(iter(self.open)))
            group = self.open[action_id] = ActionResult(action_id)
        if message.kind == "response":
            group.response = message
            follows = (message.get("EventList") or "").lower() == "start" or "follow" in (
                message.get("Message") or ""
            ).lower()
            if not follows or message.name.lower() == "error":
                group.complete = True
        else:
            group.events.append(message)
            if message.name.endswith("Complete") or (
                (message.get("EventList") or "").lower() == "complete"
            ):
                group.complete = True
        if group.complete:
            del self.open[action_id]
            return group
        return None


# --- queue member state -------------------------------------------------------------------------

DEVICE_STATES: Final = {
    0: "unknown",
    1: "not_inuse",
    2: "inuse",
    3: "busy",
    4: "invalid",
    5: "unavailable",
    6: "ringing",
    7: "ringinuse",
    8: "onhold",
}
"""AMI ``Status`` of a queue member: Asterisk's ``ast_device_state`` numbers."""


@dataclasses.dataclass
class QueueMemberState:
    queue: str
    name: str
    interface: str | None = None
    status: int = 0
    paused: bool = False
    paused_reason: str | None = None
    calls_taken: int = 0
    last_call: int = 0
    penalty: int = 0
    membership: str | None = None

    @property
    def device_state(self) -> str:
        return DEVICE_STATES.get(self.status, "unknown")


@dataclasses.dataclass
class QueueParamsState:
    """The queue's own counters, as ``QueueParams`` reports them (since the last reset)."""

    queue: str
    calls: int = 0
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    service_level: int = 0
    service_level_perf: float = 0.0
    strategy: str | None = None


_MEMBER_EVENTS: Final = frozenset(
    {
        "queuemember",
        "queuememberadded",
        "queuememberstatus",
        "queuememberpause",
        "queuememberpaused",
        "queuememberremoved",
        "queuememberpenalty",
        "queuememberringinuse",
    }
)


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return default


class MemberBook:
    """Queue members and queue counters rebuilt from AMI events, as Asterisk reports them."""

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], QueueMemberState] = {}
        self.queues: dict[str, QueueParamsState] = {}

    @staticmethod
    def member_name(message: AmiMessage) -> str | None:
        # QueueMember (a QueueStatus answer) says Name; the live events say MemberName.
        return message.get("MemberName") or message.get("Name") or message.get("Interface")

    def apply(self, message: AmiMessage) -> QueueMemberState | None:
        """Update from one message; the member it concerns (removed ones included)."""
        event = message.name.lower() if message.kind == "event" else ""
        if event == "queueparams":
            queue_name = message.get("Queue") or ""
            self.queues[queue_name] = QueueParamsState(
                queue=queue_name,
                calls=_int(message.get("Calls")),
                holdtime=_int(message.get("Holdtime")),
                talktime=_int(message.get("TalkTime")),
                completed=_int(message.get("Completed")),
                abandoned=_int(message.get("Abandoned")),
                service_level=_int(message.get("ServiceLevel")),
                service_level_perf=float(message.get("ServicelevelPerf") or 0.0),
                strategy=message.get("Strategy"),
            )
            return None
        if event not in _MEMBER_EVENTS:
            return None
        queue, name = message.get("Queue"), self.member_name(message)
        if not queue or not name:
            return None
        key = (queue, name)
        if event == "queuememberremoved":
            return self.members.pop(key, None) or QueueMemberState(queue, name)
        member = self.members.get(key) or QueueMemberState(queue, name)
        self.members[key] = member
        interface = message.get("Interface") or message.get("Location")
        if interface:
            member.interface = interface
        if message.get("Status") is not None:
            member.status = _int(message.get("Status"))
        if message.get("Paused") is not None:
            member.paused = (message.get("Paused") or "0").strip() not in ("0", "", "false")
            member.paused_reason = message.get("PausedReason") or message.get("Reason") or None
        if message.get("CallsTaken") is not None:
            member.calls_taken = _int(message.get("CallsTaken"))
        if message.get("LastCall") is not None:
            member.last_call = _int(message.get("LastCall"))
        if message.get("Penalty") is not None:
            member.penalty = _int(message.get("Penalty"))
        if message.get("Membership") is not None:
            member.membership = message.get("Membership")
        return member


# --- translator -----------------------------------------------------------------------------------


@dataclasses.dataclass
class _AmiCall:
    queue: str
    channel: str | None = None
    agent: str | None = None
    agent_uid: str | None = None
    agent_channel: str | None = None
    connected: bool = False
    transfer_target: str | None = None
    transfer_kind: TransferKind = TransferKind.BLIND


@dataclasses.dataclass
class _PendingExit:
    call: str
    queue: str
    ts_ms: int
    key: str


_CALL_EVENTS: Final = frozenset(
    {
        "queuecallerjoin",
        "join",
        "queuecallerleave",
        "leave",
        "queuecallerabandon",
        "agentcalled",
        "agentconnect",
        "agentcomplete",
        "agentdump",
        "agentringnoanswer",
        "blindtransfer",
        "attendedtransfer",
    }
)


class AmiTranslator(TranslatorBase):
    """AMI messages → events, with the member book and the per-call state the mapping needs.

    Time of an event: its ``Timestamp`` header when Asterisk sends one (``timestampevents``);
    otherwise, live, our clock at receipt; offline, the last ``Timestamp`` seen in the capture
    (``Ping`` responses carry one), else ``fallback_ts_ms`` (the import uses the file's
    modification time). Each fallback is counted in ``stats.notes``.

    A caller leaving the queue (``QueueCallerLeave``) without an abandon is an exit (timeout,
    empty queue, key) only if no ``AgentConnect`` for it follows; the exit is held back and sent
    as ``call.diverted`` (target ``exit``) once a later message is ``exit_grace_ms`` newer, or
    at :meth:`finish`.
    """

    platform: ClassVar[str] = "asterisk"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None = None,
        clock: Clock | None = None,
        fallback_ts_ms: int | None = None,
        exit_grace_ms: int = 2000,
        max_open_calls: int = 100_000,
        first_seq: int = 1,
    ) -> None:
        super().__init__(tenant=tenant, source=source, clock=clock, first_seq=first_seq)
        self._clock = clock
        self.fallback_ts_ms = fallback_ts_ms
        self.exit_grace_ms = exit_grace_ms
        self.max_open_calls = max_open_calls
        self.book = MemberBook()
        self.grouper = ActionGrouper()
        self.membership = QueueMembership()
        self.agent_paused: dict[str, bool] = {}
        self.calls: dict[str, _AmiCall] = {}
        self.pending_exits: dict[str, _PendingExit] = {}
        self.completed_actions: list[ActionResult] = []
        self.server_time_ms: int | None = None
        self._ordinal = itertools.count(1)

    def translate(self, message: AmiMessage, location: Location) -> list[Event]:
        ordinal = next(self._ordinal)
        self.stats.records += 1
        try:
            ts_ms = self._timestamp(message)
            out = self._flush_exits(ts_ms)
            group = self.grouper.add(message)
            if group is not None:
                self.completed_actions.append(group)
                del self.completed_actions[:-100]
            key = f"{ordinal}|" + "\n".join(f"{k}: {v}" for k, v in message.headers)
            drafts = self._drafts(message, ts_ms, key)
            return out + self.stamper.stamp(key, ts_ms, drafts)
        except BadRecord as error:
            return self._reject(error, location)

    def finish(self) -> list[Event]:
        return self._flush_exits(None)

    def flush(self, now_ms: int) -> list[Event]:
        """Send exits older than the grace period (a live source calls this when idle)."""
        return self._flush_exits(now_ms)

    # --- helpers ---

    def _timestamp(self, message: AmiMessage) -> int:
        stamp = message.get("Timestamp")
        if stamp:
            ts = epoch_to_ms(stamp, "Timestamp")
            self.server_time_ms = ts
            return ts
        if self._clock is not None:
            self.stats.notes["ts_receive_time"] += 1
            return self._clock.now_ms()
        if self.server_time_ms is not None:
            self.stats.notes["ts_last_server_time"] += 1
            return self.server_time_ms
        if self.fallback_ts_ms is not None:
            self.stats.notes["ts_fallback"] += 1
            return self.fallback_ts_ms
        raise BadRecord("no Timestamp and no clock to date the event", reason="missing_timestamp")

    def _flush_exits(self, now_ms: int | None) -> list[Event]:
        out: list[Event] = []
        for uid, pending in list(self.pending_exits.items()):
            if now_ms is not None and pending.ts_ms + self.exit_grace_ms > now_ms:
                continue
            del self.pending_exits[uid]
            self.calls.pop(uid, None)
            out += self.stamper.stamp(
                "exit|" + pending.key,
                max(pending.ts_ms, self.stamper.guard.last_ms),
                [_exit_draft(CallId(pending.call), QueueId(pending.queue))],
            )
        return out

    def _remember(self, uid: str, call: _AmiCall) -> None:
        if uid not in self.calls and len(self.calls) >= self.max_open_calls:
            self.calls.pop(next(iter(self.calls)))
            self.stats.notes["call_state_evicted"] += 1
        self.calls[uid] = call

    def _drafts(self, message: AmiMessage, ts_ms: int, key: str) -> list[Draft]:
        if message.kind == "unknown":
            raise BadRecord(
                f"message does not start with Event, Response or Action: {message.name[:60]!r}"
                if not message.headers
                else f"message does not start with Event, Response or Action: "
                f"{message.headers[0][0][:60]!r}",
                reason="unknown_message_kind",
            )
        if message.kind != "event":
            self.stats.ignored[message.kind] += 1
            return []
        event = message.name.lower()
        if event in _MEMBER_EVENTS or event == "queueparams":
            return self._member_drafts(message)
        if event in _CALL_EVENTS:
            return self._call_drafts(event, message, ts_ms, key)
        self.stats.ignored["other_event"] += 1
        return []

    # --- members ---

    def _member_drafts(self, message: AmiMessage) -> list[Draft]:
        event = message.name.lower()
        before = self.book.members.get(
            (message.get("Queue") or "", MemberBook.member_name(message) or "")
        )
        was_paused = before.paused if before else None
        member = self.book.apply(message)
        if member is None:
            if event != "queueparams":
                raise BadRecord(
                    f"{message.name} without Queue or member name", reason="missing_field"
                )
            return []
        agent = AgentId(check_name(member.name, "MemberName"))
        drafts: list[Draft] = []
        if event == "queuememberremoved":
            remaining = self.membership.remove(agent, member.queue)
            if remaining == ():
                self.agent_paused.pop(agent, None)
                drafts.append(
                    lambda env: AgentLogout(**env, agent=agent, media=VOICE_ONLY, reason="removed")
                )
            elif remaining:
                qs = tuple(map(QueueId, remaining))
                drafts.append(
                    lambda env: AgentQueuesChanged(**env, agent=agent, queues=qs, media=VOICE_ONLY)
                )
            return drafts
        queues = self.membership.add(agent, check_name(member.queue, "Queue"))
        if queues is not None:
            dn_text = optional_name(member.interface, "Interface")
            dn = DnId(dn_text) if dn_text else None
            qs = tuple(map(QueueId, queues))
            if len(qs) > 1:  # already a member elsewhere: the session goes on
                drafts.append(
                    lambda env: AgentQueuesChanged(**env, agent=agent, queues=qs, media=VOICE_ONLY)
                )
            else:
                drafts.append(lambda env: AgentLogin(**env, agent=agent, dn=dn, queues=qs))
        changed = was_paused is None or member.paused != was_paused or queues is not None
        if changed and self.agent_paused.get(agent) != member.paused:
            self.agent_paused[agent] = member.paused
            if member.paused:
                reason = optional_name(member.paused_reason, "PausedReason")
                drafts.append(lambda env: AgentNotReady(**env, agent=agent, reason=reason))
            else:
                drafts.append(lambda env: AgentReady(**env, agent=agent))
        return drafts

    # --- calls ---

    def _call_drafts(self, event: str, m: AmiMessage, ts_ms: int, key: str) -> list[Draft]:
        if event in ("blindtransfer", "attendedtransfer"):
            self._note_transfer(event, m)
            return []
        uid = check_name(m.get("Uniqueid"), "Uniqueid")
        call_id = CallId(uid)
        state = self.calls.get(uid)
        queue_text = m.get("Queue") or (state.queue if state else None)
        queue = QueueId(check_name(queue_text, "Queue"))
        if event in ("queuecallerjoin", "join"):
            self._remember(uid, _AmiCall(queue=queue, channel=m.get("Channel")))
            return [lambda env: CallQueued(**env, call=call_id, queue=queue)]
        if event in ("queuecallerleave", "leave"):
            if state is not None and not state.connected:
                self.pending_exits[uid] = _PendingExit(uid, queue, ts_ms, key)
            return []
        if event == "queuecallerabandon":
            self.calls.pop(uid, None)
            self.pending_exits.pop(uid, None)
            wait = reported_ms(m.get("HoldTime"), self.stats)
            return [lambda env: CallAbandoned(**env, call=call_id, queue=queue, wait_ms=wait)]
        agent = AgentId(check_name(MemberBook.member_name(m), "MemberName"))
        if event == "agentcalled":
            return [lambda env: CallRinging(**env, call=call_id, agent=agent, queue=queue)]
        if event == "agentringnoanswer":
            self.stats.ignored["agentringnoanswer"] += 1
            return []
        if event == "agentconnect":
            self.pending_exits.pop(uid, None)
            call = state or _AmiCall(queue=queue, channel=m.get("Channel"))
            call.connected, call.agent = True, agent
            call.agent_uid, call.agent_channel = m.get("DestUniqueid"), m.get("DestChannel")
            self._remember(uid, call)
            wait = reported_ms(m.get("HoldTime"), self.stats)
            ring = reported_ms(m.get("RingTime"), self.stats)
            return [
                lambda env: CallEstablished(
                    **env, call=call_id, agent=agent, queue=queue, wait_ms=wait, ring_ms=ring
                )
            ]
        # agentcomplete / agentdump: the end of the agent's part in the call
        self.calls.pop(uid, None)
        reason = (m.get("Reason") or "").lower()
        if event == "agentdump" or reason == "agent":
            by = ReleasedBy.AGENT
        elif reason == "caller":
            by = ReleasedBy.CALLER
        else:
            by = ReleasedBy.AGENT if reason == "transfer" else ReleasedBy.SYSTEM
        drafts: list[Draft] = []
        if reason == "transfer":
            target = check_name((state.transfer_target if state else None) or "unknown", "target")
            kind = state.transfer_kind if state else TransferKind.BLIND
            drafts.append(
                lambda env: CallTransferred(
                    **env, call=call_id, agent=agent, target=target, kind=kind
                )
            )
        talk = None if event == "agentdump" else reported_ms(m.get("TalkTime"), self.stats)
        drafts.append(
            lambda env: CallReleased(
                **env, call=call_id, agent=agent, queue=queue, by=by, talk_ms=talk
            )
        )
        return drafts

    def _note_transfer(self, event: str, m: AmiMessage) -> None:
        if (m.get("Result") or "").lower() != "success":
            self.stats.ignored["transfer_failed"] += 1
            return
        # Either party may transfer: the caller (testsuite caller_blind) or the member.
        involved = {
            value
            for name, value in m.headers
            if name.lower().endswith(("uniqueid", "channel")) and value
        }
        for state in self.calls.values():
            if not state.connected:
                continue
            ids = {state.channel, state.agent_uid, state.agent_channel}
            if involved & {i for i in ids if i}:
                if event == "blindtransfer":
                    state.transfer_target = f"{m.get('Extension') or '?'}@{m.get('Context') or '?'}"
                    state.transfer_kind = TransferKind.BLIND
                else:
                    dest = m.get("DestType") or "?"
                    data = m.get("DestApp") or m.get("DestBridgeUniqueid") or "?"
                    state.transfer_target = f"{dest}:{data}"
                    state.transfer_kind = TransferKind.CONSULT
                return
        self.stats.notes["transfer_without_call"] += 1


def _exit_draft(call: CallId, queue: QueueId) -> Draft:
    return lambda env: CallDiverted(**env, call=call, queue=queue, target="exit")


# --- the TCP client ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AmiConnection:
    """Where and how to reach an Asterisk manager."""

    host: str
    port: int = 5038
    username: str = ""
    secret: str = dataclasses.field(default="", repr=False)
    connect_timeout: float = 5.0
    login_timeout: float = 5.0
    ping_interval: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    queue_status_on_connect: bool = True


class AmiClient(ReconnectingClient[AmiMessage]):
    """Logs in to AMI and yields its messages, reconnecting with exponential backoff (see
    :class:`ReconnectingClient`; a refused login is retried the same way).

    After each login it asks ``QueueStatus`` (so member state is rebuilt at once, not only from
    later changes). A connection silent for ``ping_interval`` gets a ``Ping``; silent for another
    interval, it is dropped and reopened.
    """

    name: ClassVar[str] = "AMI"

    def __init__(self, connection: AmiConnection, *, clock: Clock) -> None:
        super().__init__(
            clock=clock,
            backoff_initial=connection.backoff_initial,
            backoff_max=connection.backoff_max,
        )
        self.connection = connection
        self._action_ids = itertools.count(1)
        self.parse_errors: list[AmiParseError] = []

    def messages(self) -> AsyncIterator[AmiMessage]:
        return self._reconnecting()

    def _peer(self) -> str:
        return f"{self.connection.host}:{self.connection.port}"

    async def _send(self, writer: asyncio.StreamWriter, headers: list[tuple[str, str]]) -> str:
        action_id = f"wallboard-{next(self._action_ids)}"
        message = AmiMessage((*headers, ("ActionID", action_id)))
        writer.write(message.to_bytes())
        await asyncio.wait_for(writer.drain(), self.connection.login_timeout)
        return action_id

    async def _session(self) -> AsyncIterator[AmiMessage]:
        c = self.connection
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(c.host, c.port), c.connect_timeout
        )
        self._writer = writer
        parser = AmiParser()
        try:
            login_id = await self._send(
                writer,
                [
                    ("Action", "Login"),
                    ("Username", c.username),
                    ("Secret", c.secret),
                    ("Events", "on"),
                ],
            )
            async with asyncio.timeout(c.login_timeout):
                logged_in = False
                while not logged_in:
                    data = await reader.read(65536)
                    if not data:
                        raise Unavailable("AMI closed the connection during login")
                    for message in parser.feed(data):
                        if message.action_id == login_id and message.kind == "response":
                            if message.name.lower() != "success":
                                raise Unauthenticated(
                                    f"AMI login refused: {message.get('Message') or message.name}"
                                )
                            logged_in = True
            self.connects += 1
            self.connected = True
            logger.info("AMI %s:%s: logged in", c.host, c.port)
            if c.queue_status_on_connect:
                await self._send(writer, [("Action", "QueueStatus")])
            ping_sent = False
            while not self._stopped:
                try:
                    data = await asyncio.wait_for(reader.read(65536), c.ping_interval)
                except TimeoutError:
                    if ping_sent:
                        raise Unavailable("AMI did not answer a Ping") from None
                    await self._send(writer, [("Action", "Ping")])
                    ping_sent = True
                    continue
                if not data:
                    raise Unavailable("AMI closed the connection")
                ping_sent = False
                for message in parser.feed(data):
                    yield message
                if parser.errors:
                    self.parse_errors.extend(parser.errors)
                    del self.parse_errors[:-100]
                    parser.errors.clear()
        finally:
            self._writer = None
            self.connected = False
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def translate_capture(
    chunks: Iterable[bytes], translator: AmiTranslator, origin: str = ""
) -> Iterator[Event]:
    """Translate an AMI capture read in chunks, as it is read; a part that cannot be parsed
    is a bad record (counted among the records, like every message)."""
    parser = AmiParser()

    def translated(messages: list[AmiMessage]) -> Iterator[Event]:
        for problem in parser.errors:
            translator.stats.records += 1
            translator.bad.record(problem.error, offset(problem.offset, origin))
        parser.errors.clear()
        for message in messages:
            yield from translator.translate(message, offset(message.offset, origin))

    for chunk in chunks:
        yield from translated(parser.feed(chunk))
    yield from translated(parser.close())
    yield from translator.finish()
