"""How many clients a wire server takes, and how it lets go of those that stop reading."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import pytest
from prometheus_client import CollectorRegistry
from wire_helpers import SOURCE, TIMEOUT, RawPeer, call_queued, sample, wait_until

from conftest import PeerFactory, ServerFactory
from wallboard.core.protocol import Error, Welcome
from wallboard.settings import Settings
from wallboard.wire.client import WireClient
from wallboard.wire.errors import Disconnected
from wallboard.wire.server import WireServer


def _no_error_logs(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, "\n".join(f"{r.name}: {r.getMessage()}" for r in bad)


async def test_dropping_a_client_that_does_not_read_logs_no_traceback(
    connect: PeerFactory, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """The close after a write timeout gave up on the peer; waiting again on the close waiter
    that timeout cancelled raised CancelledError out of serve(), once per dropped client."""
    caplog.set_level(logging.INFO)
    async with WireServer(
        source=SOURCE,
        settings=Settings(client_queue=100_000, wire_max_line=65536),
        registry=registry,
        write_timeout=0.2,
    ) as server:
        await server.start()
        for _ in range(2):
            peer = await connect(server.port)  # subscribes, then never reads
            await peer.handshake(resume_from=server.seq)
        await wait_until(lambda: server.subscribed_clients == 2)
        seq = server.seq
        while server.subscribed_clients:
            seq += 1
            server.publish(call_queued(seq, payload=32_000))
            await asyncio.sleep(0.001)
        await wait_until(lambda: server.connected_clients == 0)
        await asyncio.sleep(0.1)  # the loop's exception handler runs after the handler ends
    assert sample(registry, "wallboard_wire_clients_dropped_total", reason="write_timeout") == 2
    _no_error_logs(caplog)


async def test_clients_over_the_cap_are_refused_with_an_error(
    make_server: ServerFactory, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """A burst far over the cap: each connection is answered at once, none is left hanging."""
    cap, burst = 20, 400
    server = await make_server(
        settings=Settings(wire_max_clients=cap, wire_backlog=burst, heartbeat_seconds=10.0)
    )

    async def one() -> str:
        peer = await RawPeer.connect(server.port)
        try:
            await peer.send_line(b'{"type":"hello","client":"burst"}')
            message = await peer.read()  # within TIMEOUT
            if isinstance(message, Error):
                assert message.fatal
                await peer.expect_closed()
                return message.code
            assert isinstance(message, Welcome)
            await wait_until(lambda: server.connected_clients >= cap)
            return "welcome"
        finally:
            await peer.close()

    results = await asyncio.gather(*(one() for _ in range(burst)))
    assert results.count("welcome") == cap
    assert results.count("server_full") == burst - cap
    assert sample(registry, "wallboard_wire_clients_refused_total", reason="server_full") == (
        burst - cap
    )
    warnings = [r for r in caplog.records if "is full" in r.getMessage()]
    assert len(warnings) < 10, "a burst of refusals is not a burst of log lines"
    # Below the cap again, clients are served.
    await wait_until(lambda: server.connected_clients == 0)
    peer = await RawPeer.connect(server.port)
    try:
        await peer.send_line(b'{"type":"hello","client":"after"}')
        assert isinstance(await peer.read(), Welcome)
    finally:
        await peer.close()


async def test_the_wire_client_reports_a_full_server(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server(settings=Settings(wire_max_clients=1))
    first = await connect(server.port)
    await first.handshake()
    await wait_until(lambda: server.connected_clients == 1)
    client = WireClient("127.0.0.1", server.port, registry=registry, reconnect=False)
    async with client:
        with pytest.raises(Disconnected) as raised:
            async with asyncio.timeout(TIMEOUT):
                await anext(client)
    assert raised.value.detail["code"] == "server_full"
    assert "maximum of 1 clients" in raised.value.message


async def test_the_listen_backlog_is_the_setting(make_server: ServerFactory) -> None:
    """The kernel holds ``backlog + 1`` unaccepted connections; it does not complete more.

    The connects below block the event loop, so the server accepts none of them meanwhile.
    """
    server = await make_server(settings=Settings(wire_backlog=4))
    sockets: list[socket.socket] = []
    completed = 0
    try:
        for _ in range(10):
            sock = socket.socket()
            sockets.append(sock)
            sock.settimeout(0.2)
            with contextlib.suppress(TimeoutError, OSError):
                sock.connect(("127.0.0.1", server.port))  # blocks the loop: the point
                completed += 1
    finally:
        for sock in sockets:
            sock.close()
    assert completed == 5
    await asyncio.sleep(0.2)  # the server accepts them now, and sees them closed
    await wait_until(lambda: server.connected_clients == 0)
