"""Fixtures for the wire tests: a fresh metrics registry, small settings, leak checks."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from wire_helpers import SOURCE, RawPeer

from wallboard.core.clock import Clock
from wallboard.settings import Settings
from wallboard.wire.server import WireServer


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves a task running (sockets left open fail as ResourceWarning)."""
    yield
    await asyncio.sleep(0)
    me = asyncio.current_task()
    leftover = [task for task in asyncio.all_tasks() if task is not me and not task.done()]
    for task in leftover:
        task.cancel()
    assert not leftover, f"tasks left running: {leftover}"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        heartbeat_seconds=10.0, resume_buffer=1000, client_queue=1000, wire_max_line=4096
    )


ServerFactory = Callable[..., Awaitable[WireServer]]


@pytest.fixture
async def make_server(
    registry: CollectorRegistry, settings: Settings
) -> AsyncIterator[ServerFactory]:
    """Start wire servers on ephemeral ports; all are closed after the test."""
    servers: list[WireServer] = []

    async def make(
        *,
        settings: Settings = settings,
        clock: Clock | None = None,
        port: int = 0,
        last_seq: int = 0,
        host: str = "127.0.0.1",
    ) -> WireServer:
        server = WireServer(
            source=SOURCE,
            name="test",
            settings=settings,
            clock=clock,
            registry=registry,
            last_seq=last_seq,
        )
        await server.start(host, port)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


PeerFactory = Callable[[int], Awaitable[RawPeer]]


@pytest.fixture
async def connect() -> AsyncIterator[PeerFactory]:
    """Open raw TCP peers; all are closed after the test."""
    peers: list[RawPeer] = []

    async def open_peer(port: int) -> RawPeer:
        peer = await RawPeer.connect(port)
        peers.append(peer)
        return peer

    yield open_peer
    for peer in peers:
        await peer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
UpstreamFactory = Callable[[Handler], Awaitable[int]]


@pytest.fixture
async def scripted_upstream() -> AsyncIterator[UpstreamFactory]:
    """A TCP server whose every connection runs a handler written by the test (a fake source).

    Handlers must return by themselves (typically at the client's end of stream).
    """
    listeners: list[asyncio.Server] = []
    handlers: set[asyncio.Task[None]] = set()

    async def start(handler: Handler) -> int:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await handler(reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()

        listener = await asyncio.start_server(run, "127.0.0.1", 0)
        listeners.append(listener)
        return int(listener.sockets[0].getsockname()[1])

    yield start
    for listener in listeners:
        listener.close()
    if handlers:
        async with asyncio.timeout(5):
            await asyncio.gather(*handlers, return_exceptions=True)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests need the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
