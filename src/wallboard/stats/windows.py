"""Time windows of the time profiles: fixed intervals of the local day (DST-correct) and slides.

A growing or selection profile cuts the tenant's local day into intervals at wall-clock times
``anchor + k·step``. Converting those wall-clock times to instants follows two rules at DST
changes: a boundary that falls in a spring-forward gap happens at the first instant after the
gap (the wall clock passes it), and a boundary that the clock reads twice in a fall-back hour
happens both times — except the day's anchor itself (a daily reset happens once a day).
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from wallboard.stats.definitions import (
    EverGrowing,
    Growing,
    Selection,
    SinceLogin,
    Sliding,
    TimeProfile,
)

if TYPE_CHECKING:
    from wallboard.stats import _shadow as cython
else:
    try:
        import cython
    except ImportError:  # running as Python without Cython
        from wallboard.stats import _shadow as cython

FOREVER_MS: Final = 1 << 62
_MINUTE_MS: Final = 60_000
_DAY_MINUTES: Final = 24 * 60


def _instant_ms(wall: datetime, zone: ZoneInfo, fold: int) -> int:
    return int(wall.replace(tzinfo=zone, fold=fold).timestamp() * 1000)


# No reference cycle can pass through windows (a zone, integers, a cache of lists).
@cython.no_gc
@cython.cclass
class FixedWindows:
    """Contiguous windows ``[start, end)`` covering all time. ``lo``/``hi`` cache the last
    window computed: hot paths test ``lo <= t < hi`` themselves and read ``lo`` (a method call
    costs more than the test)."""

    __slots__ = ("hi", "lo")

    def __init__(self) -> None:
        self.lo = 0
        self.hi = -1

    def bounds(self, ts: int) -> tuple[int, int]:
        if self.lo <= ts < self.hi:
            return self.lo, self.hi
        start, end = self._compute(ts)
        self.lo, self.hi = start, end
        return start, end

    def start(self, ts: int) -> int:
        if self.lo <= ts < self.hi:
            return self.lo
        return self.bounds(ts)[0]

    def _compute(self, ts: int) -> tuple[int, int]:
        raise NotImplementedError


@cython.no_gc
@cython.cclass
class Forever(FixedWindows):
    """One window from the epoch on (ever-growing)."""

    def _compute(self, ts: int) -> tuple[int, int]:
        return 0, FOREVER_MS


@cython.no_gc
@cython.cclass
class DayPartition(FixedWindows):
    """The local day from ``anchor_min`` cut every ``step_min`` wall-clock minutes."""

    __slots__ = ("_days", "anchor_min", "step_min", "zone")

    def __init__(self, zone: ZoneInfo, anchor_min: int, step_min: int) -> None:
        super().__init__()
        self.zone = zone
        self.anchor_min = anchor_min
        self.step_min = min(step_min, _DAY_MINUTES)
        self._days: dict[date, list[int]] = {}

    def boundaries(self, day: date) -> list[int]:
        """Instants (ms) of the boundaries of ``day``'s local day, the next day's start last."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        zone = self.zone
        base = datetime(day.year, day.month, day.day) + timedelta(minutes=self.anchor_min)
        following = base + timedelta(days=1)
        day_start = _instant_ms(base, zone, 0)
        day_end = _instant_ms(following, zone, 0)
        instants = {day_start}
        offset = self.step_min
        while offset < _DAY_MINUTES:
            wall = base + timedelta(minutes=offset)
            if wall >= following:
                break
            first = _instant_ms(wall, zone, 0)
            second = _instant_ms(wall, zone, 1)
            if second != first and not self._reads(first, wall):
                # In a spring-forward gap: fold 0 reads the wall with the offset before the
                # change (an instant after the gap), fold 1 with the one after (before it).
                first = self._gap_end(second, first)
            instants.add(first)
            if second != first and self._reads(second, wall):
                instants.add(second)
            offset += self.step_min
        # The anchor's own repeat in a fall-back hour is deliberately not added: a daily reset
        # happens once a day.
        result = sorted(i for i in instants if day_start <= i < day_end)
        result.append(day_end)
        if len(self._days) > 64:
            self._days.clear()
        self._days[day] = result
        return result

    def _gap_end(self, before_ms: int, after_ms: int) -> int:
        """The first instant (ms) with ``after_ms``'s UTC offset: the end of the gap between."""
        offset = datetime.fromtimestamp(after_ms / 1000, self.zone).utcoffset()
        low, high = before_ms, after_ms  # offset differs at low, matches at high
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle / 1000, self.zone).utcoffset() == offset:
                high = middle
            else:
                low = middle
        return high

    def _reads(self, instant_ms: int, wall: datetime) -> bool:
        """True when the local clock at ``instant_ms`` shows ``wall`` (not a time in a gap)."""
        local = datetime.fromtimestamp(instant_ms / 1000, self.zone).replace(tzinfo=None)
        return local == wall

    def local_day(self, ts: int) -> date:
        local = datetime.fromtimestamp(ts / 1000, self.zone)
        minutes = local.hour * 60 + local.minute
        day = local.date()
        if minutes < self.anchor_min:
            day -= timedelta(days=1)
        # Right after a spring-forward gap that swallowed the anchor, the wall clock already
        # shows a later time while the day's start instant is the first one after the gap.
        boundaries = self.boundaries(day)
        if ts < boundaries[0]:
            day -= timedelta(days=1)
        elif ts >= boundaries[-1]:
            day += timedelta(days=1)
        return day

    def _compute(self, ts: int) -> tuple[int, int]:
        boundaries = self.boundaries(self.local_day(ts))
        index = bisect.bisect_right(boundaries, ts) - 1
        return boundaries[index], boundaries[index + 1]


def _minutes(time_of_day: str) -> int:
    hours, minutes = time_of_day.split(":")
    return int(hours) * 60 + int(minutes)


def fixed_windows(profile: TimeProfile, zone: ZoneInfo) -> FixedWindows | None:
    """The window calculator of a growing, selection or ever-growing profile; None otherwise."""
    if isinstance(profile, Growing):
        step = profile.every_hours * 60 if profile.every_hours else _DAY_MINUTES
        return DayPartition(zone, _minutes(profile.reset), step)
    if isinstance(profile, Selection):
        return DayPartition(zone, 0, profile.interval_min)
    if isinstance(profile, EverGrowing):
        return Forever()
    assert isinstance(profile, Sliding | SinceLogin)
    return None
