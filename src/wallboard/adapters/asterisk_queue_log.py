"""Asterisk ``queue_log`` → our events: the line translator, a ``tail -F`` follower, a table poller.

Format (Asterisk documentation, "Queue Logs"): ``epoch|callid|queue|member|VERB|data…``, one
line per fact. The epoch is read as described in :mod:`wallboard.adapters.timestamps` (seconds
in practice); a realtime table's ``time`` column (a date-time without zone) is read in the
configured time zone. The mapping of every verb is in ``docs/adapters.md`` and in
:data:`VERB_MAPPING`: the verbs of the Asterisk documentation, those app_queue also writes
(``FULL``, ``JOINEMPTY``, ``JOINUNAVAIL``) and those of Wazo (``CLOSED``, ``DIVERT_CA_RATIO``,
``DIVERT_HOLDTIME``, ``LEAVEEMPTY``, ``WRAPUPSTART``). The durations a line reports (waittime,
holdtime, ringtime, calltime, in seconds) go on the events as ``wait_ms``, ``ring_ms`` and
``talk_ms``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from wallboard.adapters.base import (
    MAX_TS_MS,
    VOICE_ONLY,
    BadRecord,
    Draft,
    Location,
    QueueMembership,
    TranslatorBase,
    check_name,
    line,
    optional_name,
    reported_ms,
)
from wallboard.adapters.timestamps import UTC, any_to_ms, datetime_to_ms, moment_to_ms
from wallboard.core.clock import Clock
from wallboard.core.errors import ConfigError
from wallboard.core.events import (
    AgentAfterCallWork,
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentQueuesChanged,
    AgentReady,
    CallAbandoned,
    CallDiverted,
    CallEstablished,
    CallQueued,
    CallRefused,
    CallReleased,
    CallTransferred,
    DiversionCause,
    Event,
    RefusalReason,
    ReleasedBy,
    TransferKind,
)
from wallboard.core.ids import AgentId, CallId, DnId, QueueId

logger = logging.getLogger(__name__)

VERB_MAPPING: Final[Mapping[str, str]] = {
    "ENTERQUEUE": "call.queued",
    "CONNECT": "call.established (wait_ms, ring_ms; member NONE: no agent)",
    "COMPLETECALLER": "call.released (by caller, talk_ms; member NONE: no agent)",
    "COMPLETEAGENT": "call.released (by agent, talk_ms; member NONE: no agent)",
    "ABANDON": "call.abandoned (wait_ms)",
    "EXITWITHTIMEOUT": "call.diverted (cause timeout, target 'timeout', wait_ms)",
    "EXITEMPTY": "call.diverted (cause leave_empty, target 'empty', wait_ms)",
    "EXITWITHKEY": "call.diverted (cause key, target 'key:<key>', wait_ms)",
    "LEAVEEMPTY": "call.diverted (cause leave_empty, target 'empty', wait_ms) — Wazo",
    "FULL": "call.refused (reason full)",
    "JOINEMPTY": "call.refused (reason join_empty)",
    "JOINUNAVAIL": "call.refused (reason join_unavailable)",
    "CLOSED": "call.refused (reason closed) — Wazo, outside opening hours",
    "DIVERT_CA_RATIO": (
        "call.queued + call.diverted (cause calls_per_agent, target 'divert_ca_ratio') — Wazo"
    ),
    "DIVERT_HOLDTIME": (
        "call.queued + call.diverted (cause expected_wait, target 'divert_holdtime') — Wazo"
    ),
    "TRANSFER": "call.transferred (blind, '<exten>@<context>') + call.released (by agent)",
    "BLINDTRANSFER": "call.transferred (blind, '<exten>@<context>') + call.released (by agent)",
    "ATTENDEDTRANSFER": "call.transferred (consult, '<method>:<data>') + call.released (by agent)",
    "AGENTDUMP": "call.diverted (cause agent_dump, target 'agent_dump')",
    "WRAPUPSTART": ("agent.acw, then agent.ready when its wrap-up time (seconds) is over — Wazo"),
    "SYSCOMPAT": "call.released (by system)",
    "AGENTLOGIN": "agent.login (dn = channel)",
    "AGENTCALLBACKLOGIN": "agent.login (dn = exten@context)",
    "AGENTLOGOFF": "agent.logout",
    "AGENTCALLBACKLOGOFF": "agent.logout (reason from the line)",
    "ADDMEMBER": "agent.login with the agent's full queue set",
    "REMOVEMEMBER": "agent.login with the remaining queues, or agent.logout after the last",
    "PAUSE": "agent.not_ready (reason from the line)",
    "PAUSEALL": "agent.not_ready",
    "UNPAUSE": "agent.ready",
    "UNPAUSEALL": "agent.ready",
    "RINGNOANSWER": "none (only the end of a ring is logged, not its start)",
    "RINGCANCELED": "none (the ABANDON that follows carries the outcome)",
    "QUEUESTART": "none (system)",
    "CONFIGRELOAD": "none (system)",
}
"""Every verb this translator knows, and what it becomes; anything else is ``unknown_verb``."""

_SYSTEM_VERBS: Final = frozenset({"QUEUESTART", "CONFIGRELOAD", "RINGNOANSWER", "RINGCANCELED"})
_NO_CALL: Final = frozenset({"", "NONE", "REALTIME"})
# Verbs that set a member's state: a wrap-up still running for it ends with them, not on time.
_AGENT_STATE_VERBS: Final = frozenset(
    {
        "CONNECT",
        "PAUSE",
        "PAUSEALL",
        "UNPAUSE",
        "UNPAUSEALL",
        "AGENTLOGOFF",
        "AGENTCALLBACKLOGOFF",
        "REMOVEMEMBER",
        "WRAPUPSTART",
    }
)
MAX_LINE: Final = 8192


@dataclasses.dataclass(frozen=True)
class QueueLogRecord:
    """One parsed queue_log line."""

    ts_ms: int
    callid: str
    queue: str
    member: str
    verb: str
    data: tuple[str, ...]

    def arg(self, index: int) -> str:
        return self.data[index].strip() if index < len(self.data) else ""


def parse_queue_log_line(text: str, tz: dt.tzinfo = UTC) -> QueueLogRecord:
    """Split and check one line; raises :class:`BadRecord` naming what is wrong."""
    if len(text) > MAX_LINE:
        raise BadRecord(f"line of {len(text)} characters is too long", reason="line_too_long")
    fields = text.split("|")
    if len(fields) < 5:
        raise BadRecord(
            f"expected at least 5 '|'-separated fields, got {len(fields)}", reason="too_few_fields"
        )
    epoch, callid, queue, member, verb, *data = fields
    if not epoch.strip():
        raise BadRecord("timestamp is empty", reason="bad_timestamp", field="time")
    ts_ms = any_to_ms(epoch, tz, "time")
    verb = verb.strip().upper()
    if not verb:
        raise BadRecord("event is empty", reason="missing_field", field="event")
    return QueueLogRecord(ts_ms, callid.strip(), queue.strip(), member.strip(), verb, tuple(data))


@dataclasses.dataclass
class _Call:
    queue: str
    agent: str | None = None
    connected: bool = False


class QueueLogTranslator(TranslatorBase):
    """queue_log lines → events, keeping the state a call needs between its lines."""

    platform: ClassVar[str] = "asterisk"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None = None,
        clock: Clock | None = None,
        timezone: dt.tzinfo = UTC,
        max_open_calls: int = 100_000,
        first_seq: int = 1,
    ) -> None:
        super().__init__(tenant=tenant, source=source, clock=clock, first_seq=first_seq)
        self.timezone = timezone
        self.max_open_calls = max_open_calls
        self.calls: dict[str, _Call] = {}
        self.membership = QueueMembership()
        # Member → when its wrap-up (Wazo's WRAPUPSTART) ends: queue_log logs no end of it.
        self.wrapups: dict[str, int] = {}

    def translate(self, text: str, location: Location) -> list[Event]:
        """One line (without its newline) → events; bad lines are counted, never raised."""
        text = text.rstrip("\r\n")
        if not text.strip():
            return self._ignore("blank_line")
        self.stats.records += 1
        try:
            record = parse_queue_log_line(text, self.timezone)
        except BadRecord as error:
            return self._reject(error, location)
        return self._translate(record, text, location)

    def translate_record(self, record: QueueLogRecord, key: str, location: Location) -> list[Event]:
        """A record that did not come from a text line (a table row); ``key`` names it."""
        self.stats.records += 1
        return self._translate(record, key, location)

    def _translate(self, record: QueueLogRecord, key: str, location: Location) -> list[Event]:
        events = self._end_wrapups(record.ts_ms)
        try:
            return events + self.stamper.stamp(key, record.ts_ms, self._drafts(record))
        except BadRecord as error:
            return events + self._reject(error, location)

    def _end_wrapups(self, up_to_ms: int) -> list[Event]:
        """``agent.ready`` for every wrap-up over by ``up_to_ms``, at the instant it ended."""
        events: list[Event] = []
        for end, member in sorted((end, m) for m, end in self.wrapups.items() if end <= up_to_ms):
            del self.wrapups[member]
            events += self.stamper.stamp(
                f"wrapup-end|{member}|{end}", end, [_ready(AgentId(member))]
            )
        return events

    def finish(self) -> list[Event]:
        """At the end of a file, the wrap-ups still running end when their time is over."""
        return self._end_wrapups(MAX_TS_MS)

    # --- restart state -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What the translator remembers between lines, as JSON: with :meth:`restore` and the
        same following lines, a restarted translator emits the very same events (seq, id, ts)."""
        return {
            "next_seq": self.stamper.next_seq,
            "last_ts_ms": self.stamper.guard.last_ms,
            "calls": {
                callid: [call.queue, call.agent, call.connected]
                for callid, call in self.calls.items()
            },
            "membership": self.membership.snapshot(),
            "wrapups": dict(self.wrapups),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back a :meth:`snapshot`; raises ValueError naming what is malformed."""
        next_seq, last_ts = state.get("next_seq"), state.get("last_ts_ms")
        if not isinstance(next_seq, int) or next_seq < 1:
            raise ValueError("next_seq is not a whole number >= 1")
        if not isinstance(last_ts, int) or last_ts < 0:
            raise ValueError("last_ts_ms is not a whole number >= 0")
        calls: dict[str, _Call] = {}
        raw_calls = state.get("calls")
        if not isinstance(raw_calls, dict):
            raise ValueError("calls is not an object")
        for callid, value in raw_calls.items():
            if (
                not isinstance(value, list)
                or len(value) != 3
                or not isinstance(value[0], str)
                or not (value[1] is None or isinstance(value[1], str))
                or not isinstance(value[2], bool)
            ):
                raise ValueError(f"call {callid!r} is not [queue, agent, connected]")
            calls[str(callid)] = _Call(queue=value[0], agent=value[1], connected=value[2])
        wrapups = state.get("wrapups", {})
        if not isinstance(wrapups, dict) or not all(
            isinstance(end, int) and not isinstance(end, bool) for end in wrapups.values()
        ):
            raise ValueError("wrapups is not an object of member -> end in ms")
        self.membership.restore(state.get("membership"))
        self.wrapups = {str(member): end for member, end in wrapups.items()}
        self.stamper.next_seq = next_seq
        self.stamper.guard.last_ms = last_ts
        self.calls = calls

    # --- mapping -------------------------------------------------------------------------------

    def _drafts(self, r: QueueLogRecord) -> list[Draft]:
        verb = r.verb
        if verb in _AGENT_STATE_VERBS:
            self.wrapups.pop(r.member, None)
        handler = self._HANDLERS.get(verb)
        if handler is None:
            if verb in _SYSTEM_VERBS:
                self.stats.ignored[verb.lower()] += 1
                return []
            raise BadRecord(f"unknown queue_log event {verb[:40]!r}", reason="unknown_verb")
        return handler(self, r)

    def _call_id(self, r: QueueLogRecord) -> CallId:
        if r.callid in _NO_CALL:
            raise BadRecord(
                f"{r.verb} needs a call id, got {r.callid!r}",
                reason="missing_field",
                field="callid",
            )
        return CallId(check_name(r.callid, "callid"))

    def _queue(self, r: QueueLogRecord) -> QueueId:
        if r.queue in _NO_CALL:
            call = self.calls.get(r.callid)
            if call is not None:
                return QueueId(call.queue)
            raise BadRecord(f"{r.verb} needs a queue", reason="missing_field", field="queue")
        return QueueId(check_name(r.queue, "queue"))

    def _member(self, r: QueueLogRecord) -> AgentId:
        agent = self._member_if_any(r)
        if agent is None:
            raise BadRecord(f"{r.verb} needs a member", reason="missing_field", field="agent")
        return agent

    def _member_if_any(self, r: QueueLogRecord) -> AgentId | None:
        """The line's member, else the one that answered the call; None when neither is known
        (real logs hold CONNECT and COMPLETE* lines of member NONE)."""
        if r.member in _NO_CALL:
            call = self.calls.get(r.callid)
            return AgentId(call.agent) if call is not None and call.agent else None
        return AgentId(check_name(r.member, "agent"))

    def _ms(self, r: QueueLogRecord, index: int) -> int | None:
        """The duration in whole seconds at ``data[index]``, in ms (see :func:`reported_ms`)."""
        return reported_ms(r.arg(index), self.stats)

    def _remember(self, callid: str, call: _Call) -> None:
        if callid not in self.calls and len(self.calls) >= self.max_open_calls:
            # A call whose end we never saw (a lost line, a crash) must not hold memory forever.
            self.calls.pop(next(iter(self.calls)))
            self.stats.notes["call_state_evicted"] += 1
        self.calls[callid] = call

    def _enterqueue(self, r: QueueLogRecord) -> list[Draft]:
        call, queue = self._call_id(r), self._queue(r)
        self._remember(r.callid, _Call(queue=queue))
        return [lambda env: CallQueued(**env, call=call, queue=queue)]

    def _connect(self, r: QueueLogRecord) -> list[Draft]:
        # CONNECT(holdtime|bridgedchanneluniqueid|ringtime)
        call, queue, agent = self._call_id(r), self._queue(r), self._member_if_any(r)
        wait, ring = self._ms(r, 0), self._ms(r, 2)
        if r.callid not in self.calls:
            self.stats.notes["connect_without_enterqueue"] += 1
        if agent is None:
            self.stats.notes["connect_without_member"] += 1
        self._remember(r.callid, _Call(queue=queue, agent=agent, connected=True))
        return [
            lambda env: CallEstablished(
                **env, call=call, agent=agent, queue=queue, wait_ms=wait, ring_ms=ring
            )
        ]

    def _release(self, r: QueueLogRecord, by: ReleasedBy) -> list[Draft]:
        # COMPLETEAGENT/COMPLETECALLER(holdtime|calltime|origposition)
        call, queue, agent = self._call_id(r), self._queue(r), self._member_if_any(r)
        talk = None if by is ReleasedBy.SYSTEM else self._ms(r, 1)
        self.calls.pop(r.callid, None)
        return [
            lambda env: CallReleased(
                **env, call=call, agent=agent, queue=queue, by=by, talk_ms=talk
            )
        ]

    def _completecaller(self, r: QueueLogRecord) -> list[Draft]:
        return self._release(r, ReleasedBy.CALLER)

    def _completeagent(self, r: QueueLogRecord) -> list[Draft]:
        return self._release(r, ReleasedBy.AGENT)

    def _syscompat(self, r: QueueLogRecord) -> list[Draft]:
        return self._release(r, ReleasedBy.SYSTEM)

    def _abandon(self, r: QueueLogRecord) -> list[Draft]:
        # ABANDON(position|origposition|waittime)
        call, queue, wait = self._call_id(r), self._queue(r), self._ms(r, 2)
        self.calls.pop(r.callid, None)
        return [lambda env: CallAbandoned(**env, call=call, queue=queue, wait_ms=wait)]

    def _diverted(
        self, r: QueueLogRecord, target: str, cause: DiversionCause, wait: int | None
    ) -> list[Draft]:
        call, queue = self._call_id(r), self._queue(r)
        self.calls.pop(r.callid, None)
        return [
            lambda env: CallDiverted(
                **env, call=call, queue=queue, target=target, cause=cause, wait_ms=wait
            )
        ]

    def _exitwithtimeout(self, r: QueueLogRecord) -> list[Draft]:
        # EXITWITHTIMEOUT(position|origposition|waittime)
        return self._diverted(r, "timeout", DiversionCause.TIMEOUT, self._ms(r, 2))

    def _exitempty(self, r: QueueLogRecord) -> list[Draft]:
        # EXITEMPTY(position|origposition|waittime), and Wazo's LEAVEEMPTY
        return self._diverted(r, "empty", DiversionCause.LEAVE_EMPTY, self._ms(r, 2))

    def _exitwithkey(self, r: QueueLogRecord) -> list[Draft]:
        # EXITWITHKEY(key|position|origposition|waittime)
        target = f"key:{r.arg(0) or '?'}"
        return self._diverted(r, target, DiversionCause.KEY, self._ms(r, 3))

    def _agentdump(self, r: QueueLogRecord) -> list[Draft]:
        # The agent hung up during the announcement, before CONNECT: the call leaves the queue
        # unanswered (neither abandoned by the caller nor answered).
        return self._diverted(r, "agent_dump", DiversionCause.AGENT_DUMP, None)

    def _refused(self, r: QueueLogRecord, reason: RefusalReason) -> list[Draft]:
        # The caller never entered the queue: there is no ENTERQUEUE before, nothing after.
        call, queue = self._call_id(r), self._queue(r)
        return [lambda env: CallRefused(**env, call=call, queue=queue, reason=reason)]

    def _full(self, r: QueueLogRecord) -> list[Draft]:
        return self._refused(r, RefusalReason.FULL)

    def _joinempty(self, r: QueueLogRecord) -> list[Draft]:
        return self._refused(r, RefusalReason.JOIN_EMPTY)

    def _joinunavail(self, r: QueueLogRecord) -> list[Draft]:
        return self._refused(r, RefusalReason.JOIN_UNAVAILABLE)

    def _closed(self, r: QueueLogRecord) -> list[Draft]:
        return self._refused(r, RefusalReason.CLOSED)

    def _divert_on_load(self, r: QueueLogRecord, cause: DiversionCause) -> list[Draft]:
        # Wazo diverts the call before it joins the queue (no ENTERQUEUE): it is received by
        # the queue and sent on at once, so it enters and is diverted at the same instant.
        call, queue = self._call_id(r), self._queue(r)
        known = self.calls.pop(r.callid, None)
        target = r.verb.lower()
        drafts: list[Draft] = []
        if known is None or known.queue != queue or known.connected:
            drafts.append(lambda env: CallQueued(**env, call=call, queue=queue))
        drafts.append(
            lambda env: CallDiverted(**env, call=call, queue=queue, target=target, cause=cause)
        )
        return drafts

    def _divert_ca_ratio(self, r: QueueLogRecord) -> list[Draft]:
        return self._divert_on_load(r, DiversionCause.CALLS_PER_AGENT)

    def _divert_holdtime(self, r: QueueLogRecord) -> list[Draft]:
        return self._divert_on_load(r, DiversionCause.EXPECTED_WAIT)

    def _wrapupstart(self, r: QueueLogRecord) -> list[Draft]:
        # WRAPUPSTART(wrapuptime): Wazo logs the start of after-call work with its length in
        # seconds and no end; the agent is ready again when it is over (unless a line about
        # the member comes first).
        agent = self._member(r)
        call = CallId(check_name(r.callid, "callid")) if r.callid not in _NO_CALL else None
        length = self._ms(r, 0)
        if length:
            self.wrapups[agent] = r.ts_ms + length
        return [lambda env: AgentAfterCallWork(**env, agent=agent, call=call)]

    def _transfer(self, r: QueueLogRecord) -> list[Draft]:
        if r.verb == "ATTENDEDTRANSFER":
            target, kind = f"{r.arg(0) or '?'}:{r.arg(1) or '?'}", TransferKind.CONSULT
        else:
            target, kind = f"{r.arg(0) or '?'}@{r.arg(1) or '?'}", TransferKind.BLIND
        target = check_name(target, "target")
        call, queue, agent = self._call_id(r), self._queue(r), self._member(r)
        talk = self._ms(r, 3)  # (…|holdtime|calltime|origposition) after the two target fields
        self.calls.pop(r.callid, None)
        return [
            lambda env: CallTransferred(**env, call=call, agent=agent, target=target, kind=kind),
            lambda env: CallReleased(
                **env, call=call, agent=agent, queue=queue, by=ReleasedBy.AGENT, talk_ms=talk
            ),
        ]

    def _agentlogin(self, r: QueueLogRecord) -> list[Draft]:
        agent = AgentId(check_name(r.member, "agent"))
        dn_text = optional_name(r.arg(0), "channel")
        dn = DnId(dn_text) if dn_text else None
        queues = self.membership.queues(agent)
        return [
            lambda env: AgentLogin(**env, agent=agent, dn=dn, queues=tuple(map(QueueId, queues)))
        ]

    def _agentlogoff(self, r: QueueLogRecord) -> list[Draft]:
        agent = AgentId(check_name(r.member, "agent"))
        reason = optional_name(r.arg(2), "reason") if r.verb == "AGENTCALLBACKLOGOFF" else None
        return [lambda env: AgentLogout(**env, agent=agent, media=VOICE_ONLY, reason=reason)]

    def _addmember(self, r: QueueLogRecord) -> list[Draft]:
        agent, queue = self._member(r), self._queue(r)
        queues = self.membership.add(agent, queue)
        if queues is None:
            self.stats.ignored["addmember_already_member"] += 1
            return []
        qs = tuple(map(QueueId, queues))
        if len(qs) > 1:  # already a member elsewhere: the session goes on
            return [lambda env: AgentQueuesChanged(**env, agent=agent, queues=qs, media=VOICE_ONLY)]
        return [lambda env: AgentLogin(**env, agent=agent, queues=qs)]

    def _removemember(self, r: QueueLogRecord) -> list[Draft]:
        agent, queue = self._member(r), self._queue(r)
        remaining = self.membership.remove(agent, queue)
        if remaining is None:
            self.stats.notes["removemember_not_member"] += 1
            return [lambda env: AgentLogout(**env, agent=agent, media=VOICE_ONLY, reason="removed")]
        if not remaining:
            return [lambda env: AgentLogout(**env, agent=agent, media=VOICE_ONLY, reason="removed")]
        qs = tuple(map(QueueId, remaining))
        return [lambda env: AgentQueuesChanged(**env, agent=agent, queues=qs, media=VOICE_ONLY)]

    def _pause(self, r: QueueLogRecord) -> list[Draft]:
        agent = AgentId(check_name(r.member, "agent"))
        reason = optional_name(r.arg(0), "reason") if r.verb == "PAUSE" else None
        return [lambda env: AgentNotReady(**env, agent=agent, reason=reason)]

    def _unpause(self, r: QueueLogRecord) -> list[Draft]:
        agent = AgentId(check_name(r.member, "agent"))
        return [lambda env: AgentReady(**env, agent=agent)]

    _HANDLERS: ClassVar[dict[str, Callable[[QueueLogTranslator, QueueLogRecord], list[Draft]]]]


QueueLogTranslator._HANDLERS = {
    "ENTERQUEUE": QueueLogTranslator._enterqueue,
    "CONNECT": QueueLogTranslator._connect,
    "COMPLETECALLER": QueueLogTranslator._completecaller,
    "COMPLETEAGENT": QueueLogTranslator._completeagent,
    "AGENTDUMP": QueueLogTranslator._agentdump,
    "SYSCOMPAT": QueueLogTranslator._syscompat,
    "ABANDON": QueueLogTranslator._abandon,
    "EXITWITHTIMEOUT": QueueLogTranslator._exitwithtimeout,
    "EXITEMPTY": QueueLogTranslator._exitempty,
    "EXITWITHKEY": QueueLogTranslator._exitwithkey,
    "LEAVEEMPTY": QueueLogTranslator._exitempty,
    "FULL": QueueLogTranslator._full,
    "JOINEMPTY": QueueLogTranslator._joinempty,
    "JOINUNAVAIL": QueueLogTranslator._joinunavail,
    "CLOSED": QueueLogTranslator._closed,
    "DIVERT_CA_RATIO": QueueLogTranslator._divert_ca_ratio,
    "DIVERT_HOLDTIME": QueueLogTranslator._divert_holdtime,
    "WRAPUPSTART": QueueLogTranslator._wrapupstart,
    "TRANSFER": QueueLogTranslator._transfer,
    "BLINDTRANSFER": QueueLogTranslator._transfer,
    "ATTENDEDTRANSFER": QueueLogTranslator._transfer,
    "AGENTLOGIN": QueueLogTranslator._agentlogin,
    "AGENTCALLBACKLOGIN": QueueLogTranslator._agentlogin,
    "AGENTLOGOFF": QueueLogTranslator._agentlogoff,
    "AGENTCALLBACKLOGOFF": QueueLogTranslator._agentlogoff,
    "ADDMEMBER": QueueLogTranslator._addmember,
    "REMOVEMEMBER": QueueLogTranslator._removemember,
    "PAUSE": QueueLogTranslator._pause,
    "PAUSEALL": QueueLogTranslator._pause,
    "UNPAUSE": QueueLogTranslator._unpause,
    "UNPAUSEALL": QueueLogTranslator._unpause,
}


def _ready(agent: AgentId) -> Draft:
    return lambda env: AgentReady(**env, agent=agent)


# --- live: follow the file like ``tail -F`` ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FilePosition:
    """Where a follower stands: which file (device and inode, so a rotated file is recognised),
    the byte offset just after the last line handed out, and that line's number."""

    dev: int
    ino: int
    offset: int
    line: int

    def to_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> FilePosition:
        if not isinstance(value, dict):
            raise ValueError("a file position is an object")
        fields = {name: value.get(name) for name in ("dev", "ino", "offset", "line")}
        for name, item in fields.items():
            if not isinstance(item, int) or isinstance(item, bool) or item < 0:
                raise ValueError(f"file position field {name} is not a whole number >= 0")
        return cls(**fields)  # type: ignore[arg-type]


def _find_by_identity(directory: str, dev: int, ino: int) -> str | None:
    """The file in ``directory`` that is the given inode (a rotated queue_log, renamed)."""
    try:
        with os.scandir(directory or ".") as entries:
            for entry in entries:
                try:
                    status = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if (status.st_dev, status.st_ino) == (dev, ino) and entry.is_file():
                    return entry.path
    except OSError:
        return None
    return None


class QueueLogFollower:
    """Follows a queue_log file across rotation and truncation, like ``tail -F``.

    It reads what is there (from the start, or from the end with ``start_at_end``), then polls
    every ``poll_interval`` seconds on ``clock``. When the path names a new file (log rotation:
    rename + create), the old file is read to its end first and the new one from its start; when
    the file shrinks (``copytruncate``), reading restarts at 0. A partial last line is held until
    its newline arrives (or the file is rotated away). Lines longer than ``max_line`` bytes are
    dropped and counted in ``dropped_lines``.

    ``resume`` continues from a saved :class:`FilePosition`: in the same file at the saved
    offset; if the file was rotated meanwhile, in the rotated file (found in the same directory
    by its inode) to its end and then in the new one from its start; if the file is gone or
    shorter than the offset, from the start of the path (counted in ``resume_lost``).
    :attr:`position` is where the last line handed out ends; :attr:`caught_up` is set each time
    the follower has read everything there is and waits for more. A file that cannot be opened
    (not there yet, no permission) is waited for, with a warning saying why and the reason in
    :attr:`problem` until it opens.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock,
        poll_interval: float = 0.5,
        start_at_end: bool = False,
        max_line: int = MAX_LINE,
        resume: FilePosition | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        self.poll_interval = poll_interval
        self.start_at_end = start_at_end
        self.max_line = max_line
        self.resume = resume
        self.rotations = 0
        self.truncations = 0
        self.dropped_lines = 0
        self.resume_lost = 0
        self.position: FilePosition | None = None
        self.caught_up = asyncio.Event()
        self.problem: str | None = None
        """Why the file cannot be opened now (missing, no permission…); None once it is."""
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def _cannot_read(self, reason: str) -> None:
        if reason != self.problem:
            logger.warning("queue_log %s cannot be read: %s; waiting for it", self.path, reason)
        self.problem = reason

    def _can_read(self) -> None:
        if self.problem is not None:
            logger.info("queue_log %s can be read again", self.path)
        self.problem = None

    def _open_resumed(self, resume: FilePosition) -> tuple[Any, int] | None:
        """Open the file the saved position is in, at its offset; ``None`` when it is lost."""
        candidates = [
            self.path,
            _find_by_identity(os.path.dirname(self.path), resume.dev, resume.ino),
        ]
        for candidate in candidates:
            if candidate is None:
                continue
            try:
                handle = open(candidate, "rb")  # noqa: SIM115 - closed by lines()
            except OSError:
                continue
            status = os.fstat(handle.fileno())
            if (status.st_dev, status.st_ino) != (resume.dev, resume.ino):
                handle.close()
                continue
            if status.st_size < resume.offset:
                handle.close()  # truncated while we were away: its lines are not those we saw
                return None
            handle.seek(resume.offset)
            return handle, resume.offset
        return None

    async def lines(self) -> AsyncIterator[tuple[str, Location]]:
        handle: Any = None
        identity: tuple[int, int] | None = None
        position = 0  # bytes read from the current file
        committed = 0  # offset just after the last complete line handed out
        pending = b""
        number = 0
        first_open = True
        name = os.path.basename(self.path)
        resume, self.resume = self.resume, None
        if resume is not None:
            opened = self._open_resumed(resume)
            if opened is None:
                self.resume_lost += 1
                logger.warning(
                    "queue_log %s: the saved position (inode %d, offset %d) is gone; "
                    "reading the file from its start",
                    self.path,
                    resume.ino,
                    resume.offset,
                )
            else:
                handle, position = opened
                identity = (resume.dev, resume.ino)
                committed, number, first_open = position, resume.line, False
                self.position = resume
        try:
            while not self._stopped:
                if handle is None:
                    try:
                        # A local file, opened once per rotation; each read is bounded to 64 KiB.
                        handle = open(self.path, "rb")  # noqa: ASYNC230, SIM115
                    except OSError as error:
                        # Missing (not created yet) or unreadable: wait for it, not ready.
                        self._cannot_read(error.strerror or str(error))
                        self.caught_up.set()
                        await self._clock.sleep(self.poll_interval)
                        continue
                    self._can_read()
                    status = os.fstat(handle.fileno())
                    identity = (status.st_dev, status.st_ino)
                    position, committed, pending, number = 0, 0, b"", 0
                    if first_open and self.start_at_end:
                        position = committed = handle.seek(0, os.SEEK_END)
                    first_open = False
                    self.position = FilePosition(*identity, committed, number)
                assert identity is not None
                chunk = handle.read(65536)
                if chunk:
                    position += len(chunk)
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    for raw in complete:
                        number += 1
                        committed += len(raw) + 1
                        self.position = FilePosition(*identity, committed, number)
                        if len(raw) > self.max_line:
                            self.dropped_lines += 1
                            continue
                        yield raw.decode("utf-8", "replace"), line(number, name)
                    if len(pending) > self.max_line:
                        # Skip the rest of an endless line rather than buffer it.
                        self.dropped_lines += 1
                        pending = b""
                    continue
                try:
                    status = os.stat(self.path)
                    current: tuple[int, int] | None = (status.st_dev, status.st_ino)
                    size = status.st_size
                except FileNotFoundError:
                    current, size = None, 0
                if current is not None and current != identity:
                    # Rotated: the old file is drained (we just read to its end).
                    if pending:
                        number += 1
                        committed += len(pending)
                        self.position = FilePosition(*identity, committed, number)
                        yield pending.decode("utf-8", "replace"), line(number, name)
                    handle.close()
                    handle = None
                    self.rotations += 1
                    continue
                if current is not None and size < position:
                    handle.seek(0)
                    position, committed, pending, number = 0, 0, b"", 0
                    self.position = FilePosition(*identity, committed, number)
                    self.truncations += 1
                    continue
                self.caught_up.set()
                await self._clock.sleep(self.poll_interval)
        finally:
            if handle is not None:
                handle.close()


# --- live or offline: a realtime queue_log table -------------------------------------------------

_TABLE_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


def row_to_record(row: Mapping[str, Any], tz: dt.tzinfo = UTC) -> QueueLogRecord:
    """A row of Asterisk's realtime ``queue_log`` table → a record.

    The table (Asterisk's ``contrib/ast-db-manage``) has ``time``, ``callid``, ``queuename``,
    ``agent``, ``event`` and ``data1``…``data5`` (older schemas: one ``data`` column with the
    parameters '|'-separated). ``time`` may be a date-time (read in ``tz`` when it has no zone)
    or text holding an epoch or a date-time.
    """
    raw_time = row.get("time")
    if isinstance(raw_time, dt.datetime):
        ts_ms = moment_to_ms(raw_time, tz)
    elif isinstance(raw_time, int | float):
        ts_ms = any_to_ms(str(raw_time), tz, "time")
    elif isinstance(raw_time, str) and raw_time.strip():
        ts_ms = (
            any_to_ms(raw_time, tz, "time")
            if raw_time.strip()[0:1].isdigit()
            else (datetime_to_ms(raw_time, tz, "time"))
        )
    else:
        raise BadRecord("time is missing", reason="bad_timestamp", field="time")
    data: Sequence[str]
    numbered = [row.get(f"data{i}") for i in range(1, 6)]
    if any(value not in (None, "") for value in numbered):
        data = ["" if value is None else str(value) for value in numbered]
        while data and not data[-1]:
            data.pop()
    else:
        data = str(row.get("data") or "").split("|") if row.get("data") else []
    verb = str(row.get("event") or "").strip().upper()
    if not verb:
        raise BadRecord("event is empty", reason="missing_field", field="event")
    return QueueLogRecord(
        ts_ms,
        str(row.get("callid") or "").strip(),
        str(row.get("queuename") or "").strip(),
        str(row.get("agent") or "").strip(),
        verb,
        tuple(data),
    )


def _check_table_url(url: str) -> None:
    """Fail at start, naming the URL (without its password), when no engine can be made of it:
    a reader would otherwise fail the same way at every poll."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise ConfigError(
            "--table-url cannot be parsed (expected e.g. postgresql+asyncpg://user@host/asterisk)",
            field="table_url",
        ) from None
    try:
        create_async_engine(url)
    except (SQLAlchemyError, ImportError) as error:
        raise ConfigError(
            f"--table-url {shown} cannot be used: {error}", field="table_url"
        ) from None


class QueueLogTablePoller:
    """Reads new rows of a realtime ``queue_log`` table in id order, polling on a clock.

    ``url`` is an SQLAlchemy async URL (``postgresql+asyncpg://…``, ``sqlite+aiosqlite://…``).
    Rows are read in pages of ``batch`` by increasing ``id``; ``after_id`` resumes after a row.
    :attr:`caught_up` is set each time a page comes back short (every row there is was read).
    """

    def __init__(
        self,
        url: str,
        *,
        table: str = "queue_log",
        clock: Clock,
        poll_interval: float = 1.0,
        batch: int = 1000,
        after_id: int = 0,
        query_timeout: float = 10.0,
    ) -> None:
        if not _TABLE_NAME.match(table):
            raise ConfigError(f"not a table name: {table!r}", field="table", value=table)
        _check_table_url(url)
        self.url = url
        self.table = table
        self._clock = clock
        self.poll_interval = poll_interval
        self.batch = batch
        self.last_id = after_id
        self.query_timeout = query_timeout
        self.caught_up = asyncio.Event()
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    async def rows(self, *, follow: bool = True) -> AsyncIterator[tuple[dict[str, Any], Location]]:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.url)
        query = text(f"SELECT * FROM {self.table} WHERE id > :after ORDER BY id LIMIT :limit")
        try:
            while not self._stopped:
                async with engine.connect() as connection:
                    result = await asyncio.wait_for(
                        connection.execute(query, {"after": self.last_id, "limit": self.batch}),
                        self.query_timeout,
                    )
                    rows = [dict(row._mapping) for row in result]
                for row in rows:
                    self.last_id = int(row["id"])
                    yield row, Location("row", self.last_id, self.table)
                if len(rows) < self.batch:
                    self.caught_up.set()
                    if not follow:
                        return
                    await self._clock.sleep(self.poll_interval)
        finally:
            await engine.dispose()
