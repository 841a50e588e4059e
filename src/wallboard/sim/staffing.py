"""Staffing a group to an arrival profile: agents needed per interval, covered by shifts.

In each interval of a profile, a group needs the agents Erlang C says answer ``service_level``
of its contacts within ``threshold`` seconds at that interval's arrival rate (a chat or email
agent counts as as many servers as the contacts it takes at once), raised for the time agents
spend on breaks and not ready (``shrinkage``). Shifts of one length, starting on interval
boundaries, then cover that requirement: the fewest shifts whose agents meet it in every
interval (taken greedily from the first interval, which is optimal for shifts of one length).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from wallboard.core.errors import InvalidInput
from wallboard.sim.erlang import erlang_c
from wallboard.sim.scenario import Queue, Shift


@dataclass(frozen=True)
class Workload:
    """Contacts a group answers: a mean rate shaped by per-interval weights (mean 1)."""

    per_hour: float
    handle_seconds: float
    weights: Sequence[float]
    threshold_seconds: float = 20.0
    servers_per_agent: int = 1

    @classmethod
    def of(
        cls,
        queue: Queue,
        weights: Sequence[float],
        *,
        threshold_seconds: float = 20.0,
        servers_per_agent: int = 1,
    ) -> Workload:
        """A queue's arrivals and the time an agent spends per contact: ringing or acceptance,
        handling, hold and after-call work, at their means."""
        if queue.arrivals is None:
            raise InvalidInput(f"queue {queue.id!r} has no arrivals to staff for", field="queue")
        seconds = queue.handle_time.mean
        for part in (queue.answer_delay, queue.after_call_work):
            seconds += part.mean if part is not None else 0.0
        if queue.hold is not None:
            seconds += queue.hold.probability * queue.hold.duration.mean
        return cls(
            per_hour=queue.arrivals.per_hour,
            handle_seconds=seconds,
            weights=weights,
            threshold_seconds=threshold_seconds,
            servers_per_agent=servers_per_agent,
        )


def agents_needed(
    per_hour: float, handle_seconds: float, *, service_level: float, threshold_seconds: float
) -> int:
    """The fewest servers that answer ``service_level`` within the threshold (M/M/N)."""
    if per_hour <= 0:
        return 0
    servers = math.floor(per_hour * handle_seconds / 3600.0) + 1
    while (
        erlang_c(
            agents=servers,
            calls_per_hour=per_hour,
            aht_seconds=handle_seconds,
            threshold_seconds=threshold_seconds,
        ).service_level
        < service_level
    ):
        servers += 1
    return servers


def requirement(
    workloads: Sequence[Workload], *, service_level: float = 0.8, shrinkage: float = 0.15
) -> list[int]:
    """Agents a group needs on shift in each interval, for all of its workloads."""
    if not 0 < service_level < 1 or not 0 <= shrinkage < 1:
        raise InvalidInput("service level in (0, 1) and shrinkage in [0, 1)", field="staffing")
    intervals = {len(w.weights) for w in workloads}
    if len(intervals) != 1:
        raise InvalidInput("staff workloads with profiles of the same intervals", field="weights")
    need: list[int] = []
    for i in range(intervals.pop()):
        working = sum(
            math.ceil(
                agents_needed(
                    w.per_hour * w.weights[i],
                    w.handle_seconds,
                    service_level=service_level,
                    threshold_seconds=w.threshold_seconds,
                )
                / w.servers_per_agent
            )
            for w in workloads
        )
        need.append(math.ceil(working / (1 - shrinkage)))
    return need


def cover(need: Sequence[int], length: int) -> list[tuple[int, int]]:
    """``(first interval, agents)`` of shifts ``length`` intervals long, all within ``need``'s
    span, whose agents meet ``need`` in every interval: the fewest such agents."""
    if not 0 < length <= len(need):
        raise InvalidInput(f"a shift of {length} intervals does not fit", field="length")
    on = [0] * len(need)
    starts: dict[int, int] = {}
    for i, wanted in enumerate(need):
        short = wanted - on[i]
        if short > 0:
            # The last shifts of the day start early enough to end with the span.
            first = min(i, len(need) - length)
            starts[first] = starts.get(first, 0) + short
            for j in range(first, first + length):
                on[j] += short
    return sorted(starts.items())


def staggered_shifts(
    need: Sequence[int],
    *,
    interval_hours: float,
    shift_hours: float,
    offset_hours: float = 0.0,
    login_spread: float = 0.0,
) -> list[Shift]:
    """The shifts of :func:`cover` as a group's ``shifts``; ``offset_hours`` is when the first
    interval starts, in hours after the scenario's start."""
    length = round(shift_hours / interval_hours)
    return [
        Shift(
            start=offset_hours + first * interval_hours,
            end=offset_hours + first * interval_hours + shift_hours,
            login_spread=login_spread,
            agents=agents,
        )
        for first, agents in cover(need, length)
    ]
