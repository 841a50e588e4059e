"""AMI parser, grouping, member state and translator on recorded panoramisk transcripts and the
Asterisk testsuite sequences; the TCP client against a fake AMI server replaying them."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.adapters.asterisk_ami import (
    AmiClient,
    AmiConnection,
    AmiMessage,
    AmiParser,
    AmiTranslator,
    parse_ami,
    translate_capture,
)
from wallboard.adapters.base import offset
from wallboard.core.clock import SystemClock
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
    Media,
    ReleasedBy,
    TransferKind,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "adapters"
QUEUE_STATUS = FIXTURES / "panoramisk__tests__fixtures__queue_status.yaml"
LOGGED_IN = FIXTURES / "panoramisk__tests__fixtures__agent_loggued_in.yaml"
NOT_IN_PAUSE = FIXTURES / "panoramisk__tests__fixtures__agent_not_in_pause.yaml"
QUEUE_ADD = FIXTURES / "panoramisk__tests__fixtures__queue_add.yaml"
BLIND = (
    FIXTURES / "asterisk-testsuite__tests__apps__queues__transfer__caller_blind__test-config.yaml"
)
ATTENDED = (
    FIXTURES
    / "asterisk-testsuite__tests__apps__queues__transfer__caller_attended__test-config.yaml"
)
NO_ANSWER = FIXTURES / "asterisk-testsuite__tests__apps__queues__queue_no_answer__test-config.yaml"


def test_queue_status_is_nine_messages_grouped_by_action_id() -> None:
    messages, errors = parse_ami(QUEUE_STATUS.read_bytes())
    assert errors == []
    assert len(messages) == 9  # as panoramisk's own test expects
    translator = AmiTranslator(tenant="t1", fallback_ts_ms=1_413_900_000_000)
    for message in messages:
        translator.translate(message, offset(message.offset))
    [group] = translator.completed_actions
    assert group.action_id == "action/transaction_uid/1/1"
    assert group.response is not None
    assert group.response.get("Message") == "Queue status will follow"
    # 1 response + QueueParams + 6 QueueMember + QueueStatusComplete (shared/data's README
    # says 7 QueueMember; the file holds 6).
    assert [m.name for m in group.events] == ["QueueParams"] + ["QueueMember"] * 6 + [
        "QueueStatusComplete"
    ]


def test_crlf_and_lf_parse_alike_and_chunking_does_not_matter() -> None:
    data = QUEUE_STATUS.read_bytes()
    lf, _ = parse_ami(data)
    crlf, _ = parse_ami(data.replace(b"\n", b"\r\n"))
    assert [m.headers for m in lf] == [m.headers for m in crlf]
    parser = AmiParser()
    pieces: list[AmiMessage] = []
    for start in range(0, len(data), 7):
        pieces += parser.feed(data[start : start + 7])
    pieces += parser.close()
    assert [m.headers for m in pieces] == [m.headers for m in lf]


def test_member_state_is_rebuilt_from_queue_status() -> None:
    translator = AmiTranslator(tenant="t1", fallback_ts_ms=1_413_900_000_000)
    events = list(translate_capture([QUEUE_STATUS.read_bytes()], translator))
    book = translator.book
    params = book.queues["xxxxxxxxxxxxxxxx-tous"]
    assert (params.completed, params.abandoned, params.holdtime, params.talktime) == (60, 5, 3, 303)
    members = {name: m for (_, name), m in book.members.items()}
    assert set(members) == {
        "Agent/220",
        "Agent/213",
        "Agent/859",
        "Agent/214",
        "Agent/333",
        "Agent/999",
    }
    assert members["Agent/220"].calls_taken == 2
    assert members["Agent/333"].calls_taken == 8
    assert members["Agent/999"].paused
    assert members["Agent/999"].device_state == "unavailable"
    assert members["Agent/220"].interface == "Local/id-9@agentcallback"
    # Wallboard events: each member logs in, then is ready or (Agent/999) not ready.
    logins = [e for e in events if isinstance(e, AgentLogin)]
    assert len(logins) == 6
    assert all(e.queues == ("xxxxxxxxxxxxxxxx-tous",) for e in logins)
    assert [e.agent for e in events if isinstance(e, AgentNotReady)] == ["Agent/999"]
    assert len([e for e in events if isinstance(e, AgentReady)]) == 5
    assert sum(m.calls_taken for m in members.values()) == 10


def test_engine_agrees_with_the_queue_status_members_and_says_where_it_cannot() -> None:
    """The engine on the adapted QueueStatus reply: its agent counts equal the platform's
    member table. Its call counts cannot equal QueueParams' Completed 60 / Abandoned 5: those
    run since Asterisk's last reset, and a status reply carries no calls, so over the window
    the engine sees (this reply) it counts none — agreement needs the stream since the reset."""
    from wallboard.stats.library import standard_library
    from wallboard.stats.replay import replay

    translator = AmiTranslator(tenant="t1", fallback_ts_ms=1_413_900_000_000)
    events = list(translate_capture([QUEUE_STATUS.read_bytes()], translator))
    members = translator.book.members.values()
    result, anomalies = replay(events, standard_library())
    tenant = result["t1"]["tenant"]["t1"]
    assert tenant["tenant.agents_logged_in"] == len(members) == 6
    assert tenant["tenant.agents_ready"] == sum(not m.paused for m in members) == 5
    assert tenant["tenant.agents_not_ready"] == sum(m.paused for m in members) == 1
    params = translator.book.queues["xxxxxxxxxxxxxxxx-tous"]
    assert (params.completed, params.abandoned) == (60, 5)
    assert tenant["tenant.answered"] == 0
    assert tenant["tenant.abandoned"] == 0
    assert anomalies == {}


def test_agent_logged_in_transcript_rebuilds_the_new_member_and_skips_noise() -> None:
    translator = AmiTranslator(tenant="t1", fallback_ts_ms=1_409_169_000_000)
    events = list(translate_capture([LOGGED_IN.read_bytes()], translator, LOGGED_IN.name))
    member = translator.book.members[("general_queue", "Agent/402")]
    assert member.status == 1
    assert not member.paused
    assert [(type(e), e.agent) for e in events if hasattr(e, "agent")] == [
        (AgentLogin, "Agent/401"),
        (AgentReady, "Agent/401"),
        (AgentLogin, "Agent/402"),
        (AgentReady, "Agent/402"),
    ]
    # VarSet, AGIExec, Newexten, CEL… are skipped, never errors. The capture has two messages
    # whose first line begins "[N bytes missing in capture file]Event: …": those are counted.
    assert translator.stats.ignored["other_event"] > 100
    assert translator.bad.by_reason == {"unknown_message_kind": 2}
    # Events are dated from the Timestamp of the Ping responses before them.
    assert all(1_409_169_929_000 <= e.ts <= 1_409_170_000_000 for e in events)


def test_unpause_transcript_turns_paused_into_ready() -> None:
    translator = AmiTranslator(tenant="t1", fallback_ts_ms=1_413_823_936_000)
    events = list(translate_capture([NOT_IN_PAUSE.read_bytes()], translator))
    assert translator.bad.total == 0
    states = [type(e) for e in events if getattr(e, "agent", None) == "Agent/999"]
    # Added to a second queue while logged in: the same session, a new set of queues.
    assert states == [AgentLogin, AgentNotReady, AgentReady, AgentQueuesChanged]
    assert not translator.book.members[("maisonvoyance-tous", "Agent/999")].paused
    last = events[-1]
    assert isinstance(last, AgentQueuesChanged)
    assert last.media == (Media.VOICE,)  # the voice queues: another platform's stay
    assert last.queues == (
        "maisonvoyance-tous",
        "xxxxxxxxxxxx-tous",
    )


def test_queue_add_reply_is_a_complete_single_response() -> None:
    translator = AmiTranslator(tenant="t1", fallback_ts_ms=0)
    assert list(translate_capture([QUEUE_ADD.read_bytes()], translator)) == []
    [group] = translator.completed_actions
    assert group.response is not None
    assert group.events == []


# --- the testsuite sequences as scripted streams -------------------------------------------------

CALLER_UID = "1700000000.1"
AGENT_UID = "1700000000.2"


def concrete(value: Any) -> str:
    """A testsuite header value is a regex such as 'PJSIP/alice-.*': make it a real one."""
    return re.sub(r"\.\*", "00000001", str(value))


def scripted_stream(config: Path) -> list[AmiMessage]:
    """The ordered ``ami-events`` of a testsuite test, each ``count`` times, with the headers
    the test does not pin (Queue, Uniqueid, Context, Timestamp) filled in, after a
    QueueCallerJoin that starts the call (the test only checks from AgentConnect on)."""
    spec = yaml.safe_load(config.read_text())
    messages = [
        AmiMessage(
            (
                ("Event", "QueueCallerJoin"),
                ("Channel", "PJSIP/alice-00000001"),
                ("Uniqueid", CALLER_UID),
                ("Queue", "queue"),
                ("Timestamp", "1700000000.000000"),
            )
        )
    ]
    for step, entry in enumerate(spec["ami-config"], 1):
        match = {k: concrete(v) for k, v in entry["ami-events"]["conditions"]["match"].items()}
        count = int(str(entry["ami-events"].get("count", 1)))
        headers = [("Event", match.pop("Event")), *match.items()]
        headers += [("Timestamp", f"{1_700_000_000 + step}.000000")]
        if headers[0][1] in ("AgentConnect", "AgentComplete"):
            headers += [("Queue", "queue"), ("Uniqueid", CALLER_UID), ("DestUniqueid", AGENT_UID)]
        if headers[0][1] == "BlindTransfer":
            headers += [("Context", "default")]
        messages += [AmiMessage(tuple(headers))] * count
    return messages


def run_stream(messages: list[AmiMessage]) -> tuple[list[Event], AmiTranslator]:
    translator = AmiTranslator(tenant="t1")
    events: list[Event] = []
    for index, message in enumerate(messages):
        events += translator.translate(message, offset(index))
    return events + translator.finish(), translator


def test_caller_blind_transfer_is_answered_then_transferred() -> None:
    events, translator = run_stream(scripted_stream(BLIND))
    assert translator.bad.total == 0
    assert [type(e) for e in events] == [CallQueued, CallEstablished, CallTransferred, CallReleased]
    established, transferred, released = events[1], events[2], events[3]
    assert isinstance(established, CallEstablished)
    assert established.agent == "PJSIP/bob"
    assert isinstance(transferred, CallTransferred)
    assert (transferred.target, transferred.kind) == ("102@default", TransferKind.BLIND)
    assert isinstance(released, CallReleased)
    assert released.by is ReleasedBy.AGENT


def test_caller_attended_transfer_is_a_consult_transfer() -> None:
    events, translator = run_stream(scripted_stream(ATTENDED))
    assert translator.bad.total == 0
    kinds = [type(e) for e in events]
    assert kinds == [CallQueued, CallEstablished, CallTransferred, CallReleased]
    transferred = events[2]
    assert isinstance(transferred, CallTransferred)
    assert transferred.kind is TransferKind.CONSULT


def test_no_answer_timeout_is_an_exit_not_an_abandon() -> None:
    # queue_no_answer checks CDRs: both members' legs FAILED, the caller NO ANSWER (timed out).
    spec = yaml.safe_load(NO_ANSWER.read_text())
    cdr = spec["cdr-config"][0]["lines"]
    members = [line for line in cdr if line["disposition"] == "FAILED"]
    assert len(members) == 2
    assert any(line["disposition"] == "NO ANSWER" for line in cdr)
    stream = [
        AmiMessage(
            (("Event", "QueueCallerJoin"), ("Queue", "q"), ("Uniqueid", "c1"), ("Timestamp", "100"))
        )
    ]
    for n, _ in enumerate(members, 1):
        stream.append(
            AmiMessage(
                (
                    ("Event", "AgentCalled"),
                    ("Queue", "q"),
                    ("Uniqueid", "c1"),
                    ("MemberName", f"Local/queue_member_{n}@default"),
                    ("Timestamp", "101"),
                )
            )
        )
    for n, _ in enumerate(members, 1):
        stream.append(
            AmiMessage(
                (
                    ("Event", "AgentRingNoAnswer"),
                    ("Queue", "q"),
                    ("Uniqueid", "c1"),
                    ("MemberName", f"Local/queue_member_{n}@default"),
                    ("Timestamp", "110"),
                )
            )
        )
    stream.append(
        AmiMessage(
            (
                ("Event", "QueueCallerLeave"),
                ("Queue", "q"),
                ("Uniqueid", "c1"),
                ("Timestamp", "120"),
            )
        )
    )
    events, _ = run_stream(stream)
    assert [type(e) for e in events] == [CallQueued, CallRinging, CallRinging, CallDiverted]
    assert isinstance(events[-1], CallDiverted)
    assert events[-1].target == "exit"
    assert events[-1].ts == 120_000


def test_a_leave_followed_by_connect_is_an_answer() -> None:
    stream = [
        AmiMessage(
            (("Event", "QueueCallerJoin"), ("Queue", "q"), ("Uniqueid", "c1"), ("Timestamp", "100"))
        ),
        AmiMessage(
            (
                ("Event", "QueueCallerLeave"),
                ("Queue", "q"),
                ("Uniqueid", "c1"),
                ("Timestamp", "105"),
            )
        ),
        AmiMessage(
            (
                ("Event", "AgentConnect"),
                ("Queue", "q"),
                ("Uniqueid", "c1"),
                ("MemberName", "bob"),
                ("HoldTime", "5"),
                ("RingTime", "2"),
                ("Timestamp", "105"),
            )
        ),
        AmiMessage(
            (
                ("Event", "AgentComplete"),
                ("Queue", "q"),
                ("Uniqueid", "c1"),
                ("MemberName", "bob"),
                ("Reason", "caller"),
                ("HoldTime", "5"),
                ("TalkTime", "95"),
                ("Timestamp", "200"),
            )
        ),
    ]
    events, _ = run_stream(stream)
    assert [type(e) for e in events] == [CallQueued, CallEstablished, CallReleased]
    # The durations Asterisk reports (seconds) are on the events.
    established, released = events[1], events[2]
    assert isinstance(established, CallEstablished)
    assert (established.wait_ms, established.ring_ms) == (5_000, 2_000)
    assert isinstance(released, CallReleased)
    assert released.talk_ms == 95_000


def test_an_abandon_carries_the_wait_asterisk_reports() -> None:
    stream = [
        AmiMessage(
            (("Event", "QueueCallerJoin"), ("Queue", "q"), ("Uniqueid", "c1"), ("Timestamp", "100"))
        ),
        AmiMessage(
            (
                ("Event", "QueueCallerAbandon"),
                ("Queue", "q"),
                ("Uniqueid", "c1"),
                ("HoldTime", "12"),
                ("Timestamp", "112"),
            )
        ),
    ]
    events, translator = run_stream(stream)
    abandoned = events[-1]
    assert isinstance(abandoned, CallAbandoned)
    assert abandoned.wait_ms == 12_000
    assert translator.stats.notes["bad_duration"] == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=50))
def test_random_bytes_and_truncated_captures_never_raise(noise: bytes, chunk: int) -> None:
    data = QUEUE_STATUS.read_bytes()[: len(noise) * 3] + noise
    parser = AmiParser()
    translator = AmiTranslator(tenant="t1", fallback_ts_ms=0)
    for start in range(0, len(data), chunk):
        for message in parser.feed(data[start : start + chunk]):
            translator.translate(message, offset(message.offset))
    for message in parser.close():
        translator.translate(message, offset(message.offset))
    translator.finish()


# --- the TCP client against a fake AMI server replaying the transcripts ---------------------------


class FakeAmi:
    """A recorded peer: greets, checks the login, answers QueueStatus with the panoramisk reply
    (its ActionID replaced by the client's), replays a transcript, then hangs up."""

    def __init__(self, transcripts: list[Path], secret: str = "s3cret") -> None:
        self.transcripts = transcripts
        self.secret = secret
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def read_action(self, reader: asyncio.StreamReader) -> AmiMessage:
        parser = AmiParser()
        while True:
            data = await reader.read(4096)
            if not data:
                raise ConnectionError("client went away")
            messages = parser.feed(data)
            if messages:
                return messages[0]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        try:
            writer.write(b"Asterisk Call Manager/2.10.3\r\n")
            login = await self.read_action(reader)
            ok = login.get("Secret") == self.secret
            reply = AmiMessage(
                (
                    ("Response", "Success" if ok else "Error"),
                    ("ActionID", login.action_id or ""),
                    ("Message", "Authentication accepted" if ok else "Authentication failed"),
                )
            )
            writer.write(reply.to_bytes())
            if not ok:
                await writer.drain()
                return
            status = await self.read_action(reader)
            answer, _ = parse_ami(QUEUE_STATUS.read_bytes())
            for message in answer:
                headers = tuple(
                    (k, status.action_id or "" if k == "ActionID" else v)
                    for k, v in message.headers
                )
                writer.write(AmiMessage(headers).to_bytes())
            transcript = self.transcripts[min(index, len(self.transcripts) - 1)]
            messages, _ = parse_ami(transcript.read_bytes())
            for message in messages:
                if message.kind != "action":  # the client's own actions are not replayed
                    writer.write(message.to_bytes())
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def test_client_logs_in_reads_status_replays_and_reconnects() -> None:
    fake = FakeAmi([NOT_IN_PAUSE, LOGGED_IN])
    port = await fake.start()
    client = AmiClient(
        AmiConnection(
            host="127.0.0.1",
            port=port,
            username="wallboard",
            secret="s3cret",
            backoff_initial=0.01,
            backoff_max=0.05,
        ),
        clock=SystemClock(),
    )
    translator = AmiTranslator(tenant="t1", clock=SystemClock())
    events: list[Event] = []
    status_groups = 0
    try:

        async def run() -> None:
            nonlocal status_groups
            async for message in client.messages():
                events.extend(translator.translate(message, offset(message.offset)))
                if message.name == "QueueStatusComplete":
                    status_groups += 1
                if client.connects == 2 and translator.book.members.get(
                    ("general_queue", "Agent/402")
                ):
                    client.stop()

        await asyncio.wait_for(run(), 5)
    finally:
        client.stop()
        await fake.close()
    assert fake.connections == 2
    assert client.connects == 2
    assert client.failures >= 1
    assert status_groups == 2
    # Grouped by the client's own ActionID, not the recorded one.
    assert any(
        g.action_id.startswith("wallboard-") and g.messages == 9
        for g in translator.completed_actions
    )
    assert ("general_queue", "Agent/402") in translator.book.members
    assert not translator.book.members[("maisonvoyance-tous", "Agent/999")].paused
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_client_keeps_retrying_a_refused_login() -> None:
    fake = FakeAmi([QUEUE_ADD], secret="right")
    port = await fake.start()
    client = AmiClient(
        AmiConnection(
            host="127.0.0.1", port=port, secret="wrong", backoff_initial=0.01, backoff_max=0.02
        ),
        clock=SystemClock(),
    )

    async def run() -> None:
        async for _ in client.messages():
            pass

    task = asyncio.create_task(run())
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            if client.failures >= 3:
                break
    finally:
        client.stop()
        await asyncio.wait_for(task, 2)
        await fake.close()
    assert client.failures >= 3
    assert client.connects == 0
    assert client.last_error is not None
    assert "refused" in client.last_error


def test_leaving_the_last_queue_logs_out_of_voice_only() -> None:
    # Asterisk knows calls only: its logout must leave the agent's chats on another platform.
    member = (("Queue", "sales"), ("MemberName", "Agent/7"), ("Interface", "PJSIP/7"))
    added = (("Paused", "0"), ("Status", "1"), ("Timestamp", "1700000000.000000"))
    messages = [
        AmiMessage((("Event", "QueueMemberAdded"), *member, *added)),
        AmiMessage((("Event", "QueueMemberRemoved"), *member, ("Timestamp", "1700000060.0"))),
    ]
    events, translator = run_stream(messages)
    assert translator.bad.total == 0
    logout = events[-1]
    assert isinstance(logout, AgentLogout)
    assert (logout.agent, logout.media) == ("Agent/7", (Media.VOICE,))
