"""The fake clock moves only when told to, and wakes sleepers in deadline order."""

from __future__ import annotations

import asyncio

import pytest

from wallboard.core.clock import FakeClock, SystemClock


async def test_fake_clock_wakes_sleepers_in_order_when_advanced() -> None:
    clock = FakeClock(start_ms=1_000)
    woke: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now_ms()))

    tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("early", 2))]
    await asyncio.sleep(0)
    await clock.advance(1)
    assert woke == []
    await clock.advance(10)
    await asyncio.gather(*tasks)
    assert woke == [("early", 3_000), ("late", 6_000)]
    assert clock.now_ms() == 12_000
    assert clock.monotonic() == 11.0


def test_fake_clock_never_goes_backwards() -> None:
    clock = FakeClock(start_ms=5_000)
    clock.set_ms(6_000)
    with pytest.raises(ValueError, match="backwards"):
        clock.set_ms(1_000)


async def test_system_clock_reads_real_time() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    await clock.sleep(0.01)
    assert clock.monotonic() > before
    assert clock.now_ms() > 1_700_000_000_000
