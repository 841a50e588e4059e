"""Interval reports: per queue and per agent, a row per interval and a total row, read from
the statistics engine's intervals (outcomes attributed to the contact's entry by default).

Pure like the rest of ``wallboard.stats``: events in, tables out; ``wallboard report``
(``wallboard.report_cli``) reads the file and prints them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any, Final

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event, UnknownEvent
from wallboard.stats.definitions import (
    DefinitionSet,
    Selection,
    StatisticDefinition,
    decode_definitions,
)
from wallboard.stats.engine import Reading, StatisticsEngine
from wallboard.stats.state import ObjectConfig

INTERVALS_MIN: Final = (15, 30, 60)
DEFAULT_THRESHOLD_S: Final = 20.0
_VOICE: Final = {"media": ["voice"]}
_INBOUND_VOICE: Final = {"media": ["voice"], "direction": ["inbound"]}
# Refusals by reason and diversions by cause, grouped as the standard library does (a
# diversion of another cause, e.g. a key pressed or a routing, is in ``diverted_other``).
REFUSAL_COLUMNS: Final = {
    "closed": ["closed"],
    "full": ["full"],
    "no_agents": ["join_empty", "join_unavailable", "no_agents"],
}
DIVERSION_COLUMNS: Final = {
    "timeout": ["timeout"],
    "on_load": ["calls_per_agent", "expected_wait"],
    "no_agents": ["leave_empty"],
}

# The report's statistics (the profile is set to the report's interval). Actions are
# attributed to the contact's entry into the queue; waits and talk are the durations the
# platform reported where it did (queue_log's holdtime, waittime, calltime), else measured;
# an agent's statuses are voice.
_QUEUE_STATISTICS: Final[list[dict[str, Any]]] = [
    {"id": "report.queue.entered", "category": "TotalNumber", "mask": ["entered"]},
    {"id": "report.queue.refused", "category": "TotalNumber", "mask": ["refused"]},
    *(
        {"id": f"report.queue.refused_{name}", "category": "TotalNumber", "mask": ["refused"],
         "filter": {**_VOICE, "refusal_reasons": reasons}}
        for name, reasons in REFUSAL_COLUMNS.items()
    ),
    {"id": "report.queue.diverted", "category": "TotalNumber", "mask": ["diverted"]},
    *(
        {"id": f"report.queue.diverted_{name}", "category": "TotalNumber", "mask": ["diverted"],
         "filter": {**_VOICE, "diversion_causes": causes}}
        for name, causes in DIVERSION_COLUMNS.items()
    ),
    {"id": "report.queue.answered", "category": "AverageTime", "mask": ["answered"],
     "durations": "reported", "description": "Answered calls and their wait"},
    {"id": "report.queue.abandoned", "category": "AverageTime", "mask": ["abandoned"],
     "durations": "reported", "description": "Abandoned calls and their wait"},
    {"id": "report.queue.talk", "category": "AverageTime", "mask": ["released"],
     "durations": "reported",
     "description": "Calls answered from the queue that ended, answer to release"},
    {"id": "report.queue.answered_within_threshold", "category": "TotalNumberInTimeRange",
     "mask": ["answered"], "time_range": {"from_s": 0, "to_s": DEFAULT_THRESHOLD_S},
     "durations": "reported"},
    {"id": "report.queue.service_level", "category": "ServiceFactor", "mask": ["answered"],
     "service_level": {"threshold_s": DEFAULT_THRESHOLD_S}, "durations": "reported"},
]  # fmt: skip
_AGENT_STATISTICS: Final[list[dict[str, Any]]] = [
    {"id": "report.agent.answered", "category": "TotalNumber", "mask": ["answered"],
     "filter": _INBOUND_VOICE},
    {"id": "report.agent.talk", "category": "AverageTime", "mask": ["released"],
     "filter": _INBOUND_VOICE, "durations": "reported",
     "description": "Answered calls that ended, answer to release"},
    {"id": "report.agent.acw_time", "category": "TotalTime", "mask": ["acw"]},
    {"id": "report.agent.login_time", "category": "TotalTime",
     "mask": ["ready", "not_ready", "acw", "ringing", "talking", "held"]},
    {"id": "report.agent.pause_time", "category": "TotalTime", "mask": ["not_ready"],
     "breakdown": "reason"},
]  # fmt: skip
# What each statistic adds to an interval's sums: ("count", key) its value; ("average", count
# key, total key) its denominator and numerator; ("ratio", numerator key, denominator key);
# ("breakdown", total key) its total, and its reasons to the pause by reason.
_SUMS: Final[dict[str, tuple[str, ...]]] = {
    "report.queue.entered": ("count", "entered"),
    "report.queue.refused": ("count", "refused"),
    "report.queue.diverted": ("count", "diverted"),
    **{f"report.queue.refused_{n}": ("count", f"refused_{n}") for n in REFUSAL_COLUMNS},
    **{f"report.queue.diverted_{n}": ("count", f"diverted_{n}") for n in DIVERSION_COLUMNS},
    "report.queue.answered": ("average", "answered", "wait_ms"),
    "report.queue.abandoned": ("average", "abandoned", "abandon_ms"),
    "report.queue.talk": ("average", "handled", "talk_ms"),
    "report.queue.answered_within_threshold": ("count", "answered_within"),
    "report.queue.service_level": ("ratio", "sl_numerator", "sl_denominator"),
    "report.agent.answered": ("count", "answered"),
    "report.agent.talk": ("average", "handled", "talk_ms"),
    "report.agent.acw_time": ("count", "acw_ms"),
    "report.agent.login_time": ("count", "login_ms"),
    "report.agent.pause_time": ("breakdown", "pause_ms"),
}
# The statistics whose definition depends on the queue's threshold.
_THRESHOLDED: Final = ("report.queue.answered_within_threshold", "report.queue.service_level")


def report_definitions(
    interval_min: int, overrides: DefinitionSet | None = None
) -> dict[str, StatisticDefinition]:
    """The report's statistics by id for ``interval_min``-minute intervals: attributed to the
    entry, every profile a selection of the interval. ``overrides`` replace the report's own
    of the same id (another attribution, grace or service-level type); other ids are refused."""
    if interval_min not in INTERVALS_MIN:
        raise InvalidInput(
            f"--interval: {interval_min} min is not one of {', '.join(map(str, INTERVALS_MIN))}",
            field="interval",
        )
    items = [
        {"object": object_type, "attribution": "entered", "filter": _VOICE, **item}
        for object_type, statistics in (("queue", _QUEUE_STATISTICS), ("agent", _AGENT_STATISTICS))
        for item in statistics
    ]
    by_id = {d.id: d for d in decode_definitions(items)}
    for d in overrides or ():
        own = by_id.get(d.id)
        if own is None:
            raise InvalidInput(
                f"--definitions: {d.id} is not one of the report's statistics "
                f"({', '.join(sorted(by_id))})",
                field="definitions",
            )
        if d.object is not own.object or d.category is not own.category:
            raise InvalidInput(
                f"--definitions: {d.id} must stay a {own.category} of {own.object}",
                field="definitions",
            )
        by_id[d.id] = d
    profile = Selection(interval_min=interval_min)
    return {stat_id: msgspec.structs.replace(d, profile=profile) for stat_id, d in by_id.items()}


def _with_threshold(d: StatisticDefinition, threshold_s: float) -> StatisticDefinition:
    """``d`` (one of ``_THRESHOLDED``) for a queue whose threshold is ``threshold_s``."""
    replace = msgspec.structs.replace
    if d.time_range is not None:
        d = replace(d, time_range=replace(d.time_range, to_s=threshold_s))
    if d.service_level is not None:
        d = replace(d, service_level=replace(d.service_level, threshold_s=threshold_s))
    suffix = f"{threshold_s:g}".replace(".", "_")
    return replace(d, id=f"{d.id}.t{suffix}")


class IntervalSums(msgspec.Struct):
    """What one interval (or the total) of one object adds up: counts, and times in ms."""

    values: dict[str, int] = {}
    pause_by_reason: dict[str, int] = {}

    def add(self, key: str, amount: float | None) -> None:
        if amount:
            self.values[key] = self.values.get(key, 0) + round(amount)

    def add_reading(self, stat_id: str, reading: Reading) -> None:
        how = _SUMS.get(stat_id) or _SUMS[stat_id.rsplit(".", 1)[0]]
        value = reading.value
        if how[0] == "count":
            self.add(how[1], value if isinstance(value, int | float) else None)
        elif how[0] == "average":
            self.add(how[1], reading.denominator)
            self.add(how[2], reading.numerator)
        elif how[0] == "ratio":
            self.add(how[1], reading.numerator)
            self.add(how[2], reading.denominator)
        else:
            self.add(how[1], reading.numerator)
            for reason, spent in value.items() if isinstance(value, dict) else ():
                self.pause_by_reason[reason] = self.pause_by_reason.get(reason, 0) + spent

    def merge(self, other: IntervalSums) -> None:
        for key, amount in other.values.items():
            self.add(key, amount)
        for reason, spent in other.pause_by_reason.items():
            self.pause_by_reason[reason] = self.pause_by_reason.get(reason, 0) + spent


def _ratio(top: int, bottom: int) -> float | None:
    return None if not bottom else top / bottom


def _percent(top: int, bottom: int) -> float | None:
    return None if not bottom else round(100.0 * top / bottom, 1)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 1)


def queue_columns(sums: IntervalSums, threshold_s: float) -> dict[str, Any]:
    """The queue report's columns from an interval's (or the total's) sums; times in s."""
    v = sums.values.get
    entered, refused, diverted = v("entered", 0), v("refused", 0), v("diverted", 0)
    received = entered + refused
    answered, abandoned, handled = v("answered", 0), v("abandoned", 0), v("handled", 0)
    by_cause = {f"diverted_{n}": v(f"diverted_{n}", 0) for n in DIVERSION_COLUMNS}
    return {
        "received": received,
        "entered": entered,
        "answered": answered,
        "abandoned": abandoned,
        "refused": refused,
        **{f"refused_{n}": v(f"refused_{n}", 0) for n in REFUSAL_COLUMNS},
        "diverted": diverted,
        **by_cause,
        "diverted_other": diverted - sum(by_cause.values()),
        "threshold_s": threshold_s,
        "answered_within_threshold": v("answered_within", 0),
        "service_level_pct": _percent(v("sl_numerator", 0), v("sl_denominator", 0)),
        "answered_rate_pct": _percent(answered, received),
        "abandon_rate_pct": _percent(abandoned, entered),
        "average_wait_answered_s": _seconds(_ratio(v("wait_ms", 0), answered)),
        "average_abandon_time_s": _seconds(_ratio(v("abandon_ms", 0), abandoned)),
        "handled": handled,
        "average_talk_s": _seconds(_ratio(v("talk_ms", 0), handled)),
    }


def agent_columns(sums: IntervalSums) -> dict[str, Any]:
    """The agent report's columns from an interval's (or the total's) sums; times in s."""
    v = sums.values.get
    handled = v("handled", 0)
    return {
        "answered": v("answered", 0),
        "handled": handled,
        "talk_time_s": _seconds(v("talk_ms", 0)),
        "average_talk_s": _seconds(_ratio(v("talk_ms", 0), handled)),
        "acw_time_s": _seconds(v("acw_ms", 0)),
        "login_time_s": _seconds(v("login_ms", 0)),
        "pause_time_s": _seconds(v("pause_ms", 0)),
        "pause_by_reason_s": {
            reason: _seconds(spent) for reason, spent in sorted(sums.pause_by_reason.items())
        },
    }


class ObjectReport(msgspec.Struct):
    """One object's rows (``start``, ``end`` in ms, then the columns) and its total row."""

    intervals: list[dict[str, Any]]
    total: dict[str, Any]


class Report(msgspec.Struct):
    """tenant → ``queue``/``agent`` → object id → its rows and total."""

    interval_min: int
    time_zone: str
    tenants: dict[str, dict[str, dict[str, ObjectReport]]]
    anomalies: dict[str, int]


def interval_report(
    events: Iterable[Event | UnknownEvent],
    *,
    interval_min: int,
    from_ms: int | None = None,
    to_ms: int | None = None,
    time_zone: str = "UTC",
    objects: Mapping[str, ObjectConfig] | None = None,
    overrides: DefinitionSet | None = None,
) -> Report:
    """Replay ``events`` (sorted by time here: a file's rows may be out of order) and read
    each interval of ``[from_ms, to_ms)`` (default: the intervals holding the events) of every
    queue and agent once it is final: status times at the interval's end, actions once the
    grace for late outcomes is over (or after the last event).

    A queue's service-level threshold is its ``threshold_s`` in ``objects``, default 20 s.
    Objects in ``objects`` are shown even when nothing happened; others once something did
    (a chat queue has nothing in a voice report).
    """
    definitions = report_definitions(interval_min, overrides)
    ordered = sorted(events, key=lambda event: event.ts)
    timed = [e for e in ordered if isinstance(e, Event)]
    if not timed:
        raise InvalidInput("no events to report on", field="events")
    low = timed[0].ts if from_ms is None else from_ms
    high = timed[-1].ts + 1 if to_ms is None else to_ms
    if high <= low:
        raise InvalidInput("--to must be after --from", field="to")
    threshold_of = {
        (tenant, queue): config.threshold_s
        for tenant, tenant_config in (objects or {}).items()
        for queue, config in tenant_config.queues.items()
        if config.threshold_s is not None
    }
    everything = dict(definitions)
    for threshold in {DEFAULT_THRESHOLD_S, *threshold_of.values()}:
        for stat_id in _THRESHOLDED:
            variant = _with_threshold(definitions[stat_id], threshold)
            everything[variant.id] = variant
    engine = StatisticsEngine(DefinitionSet(list(everything.values())), default_time_zone=time_zone)
    for tenant, config in (objects or {}).items():
        engine.set_objects(tenant, config, ts_ms=0)
    opened: dict[tuple[str, str, str], list[str]] = {}

    def ensure_open(tenant: str, object_type: str, object_id: str) -> None:
        key = (tenant, object_type, object_id)
        if key in opened:
            return
        ids = [i for i in definitions if i.startswith(f"report.{object_type}.")]
        threshold = threshold_of.get((tenant, object_id), DEFAULT_THRESHOLD_S)
        opened[key] = [
            _with_threshold(definitions[i], threshold).id if i in _THRESHOLDED else i for i in ids
        ]
        for stat_id in opened[key]:
            engine.open(tenant, object_type, object_id, stat_id)

    for tenant, config in (objects or {}).items():
        for queue in config.queues:
            ensure_open(tenant, "queue", queue)
        for group in config.agent_groups.values():
            for agent in group.agents:
                ensure_open(tenant, "agent", agent)
    named = set(opened)  # shown even when empty
    # Each tenant's intervals, and the moments they are read: (time, tenant, index, delay) —
    # a statistic is final ``delay`` after the interval's end: statuses at once, actions once
    # the grace for late outcomes is over.
    tenants = sorted({e.tenant for e in timed} | set(objects or {}))
    any_stat = next(iter(definitions))
    bounds = {tenant: engine.interval_bounds(tenant, any_stat, low, high) for tenant in tenants}
    delay = {i: 0 if d.is_status else d.grace_ms for i, d in everything.items()}
    moments = [
        (end + wait, tenant, index, wait)
        for tenant in tenants
        for index, (_, end) in enumerate(bounds[tenant])
        for wait in set(delay.values())
    ]
    heapq.heapify(moments)
    sums: dict[tuple[str, str, str], list[IntervalSums]] = {}

    def read(now: int, tenant: str, index: int, wait: int) -> None:
        start = bounds[tenant][index][0]
        for key, stat_ids in opened.items():
            if key[0] != tenant:
                continue
            rows = sums.get(key)
            if rows is None:
                rows = sums[key] = [IntervalSums({}, {}) for _ in bounds[tenant]]
            for stat_id in stat_ids:
                if delay[stat_id] == wait:
                    reading = engine.reading(*key, stat_id, now, interval_start=start)
                    rows[index].add_reading(stat_id, reading)

    for event in ordered:
        if isinstance(event, Event):
            while moments and moments[0][0] <= event.ts:
                read(*heapq.heappop(moments))
            for object_type, object_id in engine.objects_named(event):
                if object_type in ("queue", "agent"):
                    ensure_open(event.tenant, object_type, object_id)
        engine.apply(event)
    while moments:
        read(*heapq.heappop(moments))
    result: dict[str, dict[str, dict[str, ObjectReport]]] = {}
    for (tenant, object_type, object_id), rows in sorted(sums.items()):
        if not any(row.values for row in rows) and (tenant, object_type, object_id) not in named:
            continue  # met only on other media (a chat queue): nothing to show
        threshold = threshold_of.get((tenant, object_id), DEFAULT_THRESHOLD_S)
        columns = (
            partial(queue_columns, threshold_s=threshold)
            if object_type == "queue"
            else agent_columns
        )
        total = IntervalSums({}, {})
        table = []
        for (start, end), row in zip(bounds[tenant], rows, strict=True):
            total.merge(row)
            table.append({"start": start, "end": end, **columns(row)})
        first, last = bounds[tenant][0][0], bounds[tenant][-1][1]
        result.setdefault(tenant, {}).setdefault(object_type, {})[object_id] = ObjectReport(
            table, {"start": first, "end": last, **columns(total)}
        )
    return Report(interval_min, time_zone, result, dict(engine.anomalies))
