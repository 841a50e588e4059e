"""The in-process event log: the embedded default (``wallboard demo``, tests), no server.

Same contract as the JetStream log (:mod:`wallboard.eventlog.interface`), kept in memory:
retention by record count and age, de-duplication on ``(tenant, event id)`` within a window of
the last ``dedupe_window`` records. asyncio-safe by construction (no await between reading and
writing the state); not thread-safe.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.errors import InvalidInput, ResumeGap, Unavailable
from wallboard.core.ids import TenantId
from wallboard.eventlog.interface import (
    LogRecord,
    Published,
    StreamName,
    check_read,
    check_record,
)


class _Stream:
    __slots__ = ("changed", "head", "id_order", "ids", "next_seq", "records", "times")

    def __init__(self) -> None:
        # Kept records are records[head:], numbered consecutively: a read indexes straight to
        # its position. Trimming moves head; the lists are compacted when half is dead.
        self.records: list[LogRecord] = []
        self.times: list[int] = []  # ms when published, parallel to records
        self.head = 0
        self.next_seq = 1
        self.ids: dict[tuple[str, str], int] = {}
        self.id_order: collections.deque[tuple[str, str]] = collections.deque()
        self.changed = asyncio.Event()


class MemoryEventLog:
    """An :class:`~wallboard.eventlog.interface.EventLog` in memory."""

    def __init__(
        self,
        *,
        max_records: int = 1_000_000,
        max_age_s: float | None = None,
        dedupe_window: int = 100_000,
        clock: Clock | None = None,
    ) -> None:
        if max_records < 1:
            raise InvalidInput(f"max_records: {max_records} must be at least 1")
        if dedupe_window < 0:
            raise InvalidInput(f"dedupe_window: {dedupe_window} must not be negative")
        if max_age_s is not None and max_age_s <= 0:
            raise InvalidInput(f"max_age_s: {max_age_s} must be positive")
        self._max_records = max_records
        self._max_age_ms = None if max_age_s is None else int(max_age_s * 1000)
        self._dedupe_window = dedupe_window
        self._clock = clock or SystemClock()
        self._streams = {name: _Stream() for name in StreamName}
        self._closed = False

    def _stream(self, name: StreamName) -> _Stream:
        if self._closed:
            raise Unavailable("the event log is closed")
        try:
            return self._streams[StreamName(name)]
        except ValueError:
            raise InvalidInput(f"stream: unknown stream {name!r}") from None

    async def publish(
        self, stream: StreamName, tenant: TenantId, event_id: str, data: bytes
    ) -> Published:
        s = self._stream(stream)
        check_record(tenant, event_id, data)
        key = (tenant, event_id)
        seen = s.ids.get(key)
        if seen is not None:
            return Published(seq=seen, duplicate=True)
        seq = s.next_seq
        s.next_seq += 1
        now = self._clock.now_ms()
        s.records.append(LogRecord(StreamName(stream), seq, tenant, bytes(data)))
        s.times.append(now)
        if self._dedupe_window:
            s.ids[key] = seq
            s.id_order.append(key)
            while len(s.id_order) > self._dedupe_window:
                del s.ids[s.id_order.popleft()]
        self._trim(s, now)
        s.changed.set()
        s.changed = asyncio.Event()
        return Published(seq=seq, duplicate=False)

    async def publish_many(
        self, stream: StreamName, records: Sequence[tuple[TenantId, str, bytes]]
    ) -> list[Published]:
        for tenant, event_id, data in records:
            check_record(tenant, event_id, data)
        return [await self.publish(stream, *record) for record in records]

    def _trim(self, s: _Stream, now: int) -> None:
        s.head = max(s.head, len(s.records) - self._max_records)
        if self._max_age_ms is not None:
            while s.head < len(s.times) and now - s.times[s.head] > self._max_age_ms:
                s.head += 1
        if s.head > 1024 and s.head * 2 > len(s.records):
            del s.records[: s.head]
            del s.times[: s.head]
            s.head = 0

    @staticmethod
    def _first_seq(s: _Stream) -> int:
        """The sequence of the oldest kept record (next_seq when none is kept)."""
        return s.records[s.head].seq if s.head < len(s.records) else s.next_seq

    async def read(
        self,
        stream: StreamName,
        *,
        after: int,
        tenants: Sequence[TenantId] | None = None,
        limit: int = 1000,
        wait_s: float = 0.0,
    ) -> list[LogRecord]:
        check_read(after, limit, wait_s)
        wanted = None if tenants is None else frozenset(tenants)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            s = self._stream(stream)
            self._trim(s, self._clock.now_ms())
            first = self._first_seq(s)
            if after + 1 < first:
                raise ResumeGap(
                    f"{stream}: records {after + 1}..{first - 1} were trimmed by retention"
                )
            found = self._collect(s, first, after, wanted, limit)
            # A reader with nothing of its own to read past the end waits, whatever it skipped.
            if found:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            after = max(after, s.next_seq - 1)
            try:
                await asyncio.wait_for(s.changed.wait(), remaining)
            except TimeoutError:
                return []

    @staticmethod
    def _collect(
        s: _Stream, first: int, after: int, wanted: frozenset[TenantId] | None, limit: int
    ) -> list[LogRecord]:
        found: list[LogRecord] = []
        for i in range(s.head + max(0, after + 1 - first), len(s.records)):
            record = s.records[i]
            if wanted is None or record.tenant in wanted:
                found.append(record)
                if len(found) == limit:
                    break
        return found

    async def last_seq(self, stream: StreamName) -> int:
        return self._stream(stream).next_seq - 1

    async def first_seq(self, stream: StreamName) -> int:
        s = self._stream(stream)
        self._trim(s, self._clock.now_ms())
        return self._first_seq(s)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for s in self._streams.values():
            s.changed.set()
