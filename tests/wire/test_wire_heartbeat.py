"""Heartbeats and dead-peer detection, on a fake clock so nothing sleeps."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry
from wire_helpers import SOURCE, TIMEOUT, RawPeer, sample, wait_until

from conftest import PeerFactory, ServerFactory, UpstreamFactory
from wallboard.core.clock import FakeClock
from wallboard.core.codec import decode, encode
from wallboard.core.protocol import Error, Heartbeat, Hello, Subscribe, Welcome
from wallboard.settings import Settings
from wallboard.wire.client import WireClient


async def _round_trip(peer: RawPeer) -> None:
    """Send a bad line and wait for its error: everything sent before it has been read."""
    await peer.send_line(b"ping?")
    reply = await peer.read()
    assert isinstance(reply, Error)


async def test_server_sends_heartbeats_and_drops_a_silent_client(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    clock = FakeClock()
    server = await make_server(clock=clock)  # heartbeat_seconds=10
    peer = await connect(server.port)
    await peer.handshake()
    await _round_trip(peer)  # t=0: the server has the subscription

    await clock.advance(10)
    beat = await peer.read()
    assert beat == Heartbeat(seq=0, ts=clock.now_ms())

    await clock.advance(5)  # t=15: the client speaks, the dead-peer timer starts over
    await peer.send(Heartbeat(seq=0, ts=clock.now_ms()))
    await _round_trip(peer)
    await clock.advance(29)  # t=44: 29 s of silence is not yet 3 intervals
    assert isinstance(await peer.read(), Heartbeat)
    assert isinstance(await peer.read(), Heartbeat)
    assert sample(registry, "wallboard_wire_dead_peers_total", side="server") == 0

    await clock.advance(2)  # t=46: silent for 31 s
    lines = []
    while line := await peer.read_line():
        lines.append(decode(line[:-1]))
    # The server says why it closes, last.
    error = lines.pop()
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("dead_peer", True)
    assert error.detail == {"silent_seconds": 30.0, "heartbeat_seconds": 10.0}
    assert "heartbeat" in error.message
    assert all(isinstance(message, Heartbeat) for message in lines)
    assert sample(registry, "wallboard_wire_dead_peers_total", side="server") == 1
    assert sample(registry, "wallboard_wire_clients_dropped_total", reason="dead_peer") == 1
    assert sample(registry, "wallboard_wire_heartbeats_sent_total", side="server") >= 3


async def test_a_client_that_never_says_hello_is_dropped(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    clock = FakeClock()
    server = await make_server(clock=clock)
    peer = await connect(server.port)
    await wait_until(lambda: server.connected_clients >= 1)
    await clock.advance(31)
    error = await peer.read()  # no heartbeat before the handshake: the reason, then the end
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("dead_peer", True)
    assert "hello" in error.message
    await peer.expect_closed()
    assert sample(registry, "wallboard_wire_dead_peers_total", side="server") == 1


async def test_client_heartbeats_keep_it_connected(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    clock = FakeClock()
    server = await make_server(clock=clock)
    client = WireClient(
        "127.0.0.1",
        server.port,
        clock=clock,
        registry=registry,
        settings=Settings(heartbeat_seconds=10.0),
    )
    async with client:
        async with asyncio.timeout(TIMEOUT):
            await client.wait_subscribed()
        for _ in range(20):  # 100 s, far beyond 3 intervals, in small steps
            await clock.advance(5)
            await asyncio.sleep(0.01)
        assert client.subscribed
        assert client.connections == 1
        assert server.connected_clients == 1
    assert sample(registry, "wallboard_wire_heartbeats_sent_total", side="client") >= 5
    assert sample(registry, "wallboard_wire_dead_peers_total", side="server") == 0
    assert sample(registry, "wallboard_wire_dead_peers_total", side="client") == 0


async def test_client_detects_a_silent_server_and_reconnects(
    scripted_upstream: UpstreamFactory, registry: CollectorRegistry
) -> None:
    clock = FakeClock()
    connected = asyncio.Queue[int]()
    heartbeats = 0

    async def silent_source(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal heartbeats
        assert isinstance(decode((await reader.readline())[:-1]), Hello)
        writer.write(encode(Welcome(server="silent", source=SOURCE, seq=0, oldest=1)))
        assert isinstance(decode((await reader.readline())[:-1]), Subscribe)
        connected.put_nowait(1)
        async with asyncio.timeout(TIMEOUT):
            while line := await reader.readline():
                assert isinstance(decode(line[:-1]), Heartbeat)
                heartbeats += 1

    port = await scripted_upstream(silent_source)
    client = WireClient(
        "127.0.0.1",
        port,
        clock=clock,
        registry=registry,
        settings=Settings(heartbeat_seconds=10.0),
        backoff_initial=1.0,
        backoff_max=1.0,
    )
    async with client:
        async with asyncio.timeout(TIMEOUT):
            await connected.get()
        await clock.advance(10)  # the client speaks up after 10 s of its own silence
        await clock.advance(10)
        await clock.advance(10)  # 30 s without a word from the server: dead
        await wait_until(lambda: sample(registry, "wallboard_wire_reconnects_total") >= 1)
        assert sample(registry, "wallboard_wire_dead_peers_total", side="client") == 1
        await clock.advance(1)  # the backoff, on the same clock
        async with asyncio.timeout(TIMEOUT):
            await connected.get()
    assert heartbeats >= 1
    assert sample(registry, "wallboard_wire_reconnects_total") == 1
