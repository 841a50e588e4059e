"""Intraday arrival profiles: how the arrival rate of a queue varies over the day.

A profile is a list of consecutive intervals of the day (UTC time of day) with relative weights,
normalised so that their mean is 1: a queue with ``per_hour: 120`` and a profile gets, in each
interval, 120 x weight calls per hour on average, and none outside the profile's span (the
center is closed). Profiles come from inline weights or from a CSV of real arrival counts such
as ``bank_calls_2003.csv`` (``DateTime,Calls`` rows, 5-minute intervals).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from pathlib import Path

from wallboard.core.errors import InvalidInput
from wallboard.inputs import read_text
from wallboard.sim.scenario import Profile

MS_PER_DAY = 86_400_000


class ArrivalProfile:
    """Weights of consecutive intervals of a day, normalised to mean 1 over the covered span."""

    __slots__ = ("interval_ms", "start_ms", "weights")

    def __init__(self, start_ms: int, interval_ms: int, weights: list[float]) -> None:
        if interval_ms <= 0:
            raise InvalidInput("a profile interval must be longer than 0", field="interval")
        if not weights or not any(w > 0 for w in weights) or any(w < 0 for w in weights):
            raise InvalidInput("a profile needs weights ≥ 0, one above 0", field="weights")
        if start_ms < 0 or start_ms + interval_ms * len(weights) > MS_PER_DAY:
            raise InvalidInput("a profile must fit in one day", field="weights")
        mean = sum(weights) / len(weights)
        self.start_ms = start_ms
        self.interval_ms = interval_ms
        self.weights = [w / mean for w in weights]

    def segments(self) -> list[tuple[int, int, float]]:
        """``(start, end, weight)`` in ms of the day, covering the whole day (zero outside)."""
        out: list[tuple[int, int, float]] = []
        if self.start_ms > 0:
            out.append((0, self.start_ms, 0.0))
        t = self.start_ms
        for weight in self.weights:
            out.append((t, t + self.interval_ms, weight))
            t += self.interval_ms
        if t < MS_PER_DAY:
            out.append((t, MS_PER_DAY, 0.0))
        return out

    def weight_at(self, ms_of_day: int) -> float:
        index = (ms_of_day - self.start_ms) // self.interval_ms
        if ms_of_day < self.start_ms or index >= len(self.weights):
            return 0.0
        return self.weights[index]


MAX_COUNT = 1_000_000_000
"""Largest count of one row."""


def read_counts_csv(path: str | Path) -> list[tuple[dt.datetime, int]]:
    """Read ``DateTime,Calls`` rows (ISO date-times, UTC); errors name the line and column.
    The file is read up to :data:`~wallboard.inputs.MAX_FILE_BYTES`, never further."""
    file = Path(path)
    text = read_text(file, "profile CSV")
    rows: list[tuple[dt.datetime, int]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["DateTime", "Calls"]:
            raise InvalidInput(
                f"{file}: line 1: expected the header DateTime,Calls", file=str(file), line=1
            )
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            rows.append((_when(file, number, row), _count(file, number, row)))
    except csv.Error as exc:
        raise InvalidInput(f"{file}: not a CSV file: {exc}", file=str(file)) from None
    if not rows:
        raise InvalidInput(f"{file}: no rows", file=str(file))
    return rows


def _when(file: Path, number: int, row: list[str]) -> dt.datetime:
    if len(row) < 2:
        raise InvalidInput(
            f"{file}: line {number}: expected DateTime,Calls", file=str(file), line=number
        )
    try:
        when = dt.datetime.fromisoformat(row[0].strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{file}: line {number}: DateTime {row[0][:40]!r} is not an ISO date-time",
            file=str(file),
            line=number,
            field="DateTime",
        ) from None
    # Times without an offset are UTC; with one, they are turned into UTC (the two never mix).
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _count(file: Path, number: int, row: list[str]) -> int:
    text = row[1].strip()
    calls = int(text) if text.isdigit() and len(text) <= 10 else -1
    if not 0 <= calls <= MAX_COUNT:
        raise InvalidInput(
            f"{file}: line {number}: Calls {row[1][:40]!r} is not a count (0 to {MAX_COUNT:,})",
            file=str(file),
            line=number,
            field="Calls",
        )
    return calls


def profile_from_counts(
    rows: list[tuple[dt.datetime, int]], *, date: dt.date | None = None
) -> ArrivalProfile:
    """Average the counts by time of day (over every day, or only ``date``) into a profile.

    The interval is the smallest step between consecutive rows of one day; times of day the
    data never covers get weight 0.
    """
    if date is not None:
        rows = [r for r in rows if r[0].date() == date]
        if not rows:
            raise InvalidInput(f"no rows on {date.isoformat()}", field="date")
    by_time: dict[int, list[int]] = defaultdict(list)
    steps: set[int] = set()
    previous: dt.datetime | None = None
    for when, calls in rows:
        ms = ((when.hour * 60 + when.minute) * 60 + when.second) * 1000
        by_time[ms].append(calls)
        if previous is not None and previous.date() == when.date() and when > previous:
            steps.add(int((when - previous).total_seconds() * 1000))
        previous = when
    interval = min(steps) if steps else 300_000
    if interval < 60_000:
        raise InvalidInput("profile rows must be at least a minute apart", field="DateTime")
    first, last = min(by_time), max(by_time)
    weights: list[float] = []
    for t in range(first, last + interval, interval):
        counts = by_time.get(t)
        weights.append(sum(counts) / len(counts) if counts else 0.0)
    return ArrivalProfile(first, interval, weights)


def build_profile(spec: Profile, base_dir: str = ".") -> ArrivalProfile:
    """The profile a scenario describes, reading its CSV if it names one."""
    if spec.csv is not None:
        path = Path(spec.csv)
        if not path.is_absolute():
            path = Path(base_dir) / path
        return profile_from_counts(read_counts_csv(path), date=spec.date)
    assert spec.weights is not None  # check_scenario guarantees one of csv and weights
    hours, minutes = (int(p) for p in spec.start.split(":"))
    return ArrivalProfile(
        (hours * 60 + minutes) * 60_000, spec.interval_minutes * 60_000, list(spec.weights)
    )
