"""The fanout as a process between a real source process and real NATS JetStream: killed and
restarted (itself, its source, NATS), it leaves the log holding every event once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import time

import msgspec
import pytest
from fanout_helpers import (
    WAIT,
    NatsServer,
    Site,
    listening,
    logged_events,
    wait_logged,
)

from wallboard.core.codec import encode
from wallboard.core.events import AgentReady, AnyEvent, CallQueued
from wallboard.core.ids import AgentId, CallId, EventId, QueueId, SourceId, TenantId
from wallboard.core.protocol import Heartbeat, Hello, Subscribe, Welcome
from wallboard.settings import Settings
from wallboard.wire.client import WireClient

pytestmark = pytest.mark.timeout(300)


def agent_ready(seq: int, *, source: str = "voice") -> AgentReady:
    return AgentReady(
        tenant=TenantId("t1"),
        source=SourceId(source),
        seq=seq,
        id=EventId(f"e-{seq}"),
        ts=1_700_000_000_000 + seq,
        agent=AgentId("a1"),
    )


def call_queued(seq: int, *, payload: int) -> CallQueued:
    return CallQueued(
        tenant=TenantId("t1"),
        source=SourceId("voice"),
        seq=seq,
        id=EventId(f"e-{seq}"),
        ts=1_700_000_000_000 + seq,
        call=CallId(f"c{seq}"),
        queue=QueueId("q1"),
        data={f"k{i}": "x" * 4000 for i in range(payload // 4000)},
    )


def expected(count: int) -> list[tuple[int, str]]:
    return [(n, f"e-{n}") for n in range(1, count + 1)]


async def collect(
    client: WireClient, into: list[AnyEvent], count: int, done: asyncio.Event
) -> None:
    async for event in client:
        into.append(event)
        if len(into) >= count:
            done.set()


@pytest.mark.timeout(300)
async def test_killing_the_fanout_and_its_source_leaves_no_gap_and_no_duplicate(
    site: Site,
) -> None:
    count = 4000
    source = site.start_source(rate=400, count=count)  # ten seconds of events
    fanout = site.start_fanout()
    await site.wait_listening(site.fanout_port, fanout, "fanout")
    log = await site.log()
    # A downstream client of the fanout, resuming across its restart.
    seen: list[AnyEvent] = []
    client = WireClient(
        "127.0.0.1", site.fanout_port, resume_from=0, backoff_max=0.2, settings=Settings()
    )
    try:
        async with client:
            all_seen = asyncio.Event()
            reader = asyncio.create_task(collect(client, seen, count, all_seen))
            await wait_logged(log, 600, "before the fanout is killed")
            fanout.send_signal(signal.SIGKILL)
            fanout.wait(10)
            await asyncio.sleep(0.5)  # the source goes on meanwhile
            fanout = site.start_fanout()
            await wait_logged(log, 1800, "before the source is killed")
            source.send_signal(signal.SIGKILL)
            source.wait(10)
            await asyncio.sleep(1.0)
            source = site.start_source(rate=400, count=count)
            await wait_logged(log, 2600, "before the fanout is killed again")
            fanout.send_signal(signal.SIGKILL)
            fanout.wait(10)
            fanout = site.start_fanout()
            await wait_logged(log, count, "at the end")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_seen.wait(), WAIT)
            reader.cancel()
        assert await logged_events(log) == expected(count)
        assert [(e.seq, e.id) for e in seen] == expected(count)
        assert site.metric("wallboard_fanout_upstream_connected") == 1
        # The last fanout resumed where the log ends: it stored, never resent.
        assert site.metric("wallboard_fanout_events_logged_total", result="duplicate") == 0
        assert site.ready()[0] == 200
        stderr = site.processes.stderr("fanout")
        assert stderr.count("resuming 127.0.0.1") == 3, stderr[-3000:]
        assert "Traceback" not in stderr
    finally:
        await log.close()


@pytest.mark.timeout(300)
async def test_nats_going_away_and_back_loses_nothing(own_site: Site, own_nats: NatsServer) -> None:
    site = own_site
    count = 4000
    site.start_source(rate=300, count=count)
    fanout = site.start_fanout()
    await site.wait_listening(site.fanout_port, fanout, "fanout")
    log = await site.log()
    try:
        await wait_logged(log, 500, "before NATS stops")
        await log.close()
        own_nats.stop()
        # Unready while the log is away, and alive.
        deadline = time.monotonic() + WAIT
        while site.ready()[0] != 503:
            assert time.monotonic() < deadline, site.ready()
            await asyncio.sleep(0.1)
        body = site.ready()[1]
        assert '"event_log":"failing"' in body, body
        assert '"upstream":"ok"' in body, body
        await asyncio.sleep(7.0)  # longer than a publish waits (5 s): batches fail, are retried
        own_nats.start()
        log = await site.log()
        await wait_logged(log, count, "after NATS came back")
        assert await logged_events(log) == expected(count)
        assert site.metric("wallboard_fanout_log_retries_total") > 0
        deadline = time.monotonic() + WAIT
        while site.ready()[0] != 200:
            assert time.monotonic() < deadline, site.ready()
            await asyncio.sleep(0.1)
        assert fanout.poll() is None
        assert "Traceback" not in site.processes.stderr("fanout")
    finally:
        await log.close()


async def test_a_fanout_started_before_nats_waits_for_it(
    own_site: Site, own_nats: NatsServer
) -> None:
    site = own_site
    own_nats.stop()
    site.start_source(rate=1000, count=500)
    fanout = site.start_fanout()
    # It says NATS is unreachable and keeps waiting, not serving (however slowly it started).
    for _ in range(600):
        if "unreachable" in site.processes.stderr("fanout"):
            break
        assert fanout.poll() is None, site.processes.stderr("fanout")[-3000:]
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(site.processes.stderr("fanout")[-3000:])
    await asyncio.sleep(0.5)
    assert fanout.poll() is None, site.processes.stderr("fanout")[-3000:]
    assert not await asyncio.to_thread(listening, site.fanout_port)
    own_nats.start()
    log = await site.log()
    try:
        await wait_logged(log, 500, "after NATS started")
        assert await logged_events(log) == expected(500)
        stderr = site.processes.stderr("fanout")
        assert "Traceback" not in stderr, stderr
    finally:
        await log.close()


async def test_a_slow_client_is_dropped_with_a_reason_while_a_fast_one_keeps_up(
    site: Site,
) -> None:
    count = 10000
    site.start_source(rate=2500, count=count, payload=1000)  # 10 MB: more than TCP buffers
    fanout = site.start_fanout(WALLBOARD_CLIENT_QUEUE="1000", WALLBOARD_FANOUT_BATCH="200")
    await site.wait_listening(site.fanout_port, fanout, "fanout")
    # The slow client subscribes and never reads, with a small receive buffer.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", site.fanout_port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(encode(Hello(client="slow")) + encode(Subscribe(resume_from=0)))
    await writer.drain()

    async def heartbeats() -> None:  # alive, only slow
        while True:
            await asyncio.sleep(0.5)
            writer.write(encode(Heartbeat(seq=0, ts=0)))

    beating = asyncio.create_task(heartbeats())

    async def read_once_dropped() -> list[bytes]:
        """Read nothing until the fanout drops us, then everything, its reason last."""
        metric = "wallboard_fanout_clients_dropped_total"
        # Another process's counter: nothing to wait on but the counter.
        while not await asyncio.to_thread(site.metric, metric, reason="slow_consumer"):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return (await reader.read()).splitlines()

    slow = asyncio.create_task(read_once_dropped())
    seen: list[AnyEvent] = []
    done = asyncio.Event()
    fast = WireClient("127.0.0.1", site.fanout_port, resume_from=0, settings=Settings())
    async with fast:
        task = asyncio.create_task(collect(fast, seen, count, done))
        await asyncio.wait_for(done.wait(), WAIT)
        task.cancel()
    assert [e.seq for e in seen] == list(range(1, count + 1))
    assert fast.connections == 1  # never dropped, never reconnected
    lines = await asyncio.wait_for(slow, WAIT)
    beating.cancel()
    writer.close()
    last = msgspec.json.decode(lines[-1])
    assert last["type"] == "error"
    assert last["code"] == "slow_consumer"
    assert last["fatal"] is True
    assert site.metric("wallboard_fanout_clients_dropped_total", reason="slow_consumer") == 1
    assert site.metric("wallboard_fanout_events_out_total") >= count


async def test_bad_and_resent_upstream_events_are_counted_and_skipped(
    site: Site,
) -> None:
    good = [agent_ready(n) for n in (1, 2, 5, 7)]
    huge = call_queued(6, payload=70_000)  # more than a log record may hold
    lines = [
        encode(good[0]),
        b"this is not json\n",
        encode(good[1]),
        b'{"type":"agent.ready","tenant":"t1","source":"voice","seq":3,"id":"x","ts":-5}\n',
        encode(agent_ready(4, source="other")),
        encode(good[2]),
        encode(huge),
        encode(good[3]),
        # A source that restarted and resends under new numbers: the log keeps the first copy.
        encode(msgspec.structs.replace(agent_ready(8), id=EventId("e-7"))),
    ]

    connections: list[asyncio.StreamWriter] = []

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.readline()  # hello
        writer.write(encode(Welcome(server="raw", source="voice", seq=7, oldest=1)))
        await reader.readline()  # subscribe
        writer.write(b"".join(lines))
        await writer.drain()
        await reader.read()  # until the fanout goes

    server = await asyncio.start_server(upstream, "127.0.0.1", site.source_port)
    fanout = site.start_fanout(WALLBOARD_WIRE_MAX_LINE="200000")
    log = await site.log()
    try:
        await site.wait_listening(site.fanout_port, fanout, "fanout")
        await wait_logged(log, 4, "good events")
        assert await logged_events(log) == [(e.seq, e.id) for e in good]
        deadline = time.monotonic() + WAIT
        while site.metric("wallboard_fanout_bad_events_total", reason="invalid_record") < 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        for reason in ("bad_json", "invalid_field", "wrong_source", "invalid_record"):
            assert site.metric("wallboard_fanout_bad_events_total", reason=reason) == 1, reason
        while site.metric("wallboard_fanout_events_logged_total", result="duplicate") < 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert site.metric("wallboard_fanout_events_logged_total", result="stored") == 4
        assert await logged_events(log) == [(e.seq, e.id) for e in good]
        stderr = site.processes.stderr("fanout")
        assert stderr.count("malformed line") == 2, stderr
        assert "'other'" in stderr
        assert "more than 65536" in stderr
        assert "Traceback" not in stderr
        assert fanout.poll() is None
    finally:
        fanout.kill()
        fanout.wait(10)
        for connection in connections:
            connection.close()
        server.close()
        await server.wait_closed()
        await log.close()


@pytest.mark.timeout(600)
async def test_sigterm_as_the_upstream_goes_away_ends_the_fanout_every_time(site: Site) -> None:
    """SIGTERM the fanout at the moment its upstream hangs up, again and again: it must exit 0
    promptly every time. The cancel once could land on the wire client's teardown of the
    lost connection, which swallowed it and reconnected forever: the process never exited."""
    hang_up = asyncio.Event()
    subscribed = asyncio.Event()

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()  # hello
        writer.write(encode(Welcome(server="raw", source="voice", seq=0, oldest=1)))
        await reader.readline()  # subscribe
        subscribed.set()
        await hang_up.wait()
        writer.transport.abort()

    server = await asyncio.start_server(upstream, "127.0.0.1", site.source_port)
    rounds = 16  # on the faulty code one round in ten or so hung
    try:
        for round_ in range(rounds):
            hang_up.clear()
            subscribed.clear()
            fanout = site.start_fanout()
            async with asyncio.timeout(WAIT):
                await subscribed.wait()
            await asyncio.sleep(0.2)
            # Both in the same instant, in either order, so that the fanout sees them in the
            # same turn of its event loop or the next.
            if round_ % 2:
                fanout.send_signal(signal.SIGTERM)
                hang_up.set()
                await asyncio.sleep(0)
            else:
                hang_up.set()
                await asyncio.sleep(0)
                fanout.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.to_thread(fanout.wait, 20)
            except subprocess.TimeoutExpired:
                fanout.kill()
                fanout.wait(10)
                raise AssertionError(
                    f"round {round_ + 1}: the fanout did not exit after SIGTERM"
                ) from None
            assert code == 0, site.processes.stderr("fanout")[-3000:]
        stderr = site.processes.stderr("fanout")
        assert stderr.count("stopping") == rounds, stderr[-3000:]
        assert "Traceback" not in stderr
    finally:
        hang_up.set()
        server.close()
        await server.wait_closed()
