"""The wire server over real TCP: handshake, filters, resume, backpressure, bad input."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry
from wire_helpers import SOURCE, agent_ready, call_queued, sample, wait_until

from conftest import PeerFactory, ServerFactory
from wallboard.core.codec import decode, encode
from wallboard.core.events import PROTOCOL_VERSION
from wallboard.core.protocol import Error, Hello, Subscribe, Welcome
from wallboard.settings import Settings


async def test_handshake_replays_then_streams_live(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    published = [agent_ready(seq) for seq in (1, 2, 3)]
    for event in published:
        assert server.publish(event)
    peer = await connect(server.port)

    welcome = await peer.handshake(resume_from=0)

    assert welcome == Welcome(
        server="test", protocol=PROTOCOL_VERSION, source=SOURCE, seq=3, oldest=1
    )
    assert [await peer.read_line() for _ in published] == [encode(e) for e in published]
    live = agent_ready(4)
    server.publish(live)
    assert await peer.read_line() == encode(live)


async def test_subscribe_without_resume_gets_only_live_events(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    server.publish(agent_ready(1))
    peer = await connect(server.port)
    await peer.handshake()
    await wait_until(lambda: server.subscribed_clients == 1)
    server.publish(agent_ready(2))
    assert await peer.read() == agent_ready(2)


async def test_filters_by_tenant_object_and_type_prefix(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    events = [
        agent_ready(1, tenant="t1", agent="a1"),
        agent_ready(2, tenant="t2", agent="a2"),
        call_queued(3, tenant="t1", queue="q1"),
        call_queued(4, tenant="t2", queue="q2"),
        agent_ready(5, tenant="t1", agent="a2"),
    ]
    for event in events:
        server.publish(event)
    filters: list[tuple[dict[str, Any], list[int]]] = [
        ({"tenants": ("t1",)}, [1, 3, 5]),
        ({"objects": ("a2", "q1")}, [2, 3, 5]),
        ({"types": ("call.",)}, [3, 4]),
        ({"types": ("agent.ready",), "tenants": ("t2",)}, [2]),
        ({"types": ("agent.re", "call.queued"), "objects": ("q2", "a1")}, [1, 4]),
    ]
    for subscribe, expected in filters:
        peer = await connect(server.port)
        await peer.handshake(resume_from=0, **subscribe)
        received = [await peer.read() for _ in expected]
        assert [e.seq for e in received] == expected, subscribe  # type: ignore[union-attr]
        # The replay was queued at once on subscribe: the answer to a bad line comes next
        # only if no other event was in it.
        await peer.send_line(b"?")
        assert isinstance(await peer.read(), Error)
        await peer.close()


async def test_empty_filter_receives_nothing_but_heartbeats(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    peer = await connect(server.port)
    await peer.handshake(resume_from=0, tenants=())
    server.publish(agent_ready(1))
    await peer.send(Hello(client="again"))  # a protocol error proves nothing was queued before it
    error = await peer.read()
    assert isinstance(error, Error)
    assert error.code == "protocol_error"


async def test_resume_replays_exactly_the_missing_events(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    for seq in range(1, 11):
        server.publish(agent_ready(seq))
    peer = await connect(server.port)
    welcome = await peer.handshake(resume_from=6)
    assert isinstance(welcome, Welcome)
    assert (welcome.seq, welcome.oldest) == (10, 1)
    server.publish(agent_ready(11))
    received = [await peer.read() for _ in range(5)]
    assert received == [agent_ready(seq) for seq in range(7, 12)]


async def test_resume_in_a_holey_sequence(make_server: ServerFactory, connect: PeerFactory) -> None:
    server = await make_server()
    for seq in (2, 5, 9, 10):
        server.publish(agent_ready(seq))
    peer = await connect(server.port)
    await peer.handshake(resume_from=6)
    assert [await peer.read() for _ in range(2)] == [agent_ready(9), agent_ready(10)]


async def test_resume_gap_when_the_events_are_gone(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server(settings=Settings(resume_buffer=5))
    for seq in range(1, 11):
        server.publish(agent_ready(seq))
    assert (server.oldest, server.seq) == (6, 10)

    ok = await connect(server.port)
    await ok.handshake(resume_from=5)  # the oldest resumable point: 6.. are all held
    assert (await ok.read()).seq == 6  # type: ignore[union-attr]

    for too_old_or_new in (4, 11):
        peer = await connect(server.port)
        await peer.handshake(resume_from=too_old_or_new)
        error = await peer.read()
        assert isinstance(error, Error)
        assert (error.code, error.fatal) == ("resume_gap", True)
        assert error.detail == {"resume_from": too_old_or_new, "oldest": 6, "seq": 10}
        await peer.expect_closed()
    assert sample(registry, "wallboard_wire_resume_gaps_total", side="server") == 2


async def test_restarted_source_resumes_from_its_last_seq(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server(last_seq=500)
    peer = await connect(server.port)
    welcome = await peer.handshake(resume_from=500)
    assert welcome == Welcome(server="test", source=SOURCE, seq=500, oldest=501)
    await wait_until(lambda: server.subscribed_clients == 1)
    server.publish(agent_ready(501))
    assert await peer.read() == agent_ready(501)


async def test_publish_refuses_stale_seq_and_foreign_source(
    make_server: ServerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server()
    assert server.publish(agent_ready(1))
    assert not server.publish(agent_ready(1))
    assert not server.publish(agent_ready(0))
    assert not server.publish(agent_ready(2, source="chat"))
    assert server.seq == 1
    assert sample(registry, "wallboard_wire_events_rejected_total", reason="stale_seq") == 2
    assert sample(registry, "wallboard_wire_events_rejected_total", reason="wrong_source") == 1
    assert sample(registry, "wallboard_wire_events_published_total") == 1


async def test_slow_client_is_dropped_while_a_fast_client_gets_everything(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server(
        settings=Settings(client_queue=8, wire_max_line=65536, heartbeat_seconds=10.0)
    )
    slow = await connect(server.port)  # never reads until it has been dropped
    await slow.handshake(resume_from=0)
    fast = await connect(server.port)
    await fast.handshake(resume_from=0)
    await wait_until(lambda: server.subscribed_clients == 2)

    published = []
    seq = 0
    while server.subscribed_clients == 2:
        seq += 1
        assert seq < 2000, "the slow client was never dropped"
        event = call_queued(seq, payload=32_000)
        server.publish(event)  # synchronous: it cannot wait for anyone
        published.append(encode(event))
        assert await fast.read_line() == published[-1]

    assert sample(registry, "wallboard_wire_clients_dropped_total", reason="slow_consumer") == 1
    # The fast client goes on.
    server.publish(call_queued(seq + 1))
    assert await fast.read_line() == encode(call_queued(seq + 1))
    # The slow one finds a contiguous prefix of the events, then the error, then the end.
    lines = []
    while line := await slow.read_line():
        lines.append(line)
    error = decode(lines[-1][:-1])
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("slow_consumer", True)
    assert lines[:-1] == published[: len(lines) - 1]
    assert len(lines) - 1 < len(published)


async def test_malformed_lines_get_an_error_and_are_counted(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server()  # wire_max_line=4096
    server.publish(agent_ready(1))
    peer = await connect(server.port)
    bad_lines = {
        b"not json": "bad_json",
        b'{"type":"hello","client":""}': "invalid_field",
        b'{"type":"nonsense"}': "unknown_type",
        b'{"type":"hello","client":"x"' + b" " * 5000 + b"}": "line_too_long",
        b"[" * 2000 + b"]" * 2000: None,  # deeply nested: refused, whatever the reason
        b'{"type":"hello","client":"\xff"}': None,  # invalid UTF-8
    }
    for line, reason in bad_lines.items():
        await peer.send_line(line)
        error = await peer.read()
        assert isinstance(error, Error), line
        assert (error.code, error.fatal) == ("malformed_message", False), error
        if reason is not None:
            assert error.detail["reason"] == reason
    # A line far longer than the limit arrives in pieces and is reported once.
    await peer.send_line(b"x" * 100_000)
    error = await peer.read()
    assert isinstance(error, Error)
    assert error.detail["reason"] == "line_too_long"

    welcome = await peer.handshake(resume_from=0)  # the connection survived all of it
    assert isinstance(welcome, Welcome)
    assert await peer.read() == agent_ready(1)
    for reason in ("bad_json", "invalid_field", "unknown_type"):
        assert (
            sample(
                registry, "wallboard_wire_malformed_messages_total", side="server", reason=reason
            )
            == 1
        )
    assert (
        sample(
            registry,
            "wallboard_wire_malformed_messages_total",
            side="server",
            reason="line_too_long",
        )
        == 2
    )


async def test_field_errors_name_the_field_and_value(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    peer = await connect(server.port)
    await peer.send(Hello(client="x"))
    await peer.read()
    await peer.send_line(b'{"type":"subscribe","resume_from":-3}')
    error = await peer.read()
    assert isinstance(error, Error)
    assert error.detail == {"reason": "invalid_field", "field": "resume_from", "value": "-3"}


async def test_wrong_protocol_version_is_fatal(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server()
    peer = await connect(server.port)
    await peer.send(Hello(client="future", protocol=PROTOCOL_VERSION + 1))
    error = await peer.read()
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("protocol_error", True)
    assert error.detail["field"] == "protocol"
    assert error.detail["value"] == PROTOCOL_VERSION + 1
    await peer.expect_closed()
    assert sample(registry, "wallboard_wire_protocol_errors_total", side="server") == 1


async def test_missing_hello_is_fatal(make_server: ServerFactory, connect: PeerFactory) -> None:
    server = await make_server()
    peer = await connect(server.port)
    await peer.send(Subscribe(resume_from=0))
    error = await peer.read()
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("protocol_error", True)
    assert error.detail == {"expected": "hello", "got": "subscribe"}
    await peer.expect_closed()


async def test_events_from_a_client_are_a_protocol_error(
    make_server: ServerFactory, connect: PeerFactory
) -> None:
    server = await make_server()
    peer = await connect(server.port)
    await peer.handshake()
    await peer.send(agent_ready(1))
    error = await peer.read()
    assert isinstance(error, Error)
    assert (error.code, error.fatal) == ("protocol_error", True)
    await peer.expect_closed()
    assert server.seq == 0


async def test_connected_gauge_and_close(
    make_server: ServerFactory, connect: PeerFactory, registry: CollectorRegistry
) -> None:
    server = await make_server()
    peers = [await connect(server.port) for _ in range(3)]
    for peer in peers:
        await peer.handshake()
    await wait_until(lambda: server.connected_clients == 3)
    assert sample(registry, "wallboard_wire_connected_clients") == 3
    await peers[0].close()
    await wait_until(lambda: server.connected_clients == 2)
    await server.close()
    for peer in peers[1:]:
        error = await peer.read()  # told why, then closed
        assert isinstance(error, Error)
        assert (error.code, error.fatal) == ("unavailable", True)
        assert "shutting down" in error.message
        await peer.expect_closed()
    assert sample(registry, "wallboard_wire_connected_clients") == 0
