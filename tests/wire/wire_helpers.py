"""Helpers for the wire tests: a raw line-level TCP peer and event factories."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry

from wallboard.core.codec import Message, decode, encode
from wallboard.core.events import AgentReady, CallQueued, Event
from wallboard.core.ids import AgentId, CallId, EventId, QueueId, SourceId, TenantId
from wallboard.core.protocol import Hello, Subscribe

TIMEOUT = 5.0
SOURCE = "voice"


def agent_ready(seq: int, *, tenant: str = "t1", agent: str = "a1", source: str = SOURCE) -> Event:
    return AgentReady(
        tenant=TenantId(tenant),
        source=SourceId(source),
        seq=seq,
        id=EventId(f"{source}-{seq}"),
        ts=1_700_000_000_000 + seq,
        agent=AgentId(agent),
    )


def call_queued(
    seq: int, *, tenant: str = "t1", queue: str = "q1", payload: int = 0, source: str = SOURCE
) -> Event:
    """A call.queued event; ``payload`` characters of attached data make it as large as asked."""
    data = {f"k{i}": "x" * 4000 for i in range(payload // 4000)}
    return CallQueued(
        tenant=TenantId(tenant),
        source=SourceId(source),
        seq=seq,
        id=EventId(f"{source}-{seq}"),
        ts=1_700_000_000_000 + seq,
        call=CallId(f"c{seq}"),
        queue=QueueId(queue),
        data=data,
    )


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll state that the code under test exposes without an event to wait on."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110 - there is no event to wait for
            await asyncio.sleep(0.005)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


class RawPeer:
    """A TCP peer that speaks the protocol line by line, for tests that check exact bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, *, limit: int = 2**20) -> RawPeer:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=limit)
        return cls(reader, writer)

    async def send_line(self, line: bytes) -> None:
        self.writer.write(line if line.endswith(b"\n") else line + b"\n")
        async with asyncio.timeout(TIMEOUT):
            await self.writer.drain()

    async def send(self, message: Any) -> None:
        await self.send_line(encode(message))

    async def read_line(self) -> bytes:
        """The next line, newline included; b"" at end of stream."""
        async with asyncio.timeout(TIMEOUT):
            return await self.reader.readline()

    async def read(self) -> Message:
        line = await self.read_line()
        assert line, "the server closed the connection"
        return decode(line[:-1])

    async def read_json(self) -> dict[str, Any]:
        line = await self.read_line()
        assert line, "the server closed the connection"
        result: dict[str, Any] = msgspec.json.decode(line)
        return result

    async def handshake(self, **subscribe: Any) -> Message:
        """hello → welcome → subscribe; returns the welcome."""
        await self.send(Hello(client="raw-test"))
        welcome = await self.read()
        await self.send(Subscribe(**subscribe))
        return welcome

    async def expect_closed(self) -> None:
        async with asyncio.timeout(TIMEOUT):
            rest = await self.reader.read()
        assert rest == b"", f"expected the end of the stream, got {rest[:200]!r}"

    async def close(self) -> None:
        self.writer.close()
        try:
            async with asyncio.timeout(TIMEOUT):
                await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
