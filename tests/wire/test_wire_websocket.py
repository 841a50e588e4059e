"""The same protocol over WebSocket, through a real uvicorn server on an ephemeral port."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wire_helpers import SOURCE, TIMEOUT, agent_ready, sample, wait_until

from conftest import ServerFactory
from wallboard.core.codec import decode, encode
from wallboard.core.events import PROTOCOL_VERSION
from wallboard.core.protocol import Error, Hello, Subscribe, Welcome
from wallboard.settings import Settings
from wallboard.wire.server import WireServer
from wallboard.wire.websocket import websocket_config, websocket_endpoint


@pytest.fixture
async def wire_over_websocket(
    make_server: ServerFactory, settings: Settings
) -> AsyncIterator[tuple[WireServer, str]]:
    server = await make_server(
        settings=dataclasses.replace(settings, wire_origins="https://board.example.com")
    )
    app = FastAPI()
    app.add_api_websocket_route("/wire", websocket_endpoint(server))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = websocket_config(
        app, server.settings, log_level="warning", ws="websockets-sansio", lifespan="off"
    )
    web = uvicorn.Server(config)
    serving = asyncio.create_task(web.serve(sockets=[sock]))
    try:
        await wait_until(lambda: web.started)
        yield server, f"ws://127.0.0.1:{port}/wire"
    finally:
        await server.close()  # ends the WebSocket sessions, so uvicorn can stop at once
        web.should_exit = True
        async with asyncio.timeout(TIMEOUT):
            await serving
        sock.close()


async def _recv(ws: ClientConnection) -> object:
    async with asyncio.timeout(TIMEOUT):
        frame = await ws.recv()
    assert isinstance(frame, str)
    assert not frame.endswith("\n")  # one message per frame, no line end
    return decode(frame.encode())


async def _send(ws: ClientConnection, message: Hello | Subscribe) -> None:
    await ws.send(encode(message).decode().rstrip("\n"))


async def test_websocket_handshake_replay_live_and_bad_frames(
    wire_over_websocket: tuple[WireServer, str], registry: CollectorRegistry
) -> None:
    server, url = wire_over_websocket
    server.publish(agent_ready(1))
    server.publish(agent_ready(2))
    async with connect(url) as ws:
        await _send(ws, Hello(client="browser"))
        assert await _recv(ws) == Welcome(
            server="test", protocol=PROTOCOL_VERSION, source=SOURCE, seq=2, oldest=1
        )
        await ws.send("{broken")
        error = await _recv(ws)
        assert isinstance(error, Error)
        assert (error.code, error.fatal, error.detail["reason"]) == (
            "malformed_message",
            False,
            "bad_json",
        )
        await _send(ws, Subscribe(resume_from=1))
        assert await _recv(ws) == agent_ready(2)
        server.publish(agent_ready(3))
        assert await _recv(ws) == agent_ready(3)
    assert (
        sample(
            registry, "wallboard_wire_malformed_messages_total", side="server", reason="bad_json"
        )
        == 1
    )


async def test_websocket_wrong_version_is_fatal(
    wire_over_websocket: tuple[WireServer, str],
) -> None:
    _, url = wire_over_websocket
    async with connect(url) as ws:
        await _send(ws, Hello(client="future", protocol=PROTOCOL_VERSION + 1))
        error = await _recv(ws)
        assert isinstance(error, Error)
        assert (error.code, error.fatal) == ("protocol_error", True)
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                await ws.recv()


async def test_a_frame_over_the_limit_is_refused_before_it_is_read(
    wire_over_websocket: tuple[WireServer, str], registry: CollectorRegistry
) -> None:
    """A 10 MiB frame closes its connection (1009, message too big) as soon as its header
    announces the size; another client goes on. (wire_max_line is 4096 here.)"""
    server, url = wire_over_websocket
    async with connect(url) as other:
        await _send(other, Hello(client="other"))
        assert isinstance(await _recv(other), Welcome)
        await _send(other, Subscribe())
        async with connect(url, max_size=None) as ws:
            await _send(ws, Hello(client="flood"))
            assert isinstance(await _recv(ws), Welcome)
            with contextlib.suppress(ConnectionClosed):
                await ws.send("x" * (10 * 2**20))
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(TIMEOUT):
                    await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1009
        # Past the limit and its tolerated newline the frame is not read; up to it, the
        # message is answered.
        async with connect(url) as ws:
            await ws.send("x" * 4098)
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    await ws.recv()
        async with connect(url) as ws:
            for size, reason in ((4097, "line_too_long"), (4096, "bad_json")):
                await ws.send("x" * size)
                error = await _recv(ws)
                assert isinstance(error, Error)
                assert (error.detail["reason"], error.fatal) == (reason, False)
        await wait_until(lambda: server.subscribed_clients == 1)
        server.publish(agent_ready(1))
        assert await _recv(other) == agent_ready(1)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser
        ("https://board.example.com", True),  # listed
        ("https://BOARD.example.com/", True),
        ("https://evil.example.net", False),
        ("null", False),  # a sandboxed page
        ("http://board.example.com", False),  # another scheme is another origin
    ],
)
async def test_only_listed_or_same_host_origins_may_open_the_websocket(
    wire_over_websocket: tuple[WireServer, str],
    registry: CollectorRegistry,
    origin: str | None,
    allowed: bool,
) -> None:
    _, url = wire_over_websocket
    headers = {} if origin is None else {"Origin": origin}
    if allowed:
        async with connect(url, additional_headers=headers) as ws:
            await _send(ws, Hello(client="page"))
            assert isinstance(await _recv(ws), Welcome)
        return
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    assert sample(registry, "wallboard_wire_clients_refused_total", reason="origin") == 1


async def test_a_page_of_the_servers_own_host_may_open_the_websocket(
    wire_over_websocket: tuple[WireServer, str],
) -> None:
    _, url = wire_over_websocket
    host = url.removeprefix("ws://").split("/")[0]
    async with connect(url, additional_headers={"Origin": f"http://{host}"}) as ws:
        await _send(ws, Hello(client="same-origin"))
        assert isinstance(await _recv(ws), Welcome)
