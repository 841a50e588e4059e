"""The resume buffer: the last N published events, so a reconnecting client misses nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from wallboard.core.events import AnyEvent


@dataclasses.dataclass(frozen=True, slots=True)
class BufferedEvent:
    """A published event with its encoded line, shared by every client it is sent to."""

    seq: int
    event: AnyEvent
    line: bytes


class ResumeBuffer:
    """A fixed-capacity ring of events in increasing ``seq`` order; the oldest fall out.

    Sequence numbers may have holes (a source may skip numbers), so the start of a replay is
    found by binary search, not by arithmetic.
    """

    def __init__(self, capacity: int, *, last_seq: int = 0) -> None:
        if capacity <= 0:
            raise ValueError("a resume buffer holds at least one event")
        self.capacity = capacity
        self._ring: list[BufferedEvent | None] = [None] * capacity
        self._start = 0
        self._count = 0
        self._last_seq = last_seq

    def __len__(self) -> int:
        return self._count

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest event published (or the starting point)."""
        return self._last_seq

    @property
    def oldest(self) -> int:
        """The oldest sequence number a replay can start at; ``last_seq + 1`` when empty.

        A resume from ``r`` loses nothing exactly when ``oldest - 1 <= r <= last_seq``.
        """
        if self._count == 0:
            return self._last_seq + 1
        return self._at(0).seq

    def can_resume_from(self, seq: int) -> bool:
        return self.oldest - 1 <= seq <= self._last_seq

    def append(self, item: BufferedEvent) -> None:
        """Add the newest event; the caller guarantees ``item.seq > last_seq``."""
        if self._count < self.capacity:
            self._ring[(self._start + self._count) % self.capacity] = item
            self._count += 1
        else:
            self._ring[self._start] = item
            self._start = (self._start + 1) % self.capacity
        self._last_seq = item.seq

    def after(self, seq: int) -> Iterator[BufferedEvent]:
        """Every held event with a sequence number above ``seq``, oldest first."""
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            if self._at(middle).seq <= seq:
                low = middle + 1
            else:
                high = middle
        for index in range(low, self._count):
            yield self._at(index)

    def _at(self, index: int) -> BufferedEvent:
        item = self._ring[(self._start + index) % self.capacity]
        assert item is not None  # indexes below _count are always filled
        return item
