"""Each adapter as a live source: a real peer (a growing queue_log file, a PostgreSQL table, fake
AMI and ESL servers, HTTP posts) on one side, a real WireClient on the other."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import gzip
import json
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from prometheus_client import CollectorRegistry
from test_cloud_and_freeswitch import FS_EVENTS, FS_EXPECTED, callback, contact_event, framed

from ami_peer import next_action
from wallboard.adapters.asterisk_ami import AmiConnection, AmiMessage, AmiParser
from wallboard.adapters.asterisk_queue_log import QueueLogTranslator
from wallboard.adapters.base import line
from wallboard.adapters.freeswitch import EslConnection
from wallboard.adapters.live import LiveSource
from wallboard.adapters.live_sources import (
    AmazonConnectSource,
    AmiSource,
    FreeswitchSource,
    QueueLogFileSource,
    QueueLogTableSource,
    TwilioSource,
)
from wallboard.adapters.twilio import twilio_signature
from wallboard.core.clock import SystemClock
from wallboard.core.errors import ConfigError
from wallboard.core.events import (
    AgentLogin,
    AgentReady,
    AnyEvent,
    CallDiverted,
    CallEstablished,
    CallQueued,
    CallReleased,
    Event,
)
from wallboard.settings import Settings
from wallboard.wire.client import WireClient

FIXTURES = Path(__file__).parent.parent / "fixtures" / "adapters"
SCENARIO_LINES = (FIXTURES / "queue_log_scenarios.log").read_text().splitlines(keepends=True)
TIMEOUT = 5.0
SETTINGS = Settings(heartbeat_seconds=10.0, resume_buffer=1000, client_queue=1000)


def offline(lines: list[str]) -> list[Event]:
    """What `wallboard import` makes of the lines: the reference the live source must match."""
    translator = QueueLogTranslator(tenant="t1")
    events: list[Event] = []
    for number, text in enumerate(lines, 1):
        events += translator.translate(text, line(number))
    return events


async def take(client: WireClient, count: int) -> list[AnyEvent]:
    events: list[AnyEvent] = []
    async with asyncio.timeout(TIMEOUT):
        while len(events) < count:
            events.append(await anext(client))
    return events


@contextlib.asynccontextmanager
async def subscribed(port: int, resume_from: int | None = None) -> AsyncIterator[WireClient]:
    client = WireClient(
        "127.0.0.1",
        port,
        resume_from=resume_from,
        settings=SETTINGS,
        registry=CollectorRegistry(),
        backoff_initial=0.01,
    )
    async with client:
        async with asyncio.timeout(TIMEOUT):
            await client.wait_subscribed()
        yield client


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110 - state exposed without an event to wait on
            await asyncio.sleep(0.005)


def gapless(events: list[AnyEvent], first: int) -> bool:
    return [e.seq for e in events] == list(range(first, first + len(events)))


# --- queue_log file --------------------------------------------------------------------------------


def file_source(path: Path, state: Path) -> QueueLogFileSource:
    return QueueLogFileSource(
        path,
        tenant="t1",
        settings=SETTINGS,
        clock=SystemClock(),
        registry=CollectorRegistry(),
        state_path=state,
        state_interval=0.02,
        poll_interval=0.01,
    )


async def test_queue_log_file_is_served_live(tmp_path: Path) -> None:
    log, state = tmp_path / "queue_log", tmp_path / "state.json"
    first, rest = SCENARIO_LINES[:20], SCENARIO_LINES[20:]
    log.write_text("".join(first))
    expected = offline(SCENARIO_LINES)
    already = len(offline(first))
    async with file_source(log, state) as source:
        # What the file held at start-up was published before the server listened.
        assert source.server.seq == already
        async with subscribed(source.port, resume_from=0) as client:
            head = await take(client, already)
            with log.open("a") as handle:
                for text in rest:
                    handle.write(text)
                    handle.flush()
            tail = await take(client, len(expected) - already)
    received = head + tail
    assert received == expected  # same types, seq, ids and times as the offline import
    assert gapless(received, 1)
    saved = json.loads(state.read_text())
    assert saved["seq"] == len(expected)
    assert saved["position"]["offset"] == log.stat().st_size


async def test_queue_log_restart_from_state_loses_and_repeats_nothing(tmp_path: Path) -> None:
    log, state = tmp_path / "queue_log", tmp_path / "state.json"
    crash_state = tmp_path / "crash-state.json"
    part_a, part_b, part_c = SCENARIO_LINES[:15], SCENARIO_LINES[15:30], SCENARIO_LINES[30:]
    expected = offline(SCENARIO_LINES)
    count_a, count_ab = len(offline(part_a)), len(offline(part_a + part_b))
    log.write_text("".join(part_a))

    seen: list[AnyEvent] = []
    async with file_source(log, state) as source:
        shutil.copy(state, crash_state)  # the state as saved right after part A
        async with subscribed(source.port, resume_from=0) as client:
            seen += await take(client, count_a)
            with log.open("a") as handle:
                handle.write("".join(part_b))
            seen += await take(client, count_ab - count_a)
    assert json.loads(crash_state.read_text())["seq"] == count_a

    # While the source is down the log is rotated (renamed, a new file created) and part C
    # is written to the new file. The source restarts from the older state, as after a
    # crash that lost the last saves: it must re-read part B from the rotated file.
    log.rename(tmp_path / "queue_log.1")
    log.write_text("".join(part_c))
    shutil.copy(crash_state, state)
    async with file_source(log, state) as source:
        assert source.follower.rotations == 1
        assert source.server.seq == len(expected)
        last = seen[-1].seq
        async with subscribed(source.port, resume_from=last) as client:
            seen += await take(client, len(expected) - count_ab)
            # Nothing more: no event of part B comes a second time.
            assert client.last_seq == len(expected)
    assert seen == expected
    assert gapless(seen, 1)


async def test_a_state_file_of_another_source_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "version": 1,
                "kind": "asterisk-queue-log-file",
                "tenant": "t2",
                "source": "asterisk",
                "seq": 3,
                "position": None,
                "translator": {},
            }
        )
    )
    with pytest.raises(ConfigError, match="tenant 't2'"):
        file_source(tmp_path / "queue_log", state)
    state.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        file_source(tmp_path / "queue_log", state)


# --- queue_log table -------------------------------------------------------------------------------

QUEUE_LOG_TABLE = """
CREATE TABLE {table} (
    id BIGSERIAL PRIMARY KEY, time TIMESTAMP, callid VARCHAR(80), queuename VARCHAR(256),
    agent VARCHAR(80), event VARCHAR(32), data1 VARCHAR(100), data2 VARCHAR(100),
    data3 VARCHAR(100), data4 VARCHAR(100), data5 VARCHAR(100)
)
"""


@pytest.mark.postgres
async def test_queue_log_table_is_served_and_resumes_from_state(
    postgres_url: str, tmp_path: Path
) -> None:
    table = f"queue_log_{uuid.uuid4().hex[:10]}"
    url = postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    state = tmp_path / "state.json"
    insert = (
        f"INSERT INTO {table} (time, callid, queuename, agent, event, data1, data2, data3)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    t0 = dt.datetime(2024, 3, 1, 12, 0, 0)
    rows = [
        (t0, "c1", "support", "NONE", "ENTERQUEUE", "", "555", "1"),
        (t0 + dt.timedelta(seconds=4), "c1", "support", "PJSIP/bob", "CONNECT", "4", "x", "2"),
        (
            t0 + dt.timedelta(seconds=64),
            "c1",
            "support",
            "PJSIP/bob",
            "COMPLETEAGENT",
            "4",
            "60",
            "1",
        ),
        (t0 + dt.timedelta(seconds=70), "c2", "support", "NONE", "ENTERQUEUE", "", "556", "1"),
        (t0 + dt.timedelta(seconds=75), "c2", "support", "NONE", "ABANDON", "1", "1", "5"),
    ]

    def make() -> QueueLogTableSource:
        return QueueLogTableSource(
            url,
            table=table,
            tenant="t1",
            settings=SETTINGS,
            clock=SystemClock(),
            registry=CollectorRegistry(),
            state_path=state,
            state_interval=0.02,
            poll_interval=0.02,
        )

    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(QUEUE_LOG_TABLE.format(table=table))
        await connection.execute(insert, *rows[0])
        received: list[AnyEvent] = []
        async with make() as source:
            assert source.server.seq == 1
            async with subscribed(source.port, resume_from=0) as client:
                received += await take(client, 1)
                await connection.execute(insert, *rows[1])
                await connection.execute(insert, *rows[2])
                received += await take(client, 2)
        assert json.loads(state.read_text())["position"] == {"table": table, "last_id": 3}
        # Rows written while the source is down are read after the restart, numbered on.
        await connection.execute(insert, *rows[3])
        async with make() as source:
            assert source.server.seq == 4
            async with subscribed(source.port, resume_from=3) as client:
                received += await take(client, 1)
                await connection.execute(insert, *rows[4])
                received += await take(client, 1)
        assert [type(e).__name__ for e in received] == [
            "CallQueued",
            "CallEstablished",
            "CallReleased",
            "CallQueued",
            "CallAbandoned",
        ]
        assert gapless(received, 1)
        assert received[0].ts == 1_709_294_400_000
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()


# --- AMI ----------------------------------------------------------------------------------------------


class FakeAmiPeer:
    """An Asterisk manager: greets, accepts the login, answers QueueStatus with one member,
    then sends a caller joining and leaving the queue and stays quiet until hung up."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.handlers: set[asyncio.Task[None]] = set()
        self.actions: list[str] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*self.handlers, return_exceptions=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        parser = AmiParser()

        async def action() -> AmiMessage:
            return await next_action(reader, parser, self.actions)

        def send(*headers: tuple[str, str]) -> None:
            writer.write(AmiMessage(headers).to_bytes())

        try:
            writer.write(b"Asterisk Call Manager/5.0.1\r\n")
            login = await action()
            send(
                ("Response", "Success"),
                ("ActionID", login.action_id or ""),
                ("Message", "Authentication accepted"),
            )
            status = await action()
            aid = status.action_id or ""
            send(
                ("Response", "Success"),
                ("ActionID", aid),
                ("EventList", "start"),
                ("Message", "Queue status will follow"),
            )
            send(
                ("Event", "QueueMember"),
                ("ActionID", aid),
                ("Queue", "support"),
                ("Name", "Agent/1001"),
                ("Location", "PJSIP/1001"),
                ("Status", "1"),
                ("Paused", "0"),
            )
            send(("Event", "QueueStatusComplete"), ("ActionID", aid), ("EventList", "Complete"))
            # Manager timestamps a second ahead of the source's clock (within the accepted skew),
            # so they are later than the member events the source dated on arrival.
            joined = round(time.time() + 1, 3)
            send(
                ("Event", "QueueCallerJoin"),
                ("Timestamp", f"{joined:.6f}"),
                ("Channel", "PJSIP/caller-1"),
                ("Uniqueid", "1700000000.1"),
                ("Queue", "support"),
                ("Position", "1"),
            )
            send(
                ("Event", "QueueCallerLeave"),
                ("Timestamp", f"{joined + 0.05:.6f}"),
                ("Channel", "PJSIP/caller-1"),
                ("Uniqueid", "1700000000.1"),
                ("Queue", "support"),
            )
            await writer.drain()
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.handlers.discard(task)


async def test_ami_source_serves_events_and_flushes_a_held_exit_while_ami_is_quiet() -> None:
    peer = FakeAmiPeer()
    ami_port = await peer.start()
    source = AmiSource(
        AmiConnection(host="127.0.0.1", port=ami_port, username="wb", secret="s3cret"),
        tenant="t1",
        settings=SETTINGS,
        clock=SystemClock(),
        registry=CollectorRegistry(),
        flush_interval=0.02,
        exit_grace_ms=100,
    )
    try:
        async with source, subscribed(source.port) as client:
            assert client.welcome is not None
            events = await take(client, 4)
            ready = await source.checks()["ami"]()
    finally:
        await peer.close()
    assert [type(e) for e in events] == [AgentLogin, AgentReady, CallQueued, CallDiverted]
    assert gapless(events, client.welcome.seq + 1)
    exit_event = events[3]
    assert isinstance(exit_event, CallDiverted)
    assert exit_event.target == "exit"
    # Only the flush timer can have sent it: AMI said nothing after the Leave (an arrival time
    # is not asserted, a loaded machine delays delivery). The exit keeps the time of the Leave.
    assert exit_event.ts - events[2].ts == 50
    assert ready
    assert peer.actions[:2] == ["Login", "QueueStatus"]


# --- FreeSWITCH ---------------------------------------------------------------------------------------


async def test_freeswitch_source_serves_callcenter_events() -> None:
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            writer.write(b"Content-Type: auth/request\n\n")
            for _ in range(2):
                await reader.readuntil(b"\n\n")
                writer.write(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
            for headers in FS_EVENTS:
                writer.write(framed(headers))
            await writer.drain()
            while await reader.read(4096):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            handlers.discard(task)

    esl = await asyncio.start_server(handle, "127.0.0.1", 0)
    source = FreeswitchSource(
        EslConnection(host="127.0.0.1", port=esl.sockets[0].getsockname()[1]),
        tenant="t1",
        settings=SETTINGS,
        clock=SystemClock(),
        registry=CollectorRegistry(),
    )
    # Subscribed from the source's first seq on: nothing is missed even if ESL is fast.
    before_start = source.server.seq
    try:
        async with source, subscribed(source.port, resume_from=before_start) as client:
            events = await take(client, len(FS_EXPECTED))
    finally:
        esl.close()
        await esl.wait_closed()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*handlers, return_exceptions=True)
    assert [type(e) for e in events] == FS_EXPECTED
    assert gapless(events, before_start + 1)
    assert source.translator.bad.by_reason == {"missing_field": 1}


# --- HTTP sources ---------------------------------------------------------------------------------------


async def check_ops(source: LiveSource, platform: str) -> None:
    """The operations endpoints answer on the metrics port, and only there: the webhook port,
    which faces the internet, serves nothing but the webhook."""
    assert source.http is not None
    assert source.webhook is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{source.http.port}") as ops:
        assert (await ops.get("/healthz")).status_code == 200
        ready = await ops.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert "warnings" not in ready.json()
        metrics = (await ops.get("/metrics")).text
        assert f'wallboard_adapter_events_total{{platform="{platform}"}}' in metrics
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{source.webhook.port}") as hook:
        for path in ("/metrics", "/healthz", "/readyz", "/docs", "/openapi.json"):
            assert (await hook.get(path)).status_code == 404, path


async def test_twilio_source_serves_taskrouter_callbacks() -> None:
    source = TwilioSource(
        tenant="t1",
        settings=SETTINGS,
        clock=SystemClock(),
        registry=CollectorRegistry(),
        http_port=0,
        webhook_port=0,
        auth_token="token",
        public_url="https://wallboard.example/twilio/taskrouter/events",
    )
    async with source:
        assert source.webhook is not None
        base = f"http://127.0.0.1:{source.webhook.port}"
        async with subscribed(source.port) as client, httpx.AsyncClient(base_url=base) as http:
            forms = [
                callback(
                    "worker.activity.update",
                    100,
                    WorkerSid="WK1",
                    WorkerName="alice",
                    WorkerActivityName="Available",
                ),
                callback(
                    "task-queue.entered",
                    101,
                    TaskSid="WT1",
                    TaskChannelUniqueName="voice",
                    TaskQueueName="support",
                ),
                callback(
                    "reservation.accepted",
                    102,
                    TaskSid="WT1",
                    TaskChannelUniqueName="voice",
                    TaskQueueName="support",
                    WorkerSid="WK1",
                    WorkerName="alice",
                ),
            ]
            for form in forms:
                signature = twilio_signature("token", source.public_url or "", form)
                answer = await http.post(
                    "/twilio/taskrouter/events",
                    content=urlencode(form),
                    headers={
                        "X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                assert answer.status_code == 204, answer.text
            forged = await http.post(
                "/twilio/taskrouter/events",
                content=urlencode(forms[0]),
                headers={"X-Twilio-Signature": "forged"},
            )
            assert forged.status_code == 403
            events = await take(client, 4)
            await check_ops(source, "twilio")
    assert client.welcome is not None
    assert [type(e) for e in events] == [AgentLogin, AgentReady, CallQueued, CallEstablished]
    assert gapless(events, client.welcome.seq + 1)


def firehose_body(request_id: str, records: list[object], *, raw: list[str] = ()) -> bytes:  # type: ignore[assignment]
    data = [base64.b64encode(json.dumps(r).encode()).decode() for r in records] + list(raw)
    return json.dumps(
        {
            "requestId": request_id,
            "timestamp": 1_700_000_000_000,
            "records": [{"data": d} for d in data],
        }
    ).encode()


async def test_amazon_connect_source_receives_firehose_deliveries() -> None:
    queue = {
        "queueArn": "arn:aws:connect:eu-west-1:1:instance/i/queue/q-support",
        "enqueueTimestamp": "2021-08-04T17:43:48.000Z",
    }
    agent = {
        "agentArn": "arn:aws:connect:eu-west-1:1:instance/i/agent/a-1",
        "connectedToAgentTimestamp": "2021-08-04T17:44:00.000Z",
    }
    source = AmazonConnectSource(
        tenant="t1",
        settings=SETTINGS,
        clock=SystemClock(),
        registry=CollectorRegistry(),
        http_port=0,
        webhook_port=0,
        access_key="k3y",
    )
    headers = {
        "X-Amz-Firehose-Access-Key": "k3y",
        "Content-Type": "application/json",
        "X-Amz-Firehose-Protocol-Version": "1.0",
    }
    async with source:
        assert source.webhook is not None
        base = f"http://127.0.0.1:{source.webhook.port}"
        async with subscribed(source.port) as client, httpx.AsyncClient(base_url=base) as http:
            post: Callable[..., Awaitable[httpx.Response]] = http.post
            first = firehose_body(
                "req-1", [contact_event("QUEUED", "c1", queueInfo=queue)], raw=["%%%not base64"]
            )
            answer = await post("/amazon-connect/firehose", content=first, headers=headers)
            assert answer.status_code == 200
            body = answer.json()
            assert body["requestId"] == "req-1"
            assert isinstance(body["timestamp"], int)
            # A retry of a delivered request (its answer was lost) publishes nothing again.
            again = await post("/amazon-connect/firehose", content=first, headers=headers)
            assert again.status_code == 200
            assert again.json()["requestId"] == "req-1"
            second = gzip.compress(
                firehose_body(
                    "req-2",
                    [
                        contact_event("CONNECTED_TO_AGENT", "c1", queueInfo=queue, agentInfo=agent),
                        contact_event(
                            "DISCONNECTED",
                            "c1",
                            queueInfo=queue,
                            agentInfo=agent,
                            disconnectTimestamp="2021-08-04T17:45:00.000Z",
                        ),
                    ],
                )
            )
            zipped = await post(
                "/amazon-connect/firehose",
                content=second,
                headers={**headers, "Content-Encoding": "gzip"},
            )
            assert zipped.status_code == 200, zipped.text
            wrong_key = await post(
                "/amazon-connect/firehose",
                content=first,
                headers={**headers, "X-Amz-Firehose-Access-Key": "nope"},
            )
            assert wrong_key.status_code == 401
            assert "errorMessage" in wrong_key.json()
            not_json = await post("/amazon-connect/firehose", content=b"{", headers=headers)
            assert not_json.status_code == 400
            events = await take(client, 3)
            await check_ops(source, "amazon-connect")
    assert client.welcome is not None
    assert [type(e) for e in events] == [CallQueued, CallEstablished, CallReleased]
    assert gapless(events, client.welcome.seq + 1)
    assert source.translator.bad.by_reason == {"bad_encoding": 1}
    assert source.translator.stats.notes["firehose_repeated_request"] == 1


async def test_a_source_that_cannot_listen_says_where_and_leaves_nothing_open() -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        source: LiveSource = TwilioSource(
            tenant="t1",
            settings=SETTINGS,
            clock=SystemClock(),
            registry=CollectorRegistry(),
            webhook_port=port,
            auth_token="token",
        )
        with pytest.raises(Exception, match=f"127.0.0.1:{port}"):
            await source.start()
        assert not source.listening
    finally:
        blocker.close()
        await blocker.wait_closed()


async def test_the_webhook_holds_a_bounded_number_of_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = TwilioSource(
        tenant="t1",
        settings=SETTINGS,
        clock=SystemClock(),
        registry=CollectorRegistry(),
        webhook_port=0,
        webhook_max_connections=3,
        insecure_no_auth=True,
    )
    head = (
        b"POST /twilio/taskrouter/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    )
    async with source:
        assert source.webhook is not None
        port = source.webhook.port
        # Callers that send a head and never the whole body hold their connections...
        slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for _, writer in slow:
            writer.write(head + b"EventType=")
            await writer.drain()
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            # ... and beyond the limit the next caller is told to come back, not held too.
            refused = await http.post("/twilio/taskrouter/events", content=b"EventType=x")
            for _, writer in slow:
                writer.close()
                await writer.wait_closed()
            await asyncio.sleep(0.2)
            accepted = await http.post("/twilio/taskrouter/events", content=b"EventType=x")
    assert refused.status_code == 503
    assert accepted.status_code == 204
    # The callers that left half-way are no failure of ours: no error, no traceback.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
