"""Accumulators of historical statistics, per window: fixed intervals, session or ring buffer.

Cells are runs of ints in one flat array (a list for the status accumulators) so a snapshot is
plain data. An action cell is ``[count, total_ms, in_range, max_ms, min_ms]`` (max/min -1 when
empty); a service-level cell is
``[answered_within, abandoned_within, exceeded, entered, removed_within, answered]``. A fact
lands in the cell of the window holding its attribution instant; one for a later window rolls
the cell over. A fixed tally with a grace keeps the windows closed less than the grace ago in
further slots (newest first), so that late outcomes attributed to them still count there and
their final values can be read; other facts for a window already past are dropped.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Final

from wallboard.stats.definitions import UNSPECIFIED_REASON
from wallboard.stats.windows import FixedWindows

if TYPE_CHECKING:
    from wallboard.stats import _shadow as cython
else:
    try:
        import cython
    except ImportError:  # running as Python without Cython
        from wallboard.stats import _shadow as cython

FIXED: Final = 0
SESSION: Final = 1
RING: Final = 2

ACTION_WIDTH: Final = 5
SL_WIDTH: Final = 6
COUNT, TOTAL, IN_RANGE, MAX, MIN = range(5)
SL_ANSWERED_WITHIN, SL_ABANDONED_WITHIN, SL_EXCEEDED, SL_ENTERED, SL_REMOVED_WITHIN, SL_ANSWERED = (
    range(6)
)
# The same constants for the per-fact code below: compiled, C integers (tallies.pxd), where the
# public names, which other modules import, stay Python attributes (a lookup and a comparison
# of objects each time).
_FIXED: Final = FIXED
_SESSION: Final = SESSION
_ACTION_WIDTH: Final = ACTION_WIDTH
_MAX: Final = MAX
_MIN: Final = MIN
# Compiled, an accumulator of at most this many cells holds them in the object itself
# (``local``, of this size in ``tallies.pxd``) rather than in an array of its own: every fixed or
# session tally and every status-time accumulator. A fact then reads one object, not an object
# and then the buffer it points to (two dependent cache misses at scale, where these objects
# are many and cold).
_INLINE: Final = 8


def empty_cell(width: int) -> list[int]:
    if width == ACTION_WIDTH:
        return [0, 0, 0, -1, -1]
    return [0] * width


def _cells(data: array[int]) -> Any:
    """What the per-fact code updates for an array of cells that never changes size: compiled,
    a C pointer to its buffer (no integer objects); as Python, the array itself.

    Compiled, the array is also taken out of the cyclic garbage collector's view: it refers to
    nothing but its type, so it can never be part of a cycle, and the collector would only walk
    the hundreds of thousands of them on every full collection."""
    if cython.compiled:
        PyObject_GC_UnTrack(data)  # type: ignore[name-defined]  # noqa: F821  (tallies.pxd)
        return cython.cast(cython.p_longlong, cython.cast(cython.Py_ssize_t, data.buffer_info()[0]))
    else:
        return data


def _joined(later: dict[str, int] | None, member: str, t: int) -> dict[str, int]:
    """The members that joined late (``later`` of the status-time accumulators, None while
    empty: a status change then reads no dictionary) with ``member`` joined at ``t``."""
    if later is None:
        later = {}
    later[member] = t
    return later


def _without(later: dict[str, int] | None, member: str) -> dict[str, int] | None:
    """``later`` without ``member``; None once empty."""
    if later is not None:
        later.pop(member, None)
        if not later:
            return None
    return later


@cython.no_gc
@cython.cclass
class Tally:
    """Cells of one accumulator: one flat run of 64-bit integers (``values()``).

    Slot ``i`` occupies ``values()[i * (width + 1)]`` (its window start for fixed and session
    modes, its bucket number for a ring; -1 means none yet, e.g. a session before the first
    login) followed by the ``width`` fields of its cell.

    ``cells`` is what the per-fact code reads and writes: as Python, the array ``data``;
    compiled, a C pointer, so an update is a plain C read and write (no integer objects) — to
    the object's own ``local`` cells when they fit (``_INLINE``; ``data`` is then None), else to
    ``data``'s buffer, which never moves (the array never changes size).
    """

    __slots__ = ("cells", "data", "mode", "refs", "slots", "step_ms", "width")

    def __init__(
        self, mode: int, width: int, step_ms: int, slots: int, data: list[int], refs: int = 0
    ) -> None:
        self.mode = mode
        self.width = width
        self.step_ms = step_ms
        self.slots = slots
        if len(data) != slots * (width + 1):
            raise ValueError(f"a tally of {slots} x {width} has {slots * (width + 1)} values")
        self._hold(data)
        self.refs = refs

    def _hold(self, values: list[int]) -> None:
        """Keep ``values`` as the cells: compiled and few enough, in the object itself."""
        if cython.compiled and len(values) <= _INLINE:
            self.data = None
            cells = cython.address(self.local[0])  # type: ignore[attr-defined]
            for index in range(len(values)):
                cells[index] = values[index]
            self.cells = cells
        else:
            self.data = array("q", values)
            self.cells = _cells(self.data)

    def _like(self, other: Tally) -> None:
        """Take the layout, cells (a copy) and readers of ``other``: what a subscription built
        from a tally does, compiled a C call where ``__init__`` is a Python-level one."""
        self.mode = other.mode
        self.width = other.width
        self.step_ms = other.step_ms
        self.slots = other.slots
        self._hold(other.values())
        self.refs = other.refs

    def values(self) -> list[int]:
        """The cells' values, in order."""
        cells = self.cells
        return [cells[index] for index in range(self.slots * (self.width + 1))]

    def state(self) -> list[Any]:
        return [self.mode, self.width, self.step_ms, self.slots, self.values(), self.refs]

    def clear(self, at: int) -> None:
        """Empty the cell whose fields start at ``at``."""
        cells = self.cells
        for index in range(at, at + self.width):
            cells[index] = 0
        if self.width == _ACTION_WIDTH:
            cells[at + _MAX] = -1
            cells[at + _MIN] = -1

    def cell_at(self, t: int, windows: FixedWindows | None, done: int, grace: int) -> int:
        """Offset in ``data`` of the cell to update for a fact attributed to ``t`` that
        completed at ``done``, or -1 if it is dropped: its window is past and, for fixed
        windows, either closed more than ``grace`` ms before ``done`` or no longer kept."""
        cells = self.cells
        mode = self.mode
        if mode == _FIXED:
            assert windows is not None
            start = windows.lo if windows.lo <= t < windows.hi else windows.start(t)
            if done - grace >= windows.hi:  # (``hi``: the end of ``t``'s window, as ``lo``)
                return -1  # its window closed more than ``grace`` before: its value is final
            current = cells[0]
            if start == current:
                return 1
            if start > current:
                # A later window: the kept ones move back a slot, the oldest leaves.
                self._move_back(0)
                cells[0] = start
                self.clear(1)
                return 1
            return self._closed_cell(start)
        if mode == _SESSION:
            current = cells[0]
            if current < 0 or t < current:
                return -1
            return 1
        bucket = t // self.step_ms
        stride = self.width + 1
        base = (bucket % self.slots) * stride
        current = cells[base]
        if current == bucket:
            return base + 1
        if current > bucket:
            return -1
        cells[base] = bucket
        self.clear(base + 1)
        return base + 1

    def _closed_cell(self, start: int) -> int:
        """The cell of the closed window beginning at ``start`` (slots after the first, newest
        first), taken for it if need be; -1 when it is older than every window kept."""
        if self.slots == 1:
            return -1
        cells = self.cells
        stride = self.width + 1
        for slot in range(1, self.slots):
            base = slot * stride
            kept = cells[base]
            if kept == start:
                return base + 1
            if kept < start:  # (an empty slot holds -1)
                self._move_back(slot)
                cells[base] = start
                self.clear(base + 1)
                return base + 1
        return -1

    def _move_back(self, slot: int) -> None:
        """Move the slots from ``slot`` on back by one; the last one's content leaves."""
        cells = self.cells
        stride = self.width + 1
        index = self.slots * stride - 1
        while index >= (slot + 1) * stride:
            cells[index] = cells[index - stride]
            index -= 1

    def cells_in_window(self, now: int, windows: FixedWindows | None) -> list[list[int]] | None:
        """Copies of the cells making up the window at ``now``; None when the window does not
        exist (a session statistic before the first login)."""
        data, width = self.values(), self.width
        if self.mode == FIXED:
            assert windows is not None
            return self.cells_of(windows.start(now))
        if self.mode == SESSION:
            return None if data[0] < 0 else [data[1 : width + 1]]
        bucket = now // self.step_ms
        oldest = bucket - self.slots
        stride = width + 1
        return [
            data[base + 1 : base + stride]
            for base in range(0, self.slots * stride, stride)
            if oldest < data[base] <= bucket
        ]

    def cells_of(self, start: int) -> list[list[int]]:
        """A fixed tally's cell of the window beginning at ``start``, if it is kept."""
        data, stride = self.values(), self.width + 1
        for base in range(0, self.slots * stride, stride):
            if data[base] == start:
                return [data[base + 1 : base + stride]]
        return []

    def reset_session(self, start: int) -> None:
        self.cells[0] = start
        self.clear(1)


def new_tally(mode: int, width: int, step_ms: int = 0, slots: int = 1) -> Tally:
    return Tally(mode, width, step_ms, slots, [-1, *empty_cell(width)] * slots)


def merge_action_cells(cells: list[list[int]]) -> list[int]:
    merged = empty_cell(ACTION_WIDTH)
    for cell in cells:
        merged[COUNT] += cell[COUNT]
        merged[TOTAL] += cell[TOTAL]
        merged[IN_RANGE] += cell[IN_RANGE]
        if cell[MAX] > merged[MAX]:
            merged[MAX] = cell[MAX]
        if cell[MIN] >= 0 and (merged[MIN] < 0 or cell[MIN] < merged[MIN]):
            merged[MIN] = cell[MIN]
    return merged


def merge_sum_cells(cells: list[list[int]], width: int) -> list[int]:
    merged = [0] * width
    for cell in cells:
        for index in range(width):
            merged[index] += cell[index]
    return merged


@cython.no_gc
@cython.cclass
class StatusTally:
    """Time in a set of statuses within the window, for one agent or a group of agents.

    ``open`` maps each member now in one of the statuses to when it entered it. ``closed`` is
    the time of finished intervals clipped to the window; ``started``/``done``/``dur``/``max``/
    ``min`` describe the intervals that started within the window (``done``: finished ones).
    An interval that ends at the instant it began is none: it is taken back from ``started``.
    """

    __slots__ = ("closed", "done", "dur", "key", "max", "min", "mode", "open", "refs", "started")

    def __init__(
        self,
        mode: int,
        key: int = -1,
        closed: int = 0,
        started: int = 0,
        done: int = 0,
        dur: int = 0,
        max: int = -1,
        min: int = -1,
        open: dict[str, int] | None = None,
        refs: int = 0,
    ) -> None:
        self.mode = mode
        self.key = key
        self.closed = closed
        self.started = started
        self.done = done
        self.dur = dur
        self.max = max
        self.min = min
        self.open = {} if open is None else open
        self.refs = refs

    def state(self) -> list[Any]:
        return [
            self.mode,
            self.key,
            self.closed,
            self.started,
            self.done,
            self.dur,
            self.max,
            self.min,
            self.open,
            self.refs,
        ]

    def roll(self, t: int, windows: FixedWindows | None) -> None:
        if self.mode != _FIXED:
            return
        assert windows is not None
        start = windows.start(t)
        if start > self.key:
            self.key = start
            self.closed = self.started = self.done = self.dur = 0
            self.max = self.min = -1

    def enter(self, member: str, t: int, windows: FixedWindows | None) -> None:
        self.roll(t, windows)
        if self.key >= 0 and t >= self.key:
            self.started += 1
        self.open[member] = t

    def exit(self, member: str, t: int, windows: FixedWindows | None) -> None:
        self.roll(t, windows)
        since = self.open.pop(member, None)
        if since is None or self.key < 0:
            return
        self.closed += t - max(since, self.key)
        if since >= self.key:
            length = t - since
            if length <= 0:
                self.started -= 1  # ended as it began (a login straight into ready): no interval
                return
            self.done += 1
            self.dur += length
            if length > self.max:
                self.max = length
            if self.min < 0 or length < self.min:
                self.min = length

    def reset_session(self, start: int) -> None:
        self.key = start
        self.closed = self.started = self.done = self.dur = 0
        self.max = self.min = -1


# A sliding status tally's cell: the step it holds, then its fields.
RING_STRIDE: Final = 7
R_CLOSED, R_STARTED, R_DONE, R_DUR, R_MAX, R_MIN = range(1, 7)


@cython.no_gc
@cython.cclass
class SlidingStatusTally:
    """Intervals in a set of statuses over the last ``slots`` steps, for one agent or group.

    A ring of per-step cells ``[step, closed, started, done, dur, max, min]`` in one flat list:
    an interval counts in the step in which it began (``started`` at once; ``done``, ``dur``,
    ``max`` and ``min`` when it ends, if that step is still in the ring), and its time is split
    over the steps it overlaps, as in :class:`SlidingStatusTimes`. ``open`` is as in
    :class:`StatusTally`.
    """

    __slots__ = ("data", "mode", "open", "refs", "slots", "step_ms")

    def __init__(
        self,
        step_ms: int,
        slots: int,
        data: list[int],
        open: dict[str, int] | None = None,
        refs: int = 0,
    ) -> None:
        self.step_ms = step_ms
        self.slots = slots
        self.data = data
        self.open = {} if open is None else open
        self.refs = refs
        self.mode = RING

    def state(self) -> list[Any]:
        return [self.step_ms, self.slots, self.data, self.open, self.refs]

    def _cell(self, step: int) -> int:
        """Offset of the cell of ``step`` (taken over from an older step), or -1 when the ring
        already holds a newer step in its place."""
        base = (step % self.slots) * RING_STRIDE
        data = self.data
        current = data[base]
        if current == step:
            return base
        if current > step:
            return -1
        data[base : base + RING_STRIDE] = [step, 0, 0, 0, 0, -1, -1]
        return base

    def enter(self, member: str, t: int, windows: FixedWindows | None) -> None:
        at = self._cell(t // self.step_ms)
        if at >= 0:
            self.data[at + R_STARTED] += 1
        self.open[member] = t

    def exit(self, member: str, t: int, windows: FixedWindows | None) -> None:
        since = self.open.pop(member, None)
        if since is None:
            return
        step, data = self.step_ms, self.data
        first, last = since // step, t // step
        for bucket in range(max(first, last - self.slots + 1), last + 1):
            at = self._cell(bucket)
            if at >= 0:
                data[at + R_CLOSED] += min(t, (bucket + 1) * step) - max(since, bucket * step)
        if first <= last - self.slots:
            return  # began before every window still to be read
        at = self._cell(first)
        if at < 0:
            return
        length = t - since
        if length <= 0:
            data[at + R_STARTED] -= 1  # ended as it began: no interval
            return
        data[at + R_DONE] += 1
        data[at + R_DUR] += length
        if length > data[at + R_MAX]:
            data[at + R_MAX] = length
        low = data[at + R_MIN]
        if low < 0 or length < low:
            data[at + R_MIN] = length

    def summary(self, now: int) -> tuple[int, int, int, int, int, int, int]:
        """(window start, closed, started, done, dur, max, min) of the window at ``now``."""
        last = now // self.step_ms
        oldest = last - self.slots
        closed = started = done = dur = 0
        longest = shortest = -1
        data = self.data
        for base in range(0, len(data), RING_STRIDE):
            if not oldest < data[base] <= last:
                continue
            closed += data[base + R_CLOSED]
            started += data[base + R_STARTED]
            done += data[base + R_DONE]
            dur += data[base + R_DUR]
            longest = max(longest, data[base + R_MAX])
            low = data[base + R_MIN]
            if low >= 0 and (shortest < 0 or low < shortest):
                shortest = low
        return (oldest + 1) * self.step_ms, closed, started, done, dur, longest, shortest

    def roll(self, t: int, windows: FixedWindows | None) -> None:
        return  # a ring rolls step by step as facts reach it

    def reset_session(self, start: int) -> None:
        return


def new_sliding_status_tally(step_ms: int, slots: int) -> SlidingStatusTally:
    return SlidingStatusTally(step_ms, slots, [-1, 0, 0, 0, 0, -1, -1] * slots)


# Agent statuses in a fixed order: the index of a status in ``StatusTimes.closed``.
STATUS_INDEX: Final = {
    status: index
    for index, status in enumerate(
        ("logged_out", "ready", "not_ready", "acw", "ringing", "talking", "held", "busy")
    )
}
NOT_READY_INDEX: Final = STATUS_INDEX["not_ready"]
_NOT_READY: Final = NOT_READY_INDEX  # (as ``_FIXED``)
STATUS_COUNT: Final = len(STATUS_INDEX)
assert STATUS_COUNT <= _INLINE  # (status times hold their cells in themselves, compiled)


@cython.no_gc
@cython.cclass
class StatusTimes:
    """Time per agent status within the window, for one agent or group on one media.

    One accumulator serves every TotalTime statistic of the object on that media and profile,
    whatever its mask: time is additive over statuses and members, so a mask's total is the
    sum of its statuses' ``closed`` times plus the open intervals of members now in them.
    A member's open interval starts when its current status began (``MediaState.since``, kept
    by the engine: no per-member copy here) — or, in ``later``, when it joined the group if
    that was after. A status change costs one update here however many statistics read the
    object.

    ``closed`` is the closed time by status (by ``STATUS_INDEX``); ``cells`` is what a status
    change updates: as Python, the array ``data``; compiled, a C pointer to the object's own
    ``local`` cells (no integer objects, no second object to reach), as in :class:`Tally`.
    """

    __slots__ = ("cells", "data", "key", "later", "mode", "reasons", "refs")

    def __init__(
        self,
        mode: int,
        key: int = -1,
        closed: list[int] | None = None,
        later: dict[str, int] | None = None,
        refs: int = 0,
        reasons: dict[str, int] | None = None,
    ) -> None:
        self.mode = mode
        self.key = key
        if closed is not None and len(closed) != STATUS_COUNT:
            raise ValueError(f"status times hold {STATUS_COUNT} values, not {len(closed)}")
        self._hold([0] * STATUS_COUNT if closed is None else closed)
        self.later = later or None  # (see ``_joined``)
        self.refs = refs
        # Closed not-ready time by reason (None until the first one closes: most agents'
        # share of memory stays small).
        self.reasons = reasons

    def _hold(self, values: list[int]) -> None:
        """Keep ``values`` as the cells: compiled, in the object itself."""
        if cython.compiled:
            self.data = None
            cells = cython.address(self.local[0])  # type: ignore[attr-defined]
            for index in range(STATUS_COUNT):
                cells[index] = values[index]
            self.cells = cells
        else:
            self.data = array("q", values)
            self.cells = self.data

    def state(self) -> list[Any]:
        later = {} if self.later is None else self.later
        return [self.mode, self.key, self.closed, later, self.refs, self.reasons]

    @property
    def closed(self) -> list[int]:
        """Closed time by status (``STATUS_INDEX``) in the current window."""
        return [self.cells[index] for index in range(STATUS_COUNT)]

    def change(
        self,
        member: str,
        index: int,
        old_reason: str | None,
        since: int,
        t: int,
        windows: FixedWindows | None,
    ) -> None:
        """``member`` leaves the status of ``STATUS_INDEX`` ``index`` (-1: none yet), begun at
        ``since`` with ``old_reason``, and enters another at ``t``."""
        key = self.key
        if self.mode == _FIXED:
            assert windows is not None
            start = windows.lo if windows.lo <= t < windows.hi else windows.start(t)
            if start > key:
                key = self.key = start
                self._clear()
        later = self.later
        if later is not None:
            joined = later.get(member)
            self.later = _without(later, member)
            if joined is not None and joined > since:
                since = joined
        if index < 0 or key < 0:
            return
        spent = t - (since if since > key else key)
        self.cells[index] += spent
        if index == _NOT_READY:
            reasons = self.reasons
            if reasons is None:
                reasons = self.reasons = {}
            reason = UNSPECIFIED_REASON if old_reason is None else old_reason
            reasons[reason] = reasons.get(reason, 0) + spent

    def enter(self, member: str, t: int, windows: FixedWindows | None) -> None:
        """``member`` (in a status begun before ``t``) becomes counted at ``t`` (joins)."""
        self.roll(t, windows)
        self.later = _joined(self.later, member, t)

    def exit(
        self,
        member: str,
        old: str,
        old_reason: str | None,
        since: int,
        t: int,
        windows: FixedWindows | None,
    ) -> None:
        """``member`` (in status ``old`` since ``since``) stops being counted at ``t``."""
        self.change(member, STATUS_INDEX.get(old, -1), old_reason, since, t, windows)
        self.later = _without(self.later, member)

    def counted_from(self, member: str, since: int) -> int:
        """When ``member``'s open interval (its status begun at ``since``) started counting."""
        joined = None if self.later is None else self.later.get(member)
        return since if joined is None or joined < since else joined

    def roll(self, t: int, windows: FixedWindows | None) -> None:
        if self.mode == _FIXED:
            assert windows is not None
            start = windows.start(t)
            if start > self.key:
                self.key = start
                self._clear()

    def reset_session(self, start: int) -> None:
        self.key = start
        self._clear()

    def _clear(self) -> None:
        cells = self.cells
        for index in range(STATUS_COUNT):
            cells[index] = 0
        self.reasons = None


@cython.no_gc
@cython.cclass
class SlidingStatusTimes:
    """Time in a set of agent statuses over the last ``slots`` steps, for one agent or group.

    A ring of per-step totals: a finished interval is split over the steps it overlaps (at
    most ``slots`` of them, older parts being out of every later window); open intervals are
    as in :class:`StatusTimes` (from the member's status start, or ``later``). Not-ready time
    is also kept per reason when the mask holds ``not_ready``. Only a change out of a status
    of the mask needs a call (the engine routes by status).
    """

    __slots__ = (
        "bits",
        "buckets",
        "key",
        "later",
        "mask",
        "mode",
        "reasons",
        "refs",
        "slots",
        "step_ms",
        "totals",
    )

    def __init__(
        self,
        step_ms: int,
        slots: int,
        mask: tuple[str, ...],
        buckets: list[int],
        totals: list[int],
        later: dict[str, int] | None = None,
        reasons: dict[str, list[int]] | None = None,
        refs: int = 0,
    ) -> None:
        self.step_ms = step_ms
        self.slots = slots
        self.mask = tuple(mask)
        # The mask as bits by ``STATUS_INDEX`` (what the engine tests on a status change; an
        # agent's status is always one of those).
        self.bits = sum(1 << STATUS_INDEX[s] for s in set(self.mask) if s in STATUS_INDEX)
        self.buckets = buckets
        self.totals = totals
        self.later = later or None  # (see ``_joined``)
        self.reasons = reasons
        self.refs = refs
        self.mode = RING
        self.key = 0

    def state(self) -> list[Any]:
        return [
            self.step_ms,
            self.slots,
            list(self.mask),
            self.buckets,
            self.totals,
            {} if self.later is None else self.later,
            self.reasons,
            self.refs,
        ]

    def _slot(self, bucket: int) -> int:
        slot = bucket % self.slots
        current = self.buckets[slot]
        if current == bucket:
            return slot
        if current > bucket:
            return -1
        self.buckets[slot] = bucket
        self.totals[slot] = 0
        if self.reasons is not None:
            for per_slot in self.reasons.values():
                per_slot[slot] = 0
        return slot

    def change(
        self,
        member: str,
        old: str,
        old_reason: str | None,
        since: int,
        t: int,
        windows: FixedWindows | None,
    ) -> None:
        """``member`` leaves status ``old`` (begun at ``since``) at ``t``."""
        later = self.later
        if later is not None:
            joined = later.get(member)
            self.later = _without(later, member)
            if joined is not None and joined > since:
                since = joined
        if old not in self.mask or t <= since:
            return
        step = self.step_ms
        last = t // step
        per_reason: list[int] | None = None
        if old == "not_ready":
            reasons = self.reasons
            if reasons is None:
                reasons = self.reasons = {}
            reason = UNSPECIFIED_REASON if old_reason is None else old_reason
            per_reason = reasons.get(reason)
            if per_reason is None:
                per_reason = reasons[reason] = [0] * self.slots
        slots, buckets, totals = self.slots, self.buckets, self.totals
        for bucket in range(max(since // step, last - slots + 1), last + 1):
            slot = bucket % slots
            if buckets[slot] != bucket:  # the usual case inlined: the step's slot is current
                slot = self._slot(bucket)
                if slot < 0:
                    continue
            spent = min(t, (bucket + 1) * step) - max(since, bucket * step)
            totals[slot] += spent
            if per_reason is not None:
                per_reason[slot] += spent

    def enter(self, member: str, t: int, windows: FixedWindows | None) -> None:
        self.later = _joined(self.later, member, t)

    def exit(
        self,
        member: str,
        old: str,
        old_reason: str | None,
        since: int,
        t: int,
        windows: FixedWindows | None,
    ) -> None:
        self.change(member, old, old_reason, since, t, windows)
        self.later = _without(self.later, member)

    def counted_from(self, member: str, since: int) -> int:
        joined = None if self.later is None else self.later.get(member)
        return since if joined is None or joined < since else joined

    def roll(self, t: int, windows: FixedWindows | None) -> None:
        return  # a ring rolls slot by slot as facts and reads reach them

    def reset_session(self, start: int) -> None:
        return

    def window_start(self, now: int) -> int:
        return (now // self.step_ms - self.slots + 1) * self.step_ms

    def closed_in_window(self, now: int) -> tuple[int, dict[str, int]]:
        """Closed time in the window at ``now`` and its not-ready part by reason."""
        last = now // self.step_ms
        oldest = last - self.slots
        inside = [slot for slot, bucket in enumerate(self.buckets) if oldest < bucket <= last]
        total = sum(self.totals[slot] for slot in inside)
        by_reason: dict[str, int] = {}
        for reason, per_slot in (self.reasons or {}).items():
            spent = sum(per_slot[slot] for slot in inside)
            if spent:
                by_reason[reason] = spent
        return total, by_reason


def new_sliding_status_times(step_ms: int, slots: int, mask: tuple[str, ...]) -> SlidingStatusTimes:
    return SlidingStatusTimes(step_ms, slots, mask, [-1] * slots, [0] * slots)


AnyTally = Tally | StatusTally | SlidingStatusTally | StatusTimes | SlidingStatusTimes

# How a snapshot names each kind of accumulator; its state is the list of ``state()``, which is
# also the order of the constructor's parameters.
TALLY_KINDS: Final[dict[str, type[AnyTally]]] = {
    "action": Tally,
    "status": StatusTally,
    "sliding_status": SlidingStatusTally,
    "times": StatusTimes,
    "sliding": SlidingStatusTimes,
}
_KIND_OF: Final = {cls: kind for kind, cls in TALLY_KINDS.items()}


def tally_record(tally: AnyTally) -> tuple[str, list[Any]]:
    """(kind, state) of an accumulator, as a snapshot keeps it."""
    kind = _KIND_OF.get(type(tally))
    if kind is None and isinstance(tally, Tally):
        kind = "action"  # (a subclass: the engine's subscriptions are their tallies)
    if kind is None:
        raise TypeError(f"not an accumulator: {type(tally).__name__}")
    return kind, tally.state()


# The number of fields of each kind's ``state()`` (the same for every accumulator of a kind),
# noted as accumulators are restored: a restore of a million need not build each one's state.
_KEPT: Final[dict[str, int]] = {}


def tally_from_record(kind: str, state: list[Any]) -> AnyTally:
    """The accumulator a snapshot's (kind, state) describes."""
    cls = TALLY_KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown accumulator kind {kind!r}")
    try:
        tally = cls(*state)
    except (TypeError, OverflowError) as exc:
        raise ValueError(f"{kind} accumulator state {state!r} does not fit: {exc}") from None
    kept = _KEPT.get(kind)
    if kept is None:
        kept = _KEPT[kind] = len(tally.state())
    if kept != len(state):
        raise ValueError(
            f"{kind} accumulator state {state!r} does not fit: "
            f"{len(state)} fields where {kept} are kept"
        )
    return tally
