"""Time as a dependency: a real clock for services, a fake one so tests never sleep."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time in UTC milliseconds, a monotonic reading in seconds, and sleeping."""

    def now_ms(self) -> int: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to.

    ``sleep`` parks the caller until ``advance`` moves time past its deadline, so time-based
    logic (heartbeats, windows, timeouts) is tested deterministically and instantly.
    """

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = start_ms
        self._origin_ms = start_ms
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return (self._now_ms - self._origin_ms) / 1000.0

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deadline = self._now_ms + round(seconds * 1000)
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    def set_ms(self, now_ms: int) -> None:
        """Jump to an absolute time (never backwards) without waking sleepers."""
        if now_ms < self._now_ms:
            raise ValueError("a clock does not go backwards")
        self._now_ms = now_ms

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passes, in deadline order."""
        target = self._now_ms + round(seconds * 1000)
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now_ms = max(self._now_ms, deadline)
            if not future.done():
                future.set_result(None)
            # Let the woken task run before later deadlines fire.
            for _ in range(3):
                await asyncio.sleep(0)
        self._now_ms = target
