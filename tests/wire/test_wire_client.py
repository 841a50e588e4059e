"""The wire client against real servers: resume across restarts, gaps, duplicates, errors."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from wire_helpers import SOURCE, TIMEOUT, RawPeer, agent_ready, call_queued, sample, wait_until

from conftest import ServerFactory, UpstreamFactory
from wallboard.core.codec import decode, encode
from wallboard.core.errors import ProtocolError, ResumeGap
from wallboard.core.events import AnyEvent, UnknownEvent
from wallboard.core.protocol import Error, Hello, Subscribe, Welcome
from wallboard.settings import Settings
from wallboard.wire.client import WireClient


def make_client(port: int, registry: CollectorRegistry, **options: object) -> WireClient:
    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    options.setdefault("settings", Settings(heartbeat_seconds=10.0))
    return WireClient("127.0.0.1", port, client="test-client", registry=registry, **options)  # type: ignore[arg-type]


async def take(client: WireClient, count: int) -> list[AnyEvent]:
    async with asyncio.timeout(TIMEOUT):
        return [await anext(client) for _ in range(count)]


async def test_client_receives_filtered_events_and_tracks_seq(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server()
    server.publish(agent_ready(1, tenant="t1"))
    async with make_client(server.port, registry, tenants=["t1"], resume_from=0) as client:
        server.publish(agent_ready(2, tenant="t2"))
        server.publish(agent_ready(3, tenant="t1"))
        assert await take(client, 2) == [agent_ready(1, tenant="t1"), agent_ready(3, tenant="t1")]
        assert client.last_seq == 3
        assert client.welcome is not None
        assert client.welcome.source == SOURCE
    assert sample(registry, "wallboard_wire_events_received_total") == 2


async def test_client_without_resume_point_loses_nothing_after_welcome(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server()
    server.publish(agent_ready(1))
    async with make_client(server.port, registry) as client:
        async with asyncio.timeout(TIMEOUT):
            await client.wait_subscribed()
        server.publish(agent_ready(2))
        assert await take(client, 1) == [agent_ready(2)]


async def test_reconnect_after_server_restart_loses_and_duplicates_nothing(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    first = await make_server()
    port = first.port
    log = [agent_ready(seq) for seq in range(1, 21)]
    for event in log[:5]:
        first.publish(event)
    async with make_client(port, registry, resume_from=0) as client:
        received = await take(client, 5)
        await first.close()
        # The source restarts, replays its log into a new server on the same port, and goes on
        # while the client is still away.
        second = await make_server(port=port)
        for event in log[:12]:
            second.publish(event)
        await wait_until(lambda: client.connections >= 2)
        for event in log[12:]:
            second.publish(event)
        received += await take(client, 15)
        assert received == log
        assert client.last_seq == 20
    assert sample(registry, "wallboard_wire_reconnects_total") >= 1
    assert sample(registry, "wallboard_wire_duplicate_events_total") == 0


async def test_resume_gap_is_raised_and_reset_goes_on(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server(settings=Settings(resume_buffer=3))
    for seq in range(1, 11):
        server.publish(agent_ready(seq))
    client = make_client(server.port, registry, resume_from=2)
    async with client:
        with pytest.raises(ResumeGap) as raised:
            await take(client, 1)
        assert raised.value.detail == {"resume_from": 2, "oldest": 8, "seq": 10}
        client.reset(None)  # the consumer refetched its state: live from now on
        async with asyncio.timeout(TIMEOUT):
            await client.wait_subscribed()
        server.publish(agent_ready(11))
        assert await take(client, 1) == [agent_ready(11)]
    assert sample(registry, "wallboard_wire_resume_gaps_total", side="client") == 1


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seq: int = 0
) -> Subscribe:
    hello = decode((await reader.readline())[:-1])
    assert isinstance(hello, Hello)
    writer.write(encode(Welcome(server="fake", source=SOURCE, seq=seq, oldest=1)))
    subscribe = decode((await reader.readline())[:-1])
    assert isinstance(subscribe, Subscribe)
    return subscribe


async def _until_eof(reader: asyncio.StreamReader) -> None:
    async with asyncio.timeout(TIMEOUT):
        while await reader.readline():
            pass


async def test_duplicates_dropped_gaps_reported_garbage_survived(
    scripted_upstream: UpstreamFactory, registry: CollectorRegistry
) -> None:
    async def source(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        subscribe = await _handshake(reader, writer)
        assert subscribe.resume_from == 0
        for line in [
            encode(agent_ready(1)),
            b"this is not json\n",
            encode(agent_ready(2)),
            encode(agent_ready(1)),  # duplicate
            encode(agent_ready(2)),  # duplicate
            b'{"type":"agent.ready","seq":"x"}\n',
            encode(agent_ready(5)),  # gap: 3 and 4 are missing
            encode(agent_ready(6)),
        ]:
            writer.write(line)
        await _until_eof(reader)

    port = await scripted_upstream(source)
    gaps: list[tuple[str, int, int]] = []
    async with make_client(port, registry, on_sequence_gap=lambda *gap: gaps.append(gap)) as client:
        assert [e.seq for e in await take(client, 4)] == [1, 2, 5, 6]
    assert gaps == [(SOURCE, 3, 5)]
    assert sample(registry, "wallboard_wire_duplicate_events_total") == 2
    assert sample(registry, "wallboard_wire_sequence_gaps_total") == 1
    assert (
        sample(
            registry, "wallboard_wire_malformed_messages_total", side="client", reason="bad_json"
        )
        == 1
    )
    assert (
        sample(
            registry,
            "wallboard_wire_malformed_messages_total",
            side="client",
            reason="invalid_field",
        )
        == 1
    )


async def test_fatal_protocol_error_is_raised_not_retried(
    scripted_upstream: UpstreamFactory, registry: CollectorRegistry
) -> None:
    connections = 0

    async def source(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readline()
        writer.write(
            encode(
                Error(
                    code="protocol_error",
                    message="go away",
                    detail={"field": "protocol"},
                    fatal=True,
                )
            )
        )

    port = await scripted_upstream(source)
    async with make_client(port, registry) as client:
        with pytest.raises(ProtocolError, match="go away"):
            await take(client, 1)
    assert connections == 1


async def test_other_fatal_errors_reconnect_and_resume(
    scripted_upstream: UpstreamFactory, registry: CollectorRegistry
) -> None:
    resumes: list[int | None] = []

    async def source(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        subscribe = await _handshake(reader, writer, seq=0)
        resumes.append(subscribe.resume_from)
        if len(resumes) == 1:
            writer.write(encode(agent_ready(1)) + encode(agent_ready(2)))
            writer.write(encode(Error(code="slow_consumer", message="too slow", fatal=True)))
            return
        writer.write(encode(agent_ready(2)) + encode(agent_ready(3)))
        await _until_eof(reader)

    port = await scripted_upstream(source)
    async with make_client(port, registry, resume_from=0) as client:
        assert [e.seq for e in await take(client, 3)] == [1, 2, 3]
    assert resumes == [0, 2]


async def test_unknown_event_types_pass_through_a_fanout_byte_identical(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    # A newer source emits a type this version does not know, in its own formatting.
    raw = b'{ "ts": 1700000000005, "type": "agent.mood", "tenant": "t1", "source": "voice", "seq": 2, "id": "m-2", "mood": {"level": 3} }'
    unknown = decode(raw)
    assert isinstance(unknown, UnknownEvent)
    upstream = await make_server()
    downstream = await make_server()
    upstream.publish(agent_ready(1))
    upstream.publish(unknown)
    upstream.publish(call_queued(3))

    async def fanout(client: WireClient) -> None:
        async for event in client:
            downstream.publish(event)

    peer = await RawPeer.connect(downstream.port)
    try:
        await peer.handshake(resume_from=0)
        async with make_client(upstream.port, registry, resume_from=0) as client:
            relay = asyncio.create_task(fanout(client))
            try:
                lines = [await peer.read_line() for _ in range(3)]
            finally:
                relay.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await relay
    finally:
        await peer.close()
    assert lines == [encode(agent_ready(1)), raw + b"\n", encode(call_queued(3))]
    assert sample(registry, "wallboard_wire_unknown_events_total", side="client") == 1
    assert sample(registry, "wallboard_wire_unknown_events_total", side="server") == 2


async def test_connect_refused_is_retried_with_bounded_backoff(registry: CollectorRegistry) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(port, registry, backoff_initial=0.001, backoff_max=0.004)
    delays = [client._backoff(attempt) for attempt in range(1, 40)]
    assert all(0.0005 <= d <= 0.004 for d in delays)
    assert len(set(delays)) > 1  # jittered
    async with client:
        await wait_until(lambda: sample(registry, "wallboard_wire_reconnects_total") >= 3)
        assert not client.subscribed


async def test_close_while_a_lost_connection_is_torn_down_ends_the_client(
    scripted_upstream: UpstreamFactory, registry: CollectorRegistry
) -> None:
    """close() (what SIGTERM leads to) at the exact moment the client tears down a connection
    its server just closed: the cancel reaches the teardown, which waits for its heartbeat
    task, and must still end the client — it once swallowed the cancel there and reconnected
    forever, so a process stopped at that moment never exited."""
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readline()  # hello; then the server goes away

    port = await scripted_upstream(hang_up)
    for _ in range(3):
        client = make_client(port, registry)
        client.start()
        # Step the loop until the teardown has cancelled the heartbeat task and waits for it.
        async with asyncio.timeout(TIMEOUT):
            while True:
                watch = [
                    t
                    for t in asyncio.all_tasks()
                    if t.get_name() == "wire-client-watch" and t.cancelling() and not t.done()
                ]
                if watch:
                    break
                await asyncio.sleep(0)
        seen = connections
        async with asyncio.timeout(TIMEOUT):
            await client.close()
        await asyncio.sleep(0.2)
        assert connections == seen, "the closed client reconnected"
