"""FreeSWITCH ``mod_callcenter`` over the event socket (ESL): framing, translator, client.

The event socket sends frames: a header block (``Content-Type``, ``Content-Length``), a blank
line, then ``Content-Length`` bytes of body. A ``text/event-plain`` body is itself a header
block whose values are URL-encoded. ``mod_callcenter`` fires ``CUSTOM`` events of subclass
``callcenter::info`` whose ``CC-Action`` header says what happened; header names are those of
``mod_callcenter.c`` (``CC-Queue``, ``CC-Agent``, ``CC-Member-Session-UUID``,
``CC-Cause``/``CC-Cancel-Reason``, ``CC-Agent-Status``, ``CC-Agent-State``). The time of an event
is its ``Event-Date-Timestamp`` header (microseconds since the epoch).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from typing import ClassVar, Final
from urllib.parse import unquote

from wallboard.adapters.base import (
    VOICE_ONLY,
    BadRecord,
    Draft,
    Location,
    TranslatorBase,
    check_name,
    offset,
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
    AgentReady,
    CallAbandoned,
    CallDiverted,
    CallEstablished,
    CallQueued,
    CallReleased,
    CallRinging,
    DiversionCause,
    Event,
)
from wallboard.core.ids import AgentId, CallId, QueueId

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES: Final = 256 * 1024

CANCEL_TARGETS: Final = {
    "TIMEOUT": ("timeout", DiversionCause.TIMEOUT),
    "NO_AGENT_TIMEOUT": ("no_agent_timeout", DiversionCause.LEAVE_EMPTY),
    "EXIT_WITH_KEY": ("exit_with_key", DiversionCause.KEY),
}
"""``CC-Cancel-Reason`` values that mean the caller was sent on (not a hang-up): the
diversion's target and cause."""

AVAILABLE_STATUSES: Final = frozenset({"available", "available (on demand)"})


@dataclasses.dataclass(frozen=True)
class EslFrame:
    headers: dict[str, str]
    body: bytes
    offset: int

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def parse_header_block(text: str, *, url_decoded: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in text.split("\n"):
        entry = raw.rstrip("\r")
        if not entry:
            continue
        key, colon, value = entry.partition(":")
        if not colon:
            raise BadRecord(f"header line without ':' {entry[:40]!r}", reason="malformed_line")
        value = value.strip()
        headers[key.strip()] = unquote(value) if url_decoded else value
    return headers


class EslParser:
    """Splits an event-socket byte stream into frames, incrementally."""

    def __init__(self, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = b""
        self._offset = 0
        self.errors: list[tuple[BadRecord, int]] = []

    def feed(self, data: bytes) -> list[EslFrame]:
        self._buffer += data
        frames: list[EslFrame] = []
        while True:
            stripped = self._buffer.lstrip(b"\r\n")
            self._offset += len(self._buffer) - len(stripped)
            self._buffer = stripped
            end = self._buffer.find(b"\n\n")
            if end < 0:
                if len(self._buffer) > self.max_frame_bytes:
                    self.errors.append(
                        (BadRecord("frame header too long", reason="frame_too_long"), self._offset)
                    )
                    self._offset += len(self._buffer)
                    self._buffer = b""
                break
            try:
                headers = parse_header_block(
                    self._buffer[:end].decode("utf-8", "replace"), url_decoded=False
                )
                length = int(headers.get("Content-Length", "0") or 0)
            except (BadRecord, ValueError) as error:
                bad = (
                    error
                    if isinstance(error, BadRecord)
                    else BadRecord("Content-Length is not a number", reason="malformed_frame")
                )
                self.errors.append((bad, self._offset))
                self._offset += end + 2
                self._buffer = self._buffer[end + 2 :]
                continue
            if length > self.max_frame_bytes:
                self.errors.append(
                    (
                        BadRecord(f"frame body of {length} bytes", reason="frame_too_long"),
                        self._offset,
                    )
                )
                length = 0
            if len(self._buffer) < end + 2 + length:
                break
            body = self._buffer[end + 2 : end + 2 + length]
            frames.append(EslFrame(headers, body, self._offset))
            self._offset += end + 2 + length
            self._buffer = self._buffer[end + 2 + length :]
        return frames


def event_headers(frame: EslFrame) -> dict[str, str]:
    """The headers of a ``text/event-plain`` frame, URL-decoded."""
    text = frame.body.decode("utf-8", "replace")
    block, _, _ = text.partition("\n\n")
    return parse_header_block(block, url_decoded=True)


def parse_plain_events(data: bytes) -> list[tuple[dict[str, str] | BadRecord, int]]:
    """An offline dump: either raw ESL frames, or plain events separated by blank lines."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    if text.lstrip().startswith("Content-"):
        parser = EslParser()
        frames = parser.feed(data.replace(b"\r\n", b"\n") + b"\n\n")
        out: list[tuple[dict[str, str] | BadRecord, int]] = [(e, o) for e, o in parser.errors]
        for frame in frames:
            if frame.content_type == "text/event-plain":
                try:
                    out.append((event_headers(frame), frame.offset))
                except BadRecord as error:
                    out.append((error, frame.offset))
        return sorted(out, key=lambda item: item[1])
    results: list[tuple[dict[str, str] | BadRecord, int]] = []
    position = 0
    for block in text.split("\n\n"):
        if block.strip():
            try:
                results.append((parse_header_block(block, url_decoded=True), position))
            except BadRecord as error:
                results.append((error, position))
        position += len(block.encode()) + 2
    return results


class FreeswitchTranslator(TranslatorBase):
    """``callcenter::info`` events → our events; other events are ignored and counted."""

    platform: ClassVar[str] = "freeswitch"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None = None,
        clock: Clock | None = None,
        first_seq: int = 1,
    ) -> None:
        super().__init__(tenant=tenant, source=source, clock=clock, first_seq=first_seq)
        self._clock = clock
        self.logged_in: set[str] = set()
        self.agent_status: dict[str, str] = {}
        self.agent_state: dict[str, str] = {}
        self.connected_calls: set[str] = set()

    def translate(self, headers: dict[str, str], location: Location) -> list[Event]:
        self.stats.records += 1
        try:
            if headers.get("Event-Subclass") != "callcenter::info":
                self.stats.ignored[headers.get("Event-Name") or "no_event_name"] += 1
                return []
            stamp = headers.get("Event-Date-Timestamp")
            if stamp:
                ts_ms = epoch_to_ms(stamp, "Event-Date-Timestamp")
            elif self._clock is not None:
                self.stats.notes["ts_receive_time"] += 1
                ts_ms = self._clock.now_ms()
            else:
                raise BadRecord("Event-Date-Timestamp is missing", reason="missing_timestamp")
            core, sequence = headers.get("Core-UUID"), headers.get("Event-Sequence")
            key = (
                f"{core}|{sequence}"
                if core and sequence
                else "\n".join(f"{k}: {v}" for k, v in sorted(headers.items()))
            )
            return self.stamper.stamp(key, ts_ms, self._drafts(headers))
        except BadRecord as error:
            return self._reject(error, location)

    def _drafts(self, h: dict[str, str]) -> list[Draft]:
        action = (h.get("CC-Action") or "").strip()
        if action in ("agent-status-change", "agent-state-change"):
            return self._agent_drafts(action, h)
        if action in ("members-count", "bridge-agent-fail", "member-queue-resume"):
            self.stats.ignored[action] += 1
            return []
        if action not in (
            "member-queue-start",
            "member-queue-end",
            "agent-offering",
            "bridge-agent-start",
            "bridge-agent-end",
        ):
            raise BadRecord(f"unknown CC-Action {action[:40]!r}", reason="unknown_action")
        session = h.get("CC-Member-Session-UUID") or h.get("CC-Member-UUID")
        call = CallId(check_name(session, "CC-Member-Session-UUID"))
        queue = QueueId(check_name(h.get("CC-Queue"), "CC-Queue"))
        if action == "member-queue-start":
            return [lambda env: CallQueued(**env, call=call, queue=queue)]
        if action == "member-queue-end":
            cause = (h.get("CC-Cause") or "").strip()
            if cause == "Terminated":
                # Answered and over: bridge-agent-end already said so.
                self.connected_calls.discard(call)
                self.stats.ignored["member-queue-end_terminated"] += 1
                return []
            if cause != "Cancel":
                raise BadRecord(f"unknown CC-Cause {cause[:40]!r}", reason="unknown_cause")
            reason = (h.get("CC-Cancel-Reason") or "").strip().upper()
            wait = self._span_ms(h, "CC-Member-Joined-Time", "CC-Member-Leaving-Time")
            diverted = CANCEL_TARGETS.get(reason)
            if diverted is not None:
                target, why = diverted
                return [
                    lambda env: CallDiverted(
                        **env, call=call, queue=queue, target=target, cause=why, wait_ms=wait
                    )
                ]
            # BREAK_OUT: the caller's channel went away while waiting — an abandon.
            return [lambda env: CallAbandoned(**env, call=call, queue=queue, wait_ms=wait)]
        agent = AgentId(check_name(h.get("CC-Agent"), "CC-Agent"))
        if action == "agent-offering":
            return [lambda env: CallRinging(**env, call=call, agent=agent, queue=queue)]
        if action == "bridge-agent-start":
            self.connected_calls.add(call)
            wait = self._span_ms(h, "CC-Member-Joined-Time", "CC-Agent-Answered-Time")
            ring = self._span_ms(h, "CC-Agent-Called-Time", "CC-Agent-Answered-Time")
            return [
                lambda env: CallEstablished(
                    **env, call=call, agent=agent, queue=queue, wait_ms=wait, ring_ms=ring
                )
            ]
        self.connected_calls.discard(call)
        talk = self._span_ms(h, "CC-Agent-Answered-Time", "CC-Bridge-Terminated-Time")
        return [lambda env: CallReleased(**env, call=call, agent=agent, queue=queue, talk_ms=talk)]

    def _span_ms(self, h: dict[str, str], start: str, end: str) -> int | None:
        """The time between two of mod_callcenter's epoch-second headers, in ms (None when
        either is absent, or they are no span: counted as ``bad_duration``)."""
        first, last = (h.get(start) or "").strip(), (h.get(end) or "").strip()
        if not first or not last:
            return None
        if not (first.isdigit() and last.isdigit()) or int(last) < int(first):
            self.stats.notes["bad_duration"] += 1
            return None
        return reported_ms(str(int(last) - int(first)), self.stats)

    def _agent_drafts(self, action: str, h: dict[str, str]) -> list[Draft]:
        agent = AgentId(check_name(h.get("CC-Agent"), "CC-Agent"))
        if action == "agent-state-change":
            # Receiving / In a queue call are told by agent-offering and the bridge events;
            # the state is kept for inspection only.
            self.agent_state[agent] = check_name(h.get("CC-Agent-State"), "CC-Agent-State")
            self.stats.ignored["agent-state-change"] += 1
            return []
        status = check_name(h.get("CC-Agent-Status"), "CC-Agent-Status")
        self.agent_status[agent] = status
        if status.lower() == "logged out":
            self.logged_in.discard(agent)
            return [lambda env: AgentLogout(**env, agent=agent, media=VOICE_ONLY)]
        drafts: list[Draft] = []
        if agent not in self.logged_in:
            self.logged_in.add(agent)
            drafts.append(lambda env: AgentLogin(**env, agent=agent))
        if status.lower() in AVAILABLE_STATUSES:
            drafts.append(lambda env: AgentReady(**env, agent=agent))
        else:
            drafts.append(lambda env: AgentNotReady(**env, agent=agent, reason=status))
        return drafts


@dataclasses.dataclass(frozen=True)
class EslConnection:
    host: str
    port: int = 8021
    password: str = dataclasses.field(default="ClueCon", repr=False)
    connect_timeout: float = 5.0
    auth_timeout: float = 5.0
    idle_timeout: float = 60.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class EslClient(ReconnectingClient[tuple[dict[str, str], int]]):
    """Connects to the event socket, subscribes to ``callcenter::info``, reconnects with backoff
    (see :class:`ReconnectingClient`).

    Yields each event's URL-decoded headers. A connection silent for ``idle_timeout`` seconds is
    reopened (``mod_callcenter`` is quiet when nothing happens, so keep it generous).
    """

    name: ClassVar[str] = "ESL"

    def __init__(self, connection: EslConnection, *, clock: Clock) -> None:
        super().__init__(
            clock=clock,
            backoff_initial=connection.backoff_initial,
            backoff_max=connection.backoff_max,
        )
        self.connection = connection

    def events(self) -> AsyncIterator[tuple[dict[str, str], int]]:
        return self._reconnecting()

    def _peer(self) -> str:
        return f"{self.connection.host}:{self.connection.port}"

    async def _command(self, frames: _FrameReader, writer: asyncio.StreamWriter, text: str) -> None:
        writer.write(text.encode() + b"\n\n")
        async with asyncio.timeout(self.connection.auth_timeout):
            await writer.drain()
            while True:
                frame = await frames.next()
                if frame.content_type == "command/reply":
                    reply = frame.headers.get("Reply-Text", "")
                    if not reply.startswith("+OK"):
                        raise Unauthenticated(f"ESL refused {text.split()[0]!r}: {reply}")
                    return

    async def _session(self) -> AsyncIterator[tuple[dict[str, str], int]]:
        c = self.connection
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(c.host, c.port), c.connect_timeout
        )
        self._writer = writer
        frames = _FrameReader(reader)
        try:
            async with asyncio.timeout(c.auth_timeout):
                while (await frames.next()).content_type != "auth/request":
                    pass
            await self._command(frames, writer, f"auth {c.password}")
            await self._command(frames, writer, "event plain CUSTOM callcenter::info")
            self.connects += 1
            self.connected = True
            while not self._stopped:
                frame = await asyncio.wait_for(frames.next(), c.idle_timeout)
                if frame.content_type == "text/disconnect-notice":
                    raise Unavailable("the event socket sent a disconnect notice")
                if frame.content_type == "text/event-plain":
                    try:
                        headers = event_headers(frame)
                    except BadRecord as error:
                        logger.warning("ESL: bad event at offset %s: %s", frame.offset, error)
                        continue
                    yield headers, frame.offset
        finally:
            self._writer = None
            self.connected = False
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


class _FrameReader:
    """Frames from a socket, one at a time, keeping those that arrived together."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._parser = EslParser()
        self._ready: collections.deque[EslFrame] = collections.deque()

    async def next(self) -> EslFrame:
        while not self._ready:
            data = await self._reader.read(65536)
            if not data:
                raise Unavailable("the event socket closed the connection")
            self._ready.extend(self._parser.feed(data))
        return self._ready.popleft()


def translate_dump(
    data: bytes, translator: FreeswitchTranslator, origin: str = ""
) -> Iterator[Event]:
    """The events of a dump, record by record."""
    for item, position in parse_plain_events(data):
        if isinstance(item, BadRecord):
            translator.stats.records += 1
            translator.bad.record(item, offset(position, origin))
        else:
            yield from translator.translate(item, offset(position, origin))
