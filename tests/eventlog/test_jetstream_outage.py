"""The JetStream event log when NATS goes away and comes back: bounded Unavailable, then the same
object publishes and reads again, and nothing acknowledged is lost or stored twice.

Each test starts a ``nats-server -js`` of its own with file storage on a free port, since it
stops, kills and freezes it; the shared server is never touched.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest

from server_process import NatsServer, free_port
from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import LogRecord, StreamName
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings

T = TypeVar("T")
VOICE = StreamName.VOICE
A = TenantId("acme")
TIMEOUT_S = 1.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    nats_server = NatsServer(tmp_path / "nats", free_port())
    nats_server.start()
    try:
        yield nats_server
    finally:
        nats_server.stop()


@pytest.fixture
async def log(server: NatsServer) -> AsyncIterator[JetStreamEventLog]:
    opened = await JetStreamEventLog.connect(
        JetStreamSettings(url=server.url, prefix="wbtest", request_timeout_s=TIMEOUT_S)
    )
    try:
        yield opened
    finally:
        await opened.close()


def line(n: int) -> bytes:
    return b'{"type":"agent.ready","tenant":"acme","source":"voice","seq":%d,"id":"e%d","ts":1}' % (
        n,
        n,
    )


async def publish(log: JetStreamEventLog, n: int) -> int:
    return (await log.publish(VOICE, A, f"e{n}", line(n))).seq


async def until_available(
    call: Callable[[], Awaitable[T]], within_s: float = 20.0, failures: list[str] | None = None
) -> T:
    """What a service does after Unavailable: wait a little and call again, on the same object."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return await call()
        except Unavailable as exc:
            if failures is not None:
                failures.append(exc.message)
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def assert_every_call_is_unavailable(log: JetStreamEventLog, after: int) -> None:
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "publish": lambda: publish(log, 1000),
        "publish_many": lambda: log.publish_many(VOICE, [(A, "e1001", line(1001))]),
        "read": lambda: log.read(VOICE, after=after, wait_s=0.2),
        "last_seq": lambda: log.last_seq(VOICE),
        "first_seq": lambda: log.first_seq(VOICE),
    }
    for name, call in calls.items():
        started = time.monotonic()
        try:
            await call()
        except Unavailable:
            pass
        else:
            pytest.fail(f"{name} did not raise Unavailable")
        elapsed = time.monotonic() - started
        # A read may first wait for records, then for the consumer's state.
        assert elapsed < 3 * TIMEOUT_S + 1.0, f"{name} took {elapsed:.1f} s"


async def read_all(log: JetStreamEventLog, after: int = 0) -> list[LogRecord]:
    records: list[LogRecord] = []
    while batch := await log.read(VOICE, after=records[-1].seq if records else after):
        records += batch
    return records


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
async def test_a_nats_that_goes_away_is_unavailable_and_restarted_serves_the_same_log(
    server: NatsServer, log: JetStreamEventLog, how: signal.Signals
) -> None:
    assert [await publish(log, n) for n in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [r.seq for r in await log.read(VOICE, after=0, limit=3)] == [1, 2, 3]
    server.stop(how)
    await assert_every_call_is_unavailable(log, after=3)
    server.start()  # same port, same store directory: the stream and its records are back
    # The same object: the client reconnects by itself; the reader goes on where it was.
    failures: list[str] = []
    rest = await until_available(lambda: log.read(VOICE, after=3, wait_s=1), failures=failures)
    # Refused only until the client is connected again: the consumer the restart lost is not
    # asked for (that would cost the reader an Unavailable more after NATS is back).
    assert failures
    assert [f for f in failures if "not connected" not in f] == []
    assert [r.data for r in rest[:2]] == [line(4), line(5)]
    assert [r.seq for r in rest] == list(range(4, 4 + len(rest)))
    # The publishes that failed while NATS was away (e1000, then e1001 in a batch) may have been
    # sent on reconnect: publishing one again stores it once, keeping the first copy's number.
    again = await until_available(lambda: log.publish(VOICE, A, "e1000", line(1000)))
    assert again.seq in (6, 7)
    assert await publish(log, 6) == await log.last_seq(VOICE)
    records = await read_all(log)
    assert [r.seq for r in records] == list(range(1, await log.last_seq(VOICE) + 1))
    datas = [r.data for r in records]
    assert len(datas) == len(set(datas))  # nothing stored twice
    assert datas[:5] == [line(n) for n in range(1, 6)]
    assert line(1000) in datas
    assert line(6) in datas


async def test_a_frozen_nats_is_unavailable_within_the_bound_and_thawed_serves_again(
    server: NatsServer, log: JetStreamEventLog
) -> None:
    """SIGSTOP: the connection stays open but nothing answers."""
    await publish(log, 1)
    assert [r.seq for r in await log.read(VOICE, after=0)] == [1]
    reading = asyncio.create_task(log.read(VOICE, after=1, wait_s=0.5))
    await asyncio.sleep(0.1)  # the pull request is on the wire when NATS freezes
    server.freeze()
    try:
        # The waiting read ends as "nothing came" or as Unavailable, within its bound.
        try:
            result = await asyncio.wait_for(reading, 3 * TIMEOUT_S + 1)
        except Unavailable:
            pass
        else:
            assert result == []
        await assert_every_call_is_unavailable(log, after=1)
    finally:
        server.thaw()
    # The publishes cut short while frozen may land once thawed, before this one.
    seq = await until_available(lambda: publish(log, 2))
    assert seq == await log.last_seq(VOICE)
    records = await until_available(lambda: read_all(log, after=1))
    assert [r.seq for r in records] == list(range(2, seq + 1))
    assert records[-1].data == line(2)
    assert len({r.data for r in records}) == len(records)


async def test_a_publisher_and_a_reader_that_retry_lose_nothing_across_a_crash(
    server: NatsServer, log: JetStreamEventLog
) -> None:
    """NATS is killed and restarted while one task publishes batches and another reads from
    where it last was; each retries the call that raised Unavailable. Every record published
    is read exactly once, in order."""
    reader_log = await JetStreamEventLog.connect(
        JetStreamSettings(url=server.url, prefix="wbtest", request_timeout_s=TIMEOUT_S)
    )
    rounds, size = 40, 5
    publisher_failures: list[str] = []
    reader_failures: list[str] = []
    read: list[LogRecord] = []

    async def produce() -> None:
        for n in range(rounds):
            batch = [(A, f"e{n}-{k}", line(n * size + k)) for k in range(size)]
            await until_available(
                lambda b=batch: log.publish_many(VOICE, b),  # type: ignore[misc]
                failures=publisher_failures,
            )
            await asyncio.sleep(0.02)

    async def consume() -> None:
        while len(read) < rounds * size:
            after = read[-1].seq if read else 0
            read.extend(
                await until_available(
                    lambda a=after: reader_log.read(VOICE, after=a, wait_s=0.3),  # type: ignore[misc]
                    failures=reader_failures,
                )
            )

    try:
        producer = asyncio.create_task(produce())
        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        server.stop(signal.SIGKILL)
        # Away longer than a publish waits for its acknowledgement: a shorter outage is ridden
        # through by the client's buffer and no call fails.
        await asyncio.sleep(2 * TIMEOUT_S)
        server.start()
        await asyncio.wait_for(asyncio.gather(producer, consumer), 90)
    finally:
        await reader_log.close()
    assert publisher_failures, "the publisher never met the outage"
    assert reader_failures, "the reader never met the outage"
    assert [r.seq for r in read] == list(range(1, rounds * size + 1))
    assert [r.data for r in read] == [line(n) for n in range(rounds * size)]


async def test_a_reader_whose_consumer_was_removed_goes_on_in_the_same_read(
    server: NatsServer, log: JetStreamEventLog
) -> None:
    """The server removes a consumer left idle past its inactivity threshold (or loses it in a
    restart the client has not reported yet): the next read starts a new one where it was."""
    for n in range(1, 6):
        await publish(log, n)
    assert [r.seq for r in await log.read(VOICE, after=0, limit=2)] == [1, 2]
    other = await nats.connect(server.url)
    try:
        js = other.jetstream()
        stream = log.stream_name(VOICE)
        for consumer in await js.consumers_info(stream):
            await js.delete_consumer(stream, consumer.name)
    finally:
        await other.close()
    assert [r.seq for r in await log.read(VOICE, after=2, wait_s=0.2)] == [3, 4, 5]
