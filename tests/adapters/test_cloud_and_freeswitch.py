"""Amazon Connect (AWS's published sample), Twilio TaskRouter callbacks over HTTP, FreeSWITCH
mod_callcenter events over a fake event socket, and the ``wallboard import`` commands."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wallboard.adapters.amazon_connect import AmazonConnectTranslator
from wallboard.adapters.base import line
from wallboard.adapters.cli import app as import_app
from wallboard.adapters.freeswitch import (
    EslClient,
    EslConnection,
    FreeswitchTranslator,
    translate_dump,
)
from wallboard.adapters.twilio import TwilioTranslator, taskrouter_router, twilio_signature
from wallboard.core.clock import SystemClock
from wallboard.core.codec import decode_event
from wallboard.core.events import (
    AgentCapacity,
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
    InteractionAccepted,
    InteractionDone,
    InteractionOutcome,
    InteractionQueued,
    Media,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "adapters"
HEART_BEAT = FIXTURES / "amazon-connect-admin-guide__sample-agent-event-stream__HEART_BEAT.json"


# --- Amazon Connect --------------------------------------------------------------------------------


def repair_published_sample(text: str) -> str:
    """The three steps shared/data's README documents, applied in code (the file stays as is)."""
    lines = text.split("\n")
    assert lines[15].strip() == "} ,"
    lines[15] = ","  # 1. line 16 closed CurrentAgentSnapshot too early
    stripped = []
    for entry in lines:  # 2. strip // comments (none of the sample's strings contains //)
        in_string, cut = False, len(entry)
        for i, ch in enumerate(entry):
            if ch == '"' and (i == 0 or entry[i - 1] != "\\"):
                in_string = not in_string
            elif not in_string and entry.startswith("//", i):
                cut = i
                break
        stripped.append(entry[:cut])
    return re.sub(r",(\s*[}\]])", r"\1", "\n".join(stripped))  # 3. drop trailing commas


def test_the_published_sample_is_rejected_cleanly() -> None:
    translator = AmazonConnectTranslator(tenant="t1")
    assert translator.translate_text(HEART_BEAT.read_text(), HEART_BEAT.name) == []
    assert translator.bad.by_reason["bad_json"] >= 1


def test_the_repaired_sample_maps_status_and_slots() -> None:
    record = json.loads(repair_published_sample(HEART_BEAT.read_text()))
    translator = AmazonConnectTranslator(tenant="t1")
    events = translator.translate(record, line(1))
    assert translator.bad.total == 0
    assert [type(e) for e in events] == [
        AgentLogin,
        AgentCapacity,
        AgentCapacity,
        AgentReady,
        AgentReady,
    ]
    login = events[0]
    assert isinstance(login, AgentLogin)
    assert login.agent == "agent-ARN"
    assert set(login.media) == {Media.CHAT, Media.VOICE}
    assert login.queues == ("queue-ARN",)  # the agent's own queue is left out
    slots = {e.media: e.capacity for e in events if isinstance(e, AgentCapacity)}
    assert slots == {Media.CHAT: 3, Media.VOICE: 1}
    assert all(e.ts == 1_565_729_924_031 for e in events)  # 2019-08-13T20:58:44.031Z
    # The same heartbeat again says nothing new; going Lunch is a not-ready with its reason.
    assert translator.translate(record, line(2)) == []
    record["CurrentAgentSnapshot"]["AgentStatus"]["Name"] = "Lunch"
    record["EventId"] = "EventId-2"
    changed = translator.translate(record, line(3))
    assert {type(e) for e in changed} == {AgentNotReady}
    assert all(isinstance(e, AgentNotReady) and e.reason == "Lunch" for e in changed)
    # Connect routes every channel: going Offline ends the session on all of them.
    record["CurrentAgentSnapshot"]["AgentStatus"]["Name"] = "Offline"
    record["EventId"] = "EventId-3"
    [logout] = translator.translate(record, line(4))
    assert isinstance(logout, AgentLogout)
    assert logout.media == ()


def contact_event(
    event_type: str, contact: str, channel: str = "VOICE", **extra: object
) -> dict[str, object]:
    detail: dict[str, object] = {
        "eventType": event_type,
        "contactId": contact,
        "channel": channel,
        **extra,
    }
    return {
        "version": "0",
        "id": f"{contact}-{event_type}",
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "time": "2021-08-04T17:43:48Z",
        "detail": detail,
    }


def test_contact_events_map_voice_to_calls_and_chat_to_interactions() -> None:
    queue = {
        "queueArn": "arn:aws:connect:us-west-2:1:instance/i/queue/q1",
        "enqueueTimestamp": "2021-08-04T17:29:04.000Z",
    }
    agent = {
        "AgentArn": "arn:aws:connect:us-west-2:1:instance/i/agent/a1",
        "connectedToAgentTimestamp": "2021-08-04T17:29:09.000Z",
    }
    records = [
        contact_event("INITIATED", "c1", initiationTimestamp="2021-08-04T17:29:00.000Z"),
        contact_event("QUEUED", "c1", queueInfo=queue),
        contact_event("CONNECTED_TO_AGENT", "c1", queueInfo=queue, AgentInfo=agent),
        contact_event(
            "DISCONNECTED",
            "c1",
            queueInfo=queue,
            AgentInfo=agent,
            disconnectTimestamp="2021-08-04T17:30:00.000Z",
        ),
        contact_event("QUEUED", "c2", queueInfo=queue),
        contact_event(
            "DISCONNECTED", "c2", queueInfo=queue, disconnectTimestamp="2021-08-04T17:31:00.000Z"
        ),
        contact_event("QUEUED", "chat1", channel="CHAT", queueInfo=queue),
        contact_event(
            "CONNECTED_TO_AGENT", "chat1", channel="CHAT", queueInfo=queue, agentInfo=agent
        ),
        contact_event(
            "DISCONNECTED", "chat1", channel="CHAT", disconnectTimestamp="2021-08-04T17:32:00.000Z"
        ),
        contact_event("CONTACT_DATA_UPDATED", "c1"),
        contact_event("SOMETHING_NEW", "c1"),
    ]
    translator = AmazonConnectTranslator(tenant="t1")
    text = "\n".join(json.dumps(r) for r in records)
    events = translator.translate_text(text)
    assert [type(e) for e in events] == [
        CallQueued,
        CallEstablished,
        CallReleased,
        CallQueued,
        CallAbandoned,
        InteractionQueued,
        InteractionAccepted,
        InteractionDone,
    ]
    established = events[1]
    assert isinstance(established, CallEstablished)
    assert established.agent == "a1"
    assert established.queue == "q1"
    assert established.ts - events[0].ts == 5000
    done = events[-1]
    assert isinstance(done, InteractionDone)
    assert done.outcome is InteractionOutcome.COMPLETED
    assert translator.bad.by_reason == {"unknown_event_type": 1}
    assert translator.stats.ignored["CONTACT_DATA_UPDATED"] == 1


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=5981))
def test_truncated_sample_never_raises(cut: int) -> None:
    text = repair_published_sample(HEART_BEAT.read_text())
    AmazonConnectTranslator(tenant="t1").translate_text(text[:cut] + "\n" + text)


# --- Twilio ----------------------------------------------------------------------------------------


def callback(event_type: str, ts: int, **fields: str) -> dict[str, str]:
    return {
        "EventType": event_type,
        "Sid": f"EV{ts}{event_type}",
        "Timestamp": str(ts),
        "AccountSid": "AC1",
        "WorkspaceSid": "WS1",
        **fields,
    }


async def test_taskrouter_callbacks_over_http_with_signature() -> None:
    received: list[Event] = []

    async def sink(event: Event) -> None:
        received.append(event)

    translator = TwilioTranslator(tenant="t1")
    url = "https://wallboard.example/twilio/taskrouter/events"
    app = FastAPI()
    app.include_router(taskrouter_router(translator, sink, auth_token="tok", public_url=url))
    voice = {
        "TaskSid": "WT1",
        "TaskChannelUniqueName": "voice",
        "TaskQueueSid": "WQ1",
        "TaskQueueName": "Support",
    }
    chat = {"TaskSid": "WT2", "TaskChannelUniqueName": "chat", "TaskQueueName": "Chat"}
    worker = {"WorkerSid": "WK1", "WorkerName": "alice"}
    posts = [
        callback("worker.activity.update", 100, WorkerActivityName="Available", **worker),
        callback("task.created", 101, **voice),
        callback("task-queue.entered", 101, **voice),
        callback("reservation.created", 102, **voice, **worker),
        callback("reservation.accepted", 105, **voice, **worker),
        callback("task.wrapup", 160, **voice, **worker),
        callback("task-queue.entered", 170, **chat),
        callback("task.canceled", 180, TaskCanceledReason="hangup", **chat),
        callback("worker.activity.update", 200, WorkerActivityName="Break", **worker),
        callback("worker.activity.update", 300, WorkerActivityName="Offline", **worker),
        callback("something.new", 301),
    ]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://wallboard.example"
    ) as client:
        for form in posts:
            response = await client.post(
                "/twilio/taskrouter/events",
                content=urlencode(form),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": twilio_signature("tok", url, form),
                },
            )
            assert response.status_code == 204
        forged = await client.post(
            "/twilio/taskrouter/events",
            content=urlencode(posts[0]),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "bad",
            },
        )
        assert forged.status_code == 403
        garbage = await client.post(
            "/twilio/taskrouter/events", content=b"%%%=&&", headers={"X-Twilio-Signature": "x"}
        )
        assert garbage.status_code == 400
    assert [type(e).__name__ for e in received] == [
        "AgentLogin",
        "AgentReady",
        "CallQueued",
        "CallRinging",
        "CallEstablished",
        "CallReleased",
        "AgentAfterCallWork",
        "InteractionQueued",
        "InteractionDone",
        "AgentNotReady",
        "AgentLogout",
    ]
    logout = received[-1]
    assert isinstance(logout, AgentLogout)
    assert logout.media == ()  # a worker offline ends its work on every channel
    done = received[8]
    assert isinstance(done, InteractionDone)
    assert done.outcome is InteractionOutcome.ABANDONED
    assert received[4].ts - received[2].ts == 4000
    assert translator.bad.by_reason == {"unknown_event_type": 1, "bad_form": 1}
    assert translator.stats.notes["bad_signature"] == 1


# --- FreeSWITCH --------------------------------------------------------------------------------------

CORE = "2130a7d1-c1f7-44cd-8fae-8ed5946f3cec"


def cc_event(seq: int, ts_s: int, **headers: str) -> dict[str, str]:
    """A callcenter::info event with mod_callcenter.c's header names."""
    return {
        "Event-Name": "CUSTOM",
        "Core-UUID": CORE,
        "Event-Sequence": str(seq),
        "Event-Date-Timestamp": str((1_700_000_000 + ts_s) * 1_000_000),
        "Event-Subclass": "callcenter::info",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }


SESSION = "0415f741-796a-4dd1-9f59-a5bb118980b2"
FS_EVENTS = [
    cc_event(
        1,
        1000,
        CC_Action="agent-status-change",
        CC_Agent="1000@default",
        CC_Agent_Status="Available",
    ),
    cc_event(
        2,
        1001,
        CC_Action="member-queue-start",
        CC_Queue="support@default",
        CC_Member_UUID="m1",
        CC_Member_Session_UUID=SESSION,
        CC_Member_CID_Name="Caller Name",
        CC_Member_CID_Number="555",
    ),
    cc_event(
        3,
        1002,
        CC_Action="agent-offering",
        CC_Queue="support@default",
        CC_Agent="1000@default",
        CC_Member_UUID="m1",
        CC_Member_Session_UUID=SESSION,
    ),
    cc_event(
        4, 1003, CC_Action="agent-state-change", CC_Agent="1000@default", CC_Agent_State="Receiving"
    ),
    cc_event(
        5,
        1005,
        CC_Action="bridge-agent-start",
        CC_Queue="support@default",
        CC_Agent="1000@default",
        CC_Member_UUID="m1",
        CC_Member_Session_UUID=SESSION,
        CC_Member_Joined_Time="1700001001",
        CC_Agent_Called_Time="1700001002",
        CC_Agent_Answered_Time="1700001005",
    ),
    cc_event(
        6,
        1065,
        CC_Action="bridge-agent-end",
        CC_Queue="support@default",
        CC_Agent="1000@default",
        CC_Member_UUID="m1",
        CC_Member_Session_UUID=SESSION,
        CC_Hangup_Cause="NORMAL_CLEARING",
        CC_Agent_Answered_Time="1700001005",
        CC_Bridge_Terminated_Time="1700001065",
    ),
    cc_event(
        7,
        1065,
        CC_Action="member-queue-end",
        CC_Queue="support@default",
        CC_Cause="Terminated",
        CC_Member_UUID="m1",
        CC_Member_Session_UUID=SESSION,
    ),
    cc_event(
        8,
        1070,
        CC_Action="member-queue-start",
        CC_Queue="support@default",
        CC_Member_Session_UUID="s2",
    ),
    cc_event(
        9,
        1080,
        CC_Action="member-queue-end",
        CC_Queue="support@default",
        CC_Cause="Cancel",
        CC_Cancel_Reason="BREAK_OUT",
        CC_Member_Session_UUID="s2",
    ),
    cc_event(
        10,
        1090,
        CC_Action="member-queue-start",
        CC_Queue="support@default",
        CC_Member_Session_UUID="s3",
    ),
    cc_event(
        11,
        1150,
        CC_Action="member-queue-end",
        CC_Queue="support@default",
        CC_Cause="Cancel",
        CC_Cancel_Reason="TIMEOUT",
        CC_Member_Session_UUID="s3",
        CC_Member_Joined_Time="1700001090",
        CC_Member_Leaving_Time="1700001150",
    ),
    cc_event(
        12,
        1200,
        CC_Action="agent-status-change",
        CC_Agent="1000@default",
        CC_Agent_Status="On Break",
    ),
    cc_event(
        13,
        1300,
        CC_Action="agent-status-change",
        CC_Agent="1000@default",
        CC_Agent_Status="Logged Out",
    ),
    {
        "Event-Name": "HEARTBEAT",
        "Core-UUID": CORE,
        "Event-Sequence": "14",
        "Event-Date-Timestamp": "1700001301000000",
    },
    cc_event(15, 1302, CC_Action="member-queue-start"),
]
FS_EXPECTED = [
    AgentLogin,
    AgentReady,
    CallQueued,
    CallRinging,
    CallEstablished,
    CallReleased,
    CallQueued,
    CallAbandoned,
    CallQueued,
    CallDiverted,
    AgentNotReady,
    AgentLogout,
]


def plain(headers: dict[str, str]) -> bytes:
    from urllib.parse import quote

    return "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers.items()).encode() + b"\n"


def framed(headers: dict[str, str]) -> bytes:
    body = plain(headers)
    return f"Content-Length: {len(body)}\nContent-Type: text/event-plain\n\n".encode() + body


def test_freeswitch_dump_maps_callcenter_events() -> None:
    translator = FreeswitchTranslator(tenant="t1")
    events = list(translate_dump(b"".join(plain(h) for h in FS_EVENTS), translator))
    assert [type(e) for e in events] == FS_EXPECTED
    logout = events[-1]
    assert isinstance(logout, AgentLogout)
    assert logout.media == (Media.VOICE,)  # FreeSWITCH's logout ends the voice login only
    assert translator.bad.by_reason == {"missing_field": 1}
    assert events[2].ts == 1_700_001_001_000
    assert getattr(events[2], "call", None) == SESSION
    assert isinstance(events[9], CallDiverted)
    assert events[9].target == "timeout"
    assert events[9].cause is DiversionCause.TIMEOUT
    # mod_callcenter's epoch-second times give the durations it measured.
    assert events[9].wait_ms == 60_000
    established = next(e for e in events if isinstance(e, CallEstablished))
    assert (established.wait_ms, established.ring_ms) == (4_000, 3_000)
    released = next(e for e in events if isinstance(e, CallReleased))
    assert released.talk_ms == 60_000
    assert translator.agent_state["1000@default"] == "Receiving"


async def test_esl_client_authenticates_subscribes_and_reconnects() -> None:
    connections = 0
    commands: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"Content-Type: auth/request\n\n")
        for _ in range(2):
            command = (await reader.readuntil(b"\n\n")).decode().strip()
            commands.append(command)
            writer.write(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
        half = len(FS_EVENTS) // 2
        batch = FS_EVENTS[:half] if connections == 1 else FS_EVENTS[half:]
        for headers in batch:
            writer.write(framed(headers))
        if connections == 1:
            writer.write(b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = EslClient(
        EslConnection(host="127.0.0.1", port=port, password="ClueCon", backoff_initial=0.01),
        clock=SystemClock(),
    )
    translator = FreeswitchTranslator(tenant="t1")
    events: list[Event] = []
    try:

        async def run() -> None:
            async for headers, position in client.events():
                events.extend(translator.translate(headers, line(position)))
                if len(events) == len(FS_EXPECTED):
                    client.stop()

        await asyncio.wait_for(run(), 5)
    finally:
        client.stop()
        server.close()
        await server.wait_closed()
    assert [type(e) for e in events] == FS_EXPECTED
    logout = events[-1]
    assert isinstance(logout, AgentLogout)
    assert logout.media == (Media.VOICE,)  # FreeSWITCH's logout ends the voice login only
    assert commands[:2] == ["auth ClueCon", "event plain CUSTOM callcenter::info"]
    assert connections == 2


# --- wallboard import ------------------------------------------------------------------------------


def test_import_commands_write_events_and_a_summary(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = {
        "asterisk-queue-log": FIXTURES / "queue_log_scenarios.log",
        "asterisk-ami": FIXTURES / "panoramisk__tests__fixtures__queue_status.yaml",
        "amazon-connect": HEART_BEAT,
    }
    fs = tmp_path / "fs.txt"
    fs.write_bytes(b"".join(framed(h) for h in FS_EVENTS))
    cases["freeswitch"] = fs
    tw = tmp_path / "tw.txt"
    tw.write_text(
        urlencode(
            callback("worker.activity.update", 100, WorkerSid="WK1", WorkerActivityName="Available")
        )
        + "\n%%%=&&\n"
    )
    cases["twilio"] = tw
    counts = {}
    for command, path in cases.items():
        out = tmp_path / f"{command}.jsonl"
        result = runner.invoke(
            import_app, [command, str(path), "--tenant", "t1", "--out", str(out)]
        )
        # The published sample is not valid JSON: nothing usable, so the import fails.
        assert result.exit_code == (2 if command == "amazon-connect" else 0), result.output
        summary = json.loads(result.stderr.strip().splitlines()[-2 if result.exit_code else -1])
        events = [decode_event(raw) for raw in out.read_bytes().splitlines()]
        assert summary["events"] == len(events)
        counts[command] = (len(events), summary["bad"])
    assert counts["asterisk-queue-log"] == (43, {})
    assert counts["asterisk-ami"] == (12, {})
    assert counts["amazon-connect"] == (0, {"bad_json": 1})  # the sample as published
    assert counts["freeswitch"][0] == len(FS_EXPECTED)
    assert counts["twilio"] == (2, {"bad_form": 1})
    strict = runner.invoke(
        import_app,
        ["twilio", str(tw), "--tenant", "t1", "--out", str(tmp_path / "x.jsonl"), "--strict"],
    )
    assert strict.exit_code == 1
