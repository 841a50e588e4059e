"""The one-process pipeline's parts: the feed into the in-process log and the reading clock."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from wallboard.core.clock import FakeClock
from wallboard.core.codec import decode_event
from wallboard.core.events import CallQueued
from wallboard.embedded import LogFeed, ReadingClock
from wallboard.eventlog.interface import StreamName
from wallboard.eventlog.memory import MemoryEventLog


def queued(n: int, source: str = "voice", data: dict[str, str] | None = None) -> CallQueued:
    return CallQueued(
        tenant="t", source=source, seq=n, id=f"e{n}", ts=n, call=f"c{n}", queue="q", data=data or {}
    )


async def test_the_feed_keeps_order_per_stream_and_skips_what_the_log_cannot_hold() -> None:
    log = MemoryEventLog()
    feed = LogFeed(log, registry=CollectorRegistry())
    sent = [
        queued(1),
        queued(2, "voice-vq"),
        queued(3, "asterisk"),  # names no stream of the log
        queued(4, data={"note": "x" * 70_000}),  # longer than a record may be
        queued(5),
        queued(1),  # resent: the log keeps it once
        queued(6, "voice-vq"),
    ]
    for event in sent:
        feed.put(event)
    run = asyncio.create_task(feed.run())
    await asyncio.wait_for(feed.drained(), 10)
    run.cancel()
    voice = await log.read(StreamName.VOICE, after=0)
    vq = await log.read(StreamName.VOICE_VQ, after=0)
    assert [decode_event(r.data).id for r in voice] == ["e1", "e5"]
    assert [decode_event(r.data).id for r in vq] == ["e2", "e6"]
    assert (feed.published, feed.refused) == (4, 2)
    assert feed.last_seq == {StreamName.VOICE: 2, StreamName.VOICE_VQ: 2}


async def test_the_reading_clock_is_held_until_told_to_follow() -> None:
    base = FakeClock(start_ms=5_000)
    newest = [1_000]
    clock = ReadingClock(base)
    assert clock.now_ms() == 5_000
    clock.hold(lambda: newest[0])
    newest[0] = 2_000
    assert clock.now_ms() == 2_000
    clock.hold(3_000)
    assert clock.now_ms() == 3_000
    await base.advance(1)
    assert (clock.now_ms(), clock.monotonic()) == (3_000, 1.0)
    clock.follow()
    assert clock.now_ms() == 6_000
