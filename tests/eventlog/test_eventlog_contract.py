"""The event log contract, on the in-process log and on a real NATS JetStream server alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from wallboard.core.clock import FakeClock
from wallboard.core.errors import InvalidInput, ResumeGap
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import (
    MAX_RECORD_BYTES,
    EventLog,
    LogRecord,
    StreamName,
    subject_token,
    tenant_of_token,
)
from wallboard.eventlog.jetstream import JetStreamEventLog, JetStreamSettings
from wallboard.eventlog.memory import MemoryEventLog

VOICE = StreamName.VOICE
A = TenantId("acme")
B = TenantId("bank.of-x y")  # a '.' and a space: not a plain subject token


@pytest.fixture(params=["memory", "jetstream"])
async def log(request: pytest.FixtureRequest) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        memory = MemoryEventLog()
        yield memory
        await memory.close()
        return
    url = request.getfixturevalue("nats_url")
    prefix = f"wbtest-{uuid.uuid4().hex[:10]}"
    js = await JetStreamEventLog.connect(
        JetStreamSettings(url=url, prefix=prefix, max_bytes=64 * 1024**2)
    )
    try:
        yield js
    finally:
        await js.delete_streams()
        await js.close()


def line(n: int, tenant: str = "acme") -> bytes:
    return b'{"type":"agent.ready","tenant":"%s","source":"voice","seq":%d,"id":"e%d","ts":1}' % (
        tenant.encode(),
        n,
        n,
    )


async def read_all(log: EventLog, stream: StreamName) -> list[LogRecord]:
    """Every record, in as many reads as it takes (a read may return fewer than its limit)."""
    records: list[LogRecord] = []
    while batch := await log.read(stream, after=records[-1].seq if records else 0, limit=1000):
        records += batch
    return records


async def test_records_are_numbered_from_one_and_read_back_byte_for_byte(log: EventLog) -> None:
    assert await log.last_seq(VOICE) == 0
    assert await log.first_seq(VOICE) == 1
    for n in range(1, 6):
        published = await log.publish(VOICE, A, f"e{n}", line(n))
        assert (published.seq, published.duplicate) == (n, False)
    assert await log.last_seq(VOICE) == 5
    assert await log.first_seq(VOICE) == 1
    records = await log.read(VOICE, after=0)
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert [r.data for r in records] == [line(n) for n in range(1, 6)]
    assert {r.tenant for r in records} == {A}
    assert [r.seq for r in await log.read(VOICE, after=3)] == [4, 5]
    assert await log.read(VOICE, after=5) == []


async def test_a_batch_is_published_in_order_and_resent_copies_are_found(log: EventLog) -> None:
    batch = [(A, f"e{n}", line(n)) for n in range(1, 301)]
    published = await log.publish_many(VOICE, batch)
    assert [p.seq for p in published] == list(range(1, 301))
    again = await log.publish_many(VOICE, [batch[5], (A, "e301", line(301)), batch[0]])
    assert [(p.seq, p.duplicate) for p in again] == [(6, True), (301, False), (1, True)]
    assert [r.data for r in await read_all(log, VOICE)] == [line(n) for n in range(1, 302)]
    with pytest.raises(InvalidInput, match="data"):
        await log.publish_many(VOICE, [(A, "e400", line(400)), (A, "e401", b"")])
    assert await log.last_seq(VOICE) == 301  # checked before anything was sent


async def test_streams_are_independent(log: EventLog) -> None:
    await log.publish(VOICE, A, "e1", line(1))
    published = await log.publish(StreamName.INTERACTIONS, A, "e1", line(1))
    assert published == type(published)(seq=1, duplicate=False)
    assert await log.read(StreamName.VOICE_VQ, after=0) == []


async def test_a_resent_event_is_stored_once_and_answers_with_the_first_sequence(
    log: EventLog,
) -> None:
    await log.publish(VOICE, A, "e1", line(1))
    await log.publish(VOICE, A, "e2", line(2))
    again = await log.publish(VOICE, A, "e1", line(1))
    assert (again.seq, again.duplicate) == (1, True)
    # The same event id in another tenant is another event.
    other = await log.publish(VOICE, B, "e1", line(1, B))
    assert (other.seq, other.duplicate) == (3, False)
    assert [r.seq for r in await log.read(VOICE, after=0)] == [1, 2, 3]


async def test_a_reader_of_some_tenants_sees_only_theirs_in_order(log: EventLog) -> None:
    c = TenantId("c")
    for n in range(1, 10):
        tenant = (A, B, c)[n % 3]
        await log.publish(VOICE, tenant, f"e{n}", line(n, tenant))
    assert [r.seq for r in await log.read(VOICE, after=0, tenants=[B])] == [1, 4, 7]
    assert [r.tenant for r in await log.read(VOICE, after=0, tenants=[B])] == [B, B, B]
    both = await log.read(VOICE, after=0, tenants=[A, c])
    assert [r.seq for r in both] == [2, 3, 5, 6, 8, 9]
    assert [r.seq for r in await log.read(VOICE, after=4, tenants=[A, c])] == [5, 6, 8, 9]
    assert await log.read(VOICE, after=0, tenants=[TenantId("nobody")]) == []


async def test_reading_in_batches_resumes_exactly_where_the_last_batch_ended(log: EventLog) -> None:
    for n in range(1, 26):
        await log.publish(VOICE, A, f"e{n}", line(n))
    seen: list[int] = []
    after = 0
    while batch := await log.read(VOICE, after=after, limit=7):
        assert len(batch) <= 7
        seen += [r.seq for r in batch]
        after = batch[-1].seq
    assert seen == list(range(1, 26))
    # A reader going back (a collector restored from an older checkpoint) reads again from there.
    assert [r.seq for r in await log.read(VOICE, after=20, limit=100)] == [21, 22, 23, 24, 25]


async def test_a_waiting_reader_wakes_when_a_record_arrives(log: EventLog) -> None:
    await log.publish(VOICE, A, "e1", line(1))
    reader = asyncio.create_task(log.read(VOICE, after=1, tenants=[B], wait_s=10))
    await asyncio.sleep(0.2)
    await log.publish(VOICE, A, "e2", line(2))  # another tenant's: keeps waiting
    await asyncio.sleep(0.2)
    assert not reader.done()
    await log.publish(VOICE, B, "e3", line(3, B))
    records = await asyncio.wait_for(reader, 5)
    assert [(r.seq, r.tenant) for r in records] == [(3, B)]


async def test_a_read_with_nothing_new_returns_empty_after_its_wait(log: EventLog) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await log.read(VOICE, after=0, wait_s=0.3) == []
    assert 0.25 <= loop.time() - start < 3


@pytest.mark.parametrize(
    ("tenant", "event_id", "data", "named"),
    [
        ("", "e1", b"x", "tenant"),
        ("t" * 257, "e1", b"x", "tenant"),
        ("acme", "", b"x", "event id"),
        ("acme", "e1", b"", "data"),
        ("acme", "e1", b"x" * (MAX_RECORD_BYTES + 1), "data"),
    ],
)
async def test_a_bad_record_is_refused_naming_what_is_wrong_and_nothing_is_stored(
    log: EventLog, tenant: str, event_id: str, data: bytes, named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        await log.publish(VOICE, TenantId(tenant), event_id, data)
    assert await log.last_seq(VOICE) == 0


@pytest.mark.parametrize(
    ("after", "limit", "wait_s", "named"),
    [(-1, 10, 0.0, "after"), (0, 0, 0.0, "limit"), (0, 10, -1.0, "wait_s")],
)
async def test_a_bad_read_is_refused(
    log: EventLog, after: int, limit: int, wait_s: float, named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        await log.read(VOICE, after=after, limit=limit, wait_s=wait_s)


def test_tenant_tokens_are_reversible_and_valid_subject_tokens() -> None:
    for tenant in ["acme", "a.b", "x y", "*", ">", "é_ü", "a_2e", "-"]:
        token = subject_token(tenant)
        assert tenant_of_token(token) == tenant
        assert token
        assert not any(ch in token for ch in ".*> \t")
    assert subject_token("acme-2") == "acme-2"
    assert subject_token("a_2e") != subject_token("a.")


async def test_memory_log_trims_by_count_and_age_and_reports_the_gap() -> None:
    clock = FakeClock()
    log = MemoryEventLog(max_records=3, max_age_s=60, clock=clock)
    for n in range(1, 6):
        await log.publish(VOICE, A, f"e{n}", line(n))
    assert [r.seq for r in await log.read(VOICE, after=2)] == [3, 4, 5]
    assert await log.first_seq(VOICE) == 3
    with pytest.raises(ResumeGap, match=r"1\.\.2"):
        await log.read(VOICE, after=0)
    clock.set_ms(clock.now_ms() + 61_000)
    with pytest.raises(ResumeGap):
        await log.read(VOICE, after=4)
    # Nothing kept: a reader that had everything goes on; sequence numbers are never reused.
    assert await log.read(VOICE, after=5) == []
    assert (await log.publish(VOICE, A, "e6", line(6))).seq == 6
    await log.close()


async def test_memory_log_forgets_ids_beyond_its_dedupe_window() -> None:
    log = MemoryEventLog(dedupe_window=2)
    for n in range(1, 4):
        await log.publish(VOICE, A, f"e{n}", line(n))
    assert (await log.publish(VOICE, A, "e3", line(3))).duplicate
    assert not (await log.publish(VOICE, A, "e1", line(1))).duplicate
    await log.close()


async def test_jetstream_log_reports_records_trimmed_by_retention(nats_url: str) -> None:
    prefix = f"wbtest-{uuid.uuid4().hex[:10]}"
    settings = JetStreamSettings(url=nats_url, prefix=prefix, max_bytes=2_000)
    log = await JetStreamEventLog.connect(settings)
    try:
        for n in range(1, 60):
            await log.publish(VOICE, A, f"e{n}", line(n))
        kept = await log.read(VOICE, after=58)
        assert [r.seq for r in kept] == [59]
        first = await log.first_seq(VOICE)
        assert 1 < first <= 59
        assert (await log.read(VOICE, after=first - 1))[0].seq == first
        with pytest.raises(ResumeGap):
            await log.read(VOICE, after=0)
    finally:
        await log.delete_streams()
        await log.close()


async def test_jetstream_settings_are_checked_before_connecting() -> None:
    with pytest.raises(InvalidInput, match="prefix"):
        await JetStreamEventLog.connect(JetStreamSettings(prefix="bad.prefix"))
    with pytest.raises(InvalidInput, match="replicas"):
        await JetStreamEventLog.connect(JetStreamSettings(replicas=9))
