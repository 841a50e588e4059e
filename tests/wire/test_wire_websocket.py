"""The same protocol over WebSocket, through a real uvicorn server on an ephemeral port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from wire_helpers import SOURCE, TIMEOUT, agent_ready, sample, wait_until

from conftest import ServerFactory
from wallboard.core.codec import decode, encode
from wallboard.core.events import PROTOCOL_VERSION
from wallboard.core.protocol import Error, Hello, Subscribe, Welcome
from wallboard.wire.server import WireServer
from wallboard.wire.websocket import websocket_endpoint


@pytest.fixture
async def wire_over_websocket(make_server: ServerFactory) -> AsyncIterator[tuple[WireServer, str]]:
    server = await make_server()
    app = FastAPI()
    app.add_api_websocket_route("/wire", websocket_endpoint(server))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="off")
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
