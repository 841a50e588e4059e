"""Who may connect to a wire server and what they see: tokens bound to tenants, TLS, warnings."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from wire_helpers import TIMEOUT, agent_ready, sample, wait_until

from conftest import PeerFactory, ServerFactory
from wallboard.core.errors import ConfigError, PermissionDenied, Unauthenticated
from wallboard.core.events import Event
from wallboard.core.protocol import Error, Hello, Subscribe, Welcome
from wallboard.settings import Settings
from wallboard.wire.client import WireClient
from wallboard.wire.errors import Disconnected
from wallboard.wire.security import client_tls
from wallboard.wire.server import WireServer

TOKEN_A = "token-of-acme-0123456789abcdef"
TOKEN_ALL = "token-of-the-operator-fedcba9876543210"
TOKEN_AB = "token-of-two-tenants-00112233445566"


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "wire-tokens"
    digest = hashlib.sha256(TOKEN_AB.encode()).hexdigest()
    path.write_text(
        "# token  tenants\n"
        f"{TOKEN_A} acme\n"
        f"{TOKEN_ALL} *   # the operator reads everything\n"
        f"sha256:{digest} acme,globex\n"
    )
    return path


@pytest.fixture
def auth_settings(tokens_file: Path) -> Settings:
    return Settings(wire_tokens_file=str(tokens_file), heartbeat_seconds=10.0)


def _publish_tenants(publish: Callable[[Event], object], start: int) -> list[Event]:
    events = [
        agent_ready(start, tenant="acme"),
        agent_ready(start + 1, tenant="globex"),
        agent_ready(start + 2, tenant="initech"),
        agent_ready(start + 3, tenant="acme"),
    ]
    for event in events:
        publish(event)
    return events


async def test_a_server_with_tokens_refuses_a_hello_without_a_valid_one(
    make_server: ServerFactory,
    connect: PeerFactory,
    auth_settings: Settings,
    registry: CollectorRegistry,
) -> None:
    server = await make_server(settings=auth_settings)
    for token in (None, "guessed-token", TOKEN_A[:-1]):
        peer = await connect(server.port)
        await peer.send(Hello(client="intruder", token=token))
        error = await peer.read()
        assert isinstance(error, Error)
        assert (error.code, error.fatal, error.detail) == (
            "unauthenticated",
            True,
            {"field": "token"},
        )
        assert "valid token" in error.message
        await peer.expect_closed()
    assert sample(registry, "wallboard_wire_clients_refused_total", reason="unauthenticated") == 3


async def test_a_token_bound_to_a_tenant_never_receives_another(
    make_server: ServerFactory, connect: PeerFactory, auth_settings: Settings
) -> None:
    server = await make_server(settings=auth_settings)
    replayed = _publish_tenants(server.publish, 1)
    peer = await connect(server.port)
    await peer.send(Hello(client="acme-board", token=TOKEN_A))
    assert isinstance(await peer.read(), Welcome)
    await peer.send(Subscribe(resume_from=0))  # names no tenant: gets its own, not everyone's
    live = _publish_tenants(server.publish, 5)
    received = [await peer.read() for _ in range(4)]
    expected = [e for e in replayed + live if e.tenant == "acme"]
    assert received == expected


@pytest.mark.parametrize("tenants", [["globex"], ["acme", "globex"], []])
async def test_subscribing_to_a_tenant_the_token_does_not_allow_is_refused(
    make_server: ServerFactory,
    connect: PeerFactory,
    auth_settings: Settings,
    tenants: list[str],
) -> None:
    server = await make_server(settings=auth_settings)
    _publish_tenants(server.publish, 1)
    peer = await connect(server.port)
    await peer.send(Hello(client="acme-board", token=TOKEN_A))
    assert isinstance(await peer.read(), Welcome)
    await peer.send(Subscribe(tenants=tenants, resume_from=0))
    if not tenants:  # an empty filter asks for nothing, which is allowed
        await peer.send_line(b"ping?")
        reply = await peer.read()
        assert isinstance(reply, Error)
        assert reply.code == "malformed_message"
        return
    error = await peer.read()
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("forbidden", True)
    assert error.detail == {"field": "tenants", "refused": ["globex"]}
    await peer.expect_closed()


async def test_a_hashed_token_and_the_all_tenants_token(
    make_server: ServerFactory, auth_settings: Settings, registry: CollectorRegistry
) -> None:
    server = await make_server(settings=auth_settings)
    received: dict[str, list[str]] = {}
    for token, name in ((TOKEN_AB, "two"), (TOKEN_ALL, "all")):
        async with WireClient(
            "127.0.0.1", server.port, token=token, registry=registry, resume_from=0
        ) as client:
            if not server.seq:
                _publish_tenants(server.publish, 1)
            received[name] = []
            async with asyncio.timeout(TIMEOUT):
                async for event in client:
                    received[name].append(event.tenant)
                    if event.seq == server.seq or len(received[name]) == 4:
                        break
    assert received == {
        "two": ["acme", "globex", "acme"],
        "all": ["acme", "globex", "initech", "acme"],
    }


async def test_the_wire_client_raises_a_refused_token_and_does_not_retry(
    make_server: ServerFactory, auth_settings: Settings, registry: CollectorRegistry
) -> None:
    server = await make_server(settings=auth_settings)
    async with WireClient("127.0.0.1", server.port, token="wrong", registry=registry) as client:
        with pytest.raises(Unauthenticated):
            async with asyncio.timeout(TIMEOUT):
                await anext(client)
    async with WireClient(
        "127.0.0.1", server.port, token=TOKEN_A, tenants=["initech"], registry=registry
    ) as client:
        with pytest.raises(PermissionDenied):
            async with asyncio.timeout(TIMEOUT):
                await anext(client)
    assert sample(registry, "wallboard_wire_reconnects_total") == 0


def _refusal(settings: Settings) -> str:
    """The message of the ConfigError a server with ``settings`` stops with."""
    with pytest.raises(ConfigError) as raised:
        WireServer(source="voice", settings=settings)
    return raised.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "lists no token"),
        ("just-a-token\n", "line 1: expected"),
        ("t1 acme\nt1 globex\n", "line 2: the same token"),
        ("sha256:abcd acme\n", "64 hexadecimal digits"),
        ("t1 ,\n", "no tenant"),
        (None, "cannot read"),
    ],
)
def test_a_wrong_tokens_file_stops_the_server(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "tokens"
    if text is not None:
        path.write_text(text)
    refusal = _refusal(Settings(wire_tokens_file=str(path)))
    assert message in refusal
    assert str(path) in refusal


async def test_tls_serves_trusting_clients_only(
    make_server: ServerFactory, tls_files: tuple[Path, Path], registry: CollectorRegistry
) -> None:
    cert, key = tls_files
    server = await make_server(settings=Settings(wire_tls_cert=str(cert), wire_tls_key=str(key)))
    assert server.tls
    server.publish(agent_ready(1))
    async with WireClient(
        "127.0.0.1", server.port, tls=client_tls(cert), registry=registry, resume_from=0
    ) as client:
        async with asyncio.timeout(TIMEOUT):
            assert await anext(client) == agent_ready(1)

    # A client that does not trust the certificate is told why.
    async with WireClient(
        "127.0.0.1", server.port, tls=client_tls(), registry=registry, reconnect=False
    ) as client:
        with pytest.raises(Disconnected, match=r"certificate .* is not trusted"):
            async with asyncio.timeout(TIMEOUT):
                await anext(client)

    # Plain text on a TLS port gets no event, and the connection ends.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b'{"type":"hello","client":"plain"}\n{"type":"subscribe","resume_from":0}\n')
    async with asyncio.timeout(TIMEOUT):
        rest = await reader.read()
    assert b"agent.ready" not in rest
    writer.close()
    await wait_until(lambda: server.connected_clients == 0)


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("cert", "", "WALLBOARD_WIRE_TLS_KEY is empty"),
        ("", "key", "WALLBOARD_WIRE_TLS_CERT is empty"),
        ("missing", "missing", "cannot load the wire TLS certificate"),
    ],
)
def test_a_wrong_tls_setting_stops_the_server(
    tls_files: tuple[Path, Path], cert: str, key: str, message: str
) -> None:
    files = {"cert": str(tls_files[0]), "key": str(tls_files[1]), "missing": "/nonexistent.pem"}
    settings = Settings(wire_tls_cert=files.get(cert, ""), wire_tls_key=files.get(key, ""))
    assert message in _refusal(settings)


async def test_listening_beyond_loopback_without_tls_and_tokens_warns(
    make_server: ServerFactory,
    tls_files: tuple[Path, Path],
    auth_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cert, key = tls_files
    secured = Settings(
        wire_tls_cert=str(cert),
        wire_tls_key=str(key),
        wire_tokens_file=auth_settings.wire_tokens_file,
    )
    caplog.set_level(logging.WARNING, logger="wallboard.wire.server")
    await make_server(settings=Settings())  # loopback: nothing to say
    await make_server(settings=secured, host="0.0.0.0")
    assert not caplog.records
    await make_server(settings=auth_settings, host="0.0.0.0")
    await make_server(settings=Settings(), host="0.0.0.0")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "without TLS (WALLBOARD_WIRE_TLS_CERT/_KEY): anyone" in messages[0]
    assert "without TLS (WALLBOARD_WIRE_TLS_CERT/_KEY) and authentication" in messages[1]
    assert all("beyond loopback" in m and "every tenant" in m for m in messages)
