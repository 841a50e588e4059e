"""``GET /api/v1/status``: is what the screens show current? Freshness per source, what is
open, how far the collectors are behind.

The web tier never talks to a collector: it reads the records every collector publishes into
the value store each second (``wallboard.collector.status``) and sums them up. A collector
whose record is older than :data:`REPORTING_WITHIN_S` is *not reporting* (stopped, crashed,
cut off from the store): its figures are shown as last reported and the status is degraded.
The answer covers the whole installation, not one tenant: a collector computes many tenants
and a source feeds them all.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from wallboard.collector.status import CollectorStatus, read_statuses
from wallboard.core.errors import Unavailable
from wallboard.web.deps import SubjectDep, WebState, web_state
from wallboard.web.errors import ERROR_RESPONSES
from wallboard.web.schemas import ApiModel

REPORTING_WITHIN_S = 5.0
"""A collector's record older than this (records come every second) means it is not
reporting."""

router = APIRouter(tags=["status"], responses=ERROR_RESPONSES)


class SourceStatus(ApiModel):
    """One event stream (source) across the collectors that report."""

    stream: str
    newest_event_ms: int | None
    """The newest event time any reporting collector applied from it (None: none yet)."""
    stale: bool
    """Whether its values are stale: its publisher lost the source or fell silent, or the log
    cannot be read (widgets show their values as ``source.stale``)."""
    stale_since_ms: int | None
    stale_reason: str | None
    lag: int | None
    """Records in the log not yet taken by the collector furthest behind (None: unknown)."""


class CollectorReport(ApiModel):
    """One collector, as its last record says."""

    name: str
    ordinal: int
    replicas: int
    reporting: bool
    updated_ms: int
    age_s: float
    """Seconds since the record was written."""
    reading_ms: int
    """The time its values are read at (a simulated time in the demo)."""
    tenants: int
    statistics_open: int
    events_applied: int
    bad_records: int
    lag: int | None
    """Records of every stream not yet taken (None: the log cannot be asked)."""
    unreachable: list[str]
    """Dependencies it cannot reach now: ``event_log``, ``value_store``."""


class SystemStatus(ApiModel):
    """``ok``: every collector reports, no source is stale; ``degraded``: one does not, or
    a source is stale; ``no_collectors``: no collector has reported (none runs yet)."""

    status: Literal["ok", "degraded", "no_collectors"]
    checked_ms: int
    reporting_within_s: float
    statistics_open: int
    """Statistics open across the collectors that report."""
    lag: int | None
    """Records not yet taken, summed over the collectors that report."""
    sources: list[SourceStatus]
    collectors: list[CollectorReport]
    unreadable_records: int
    """Collector records this server could not read (a newer version's): counted, skipped."""


def summarise(records: list[CollectorStatus], now_ms: int, unreadable: int = 0) -> SystemStatus:
    """The status of the whole installation from the collectors' records at ``now_ms``."""
    collectors = []
    for record in records:
        age_s = max(0.0, (now_ms - record.updated_ms) / 1000)
        lags = [s.lag for s in record.streams.values()]
        collectors.append(
            CollectorReport(
                name=record.name,
                ordinal=record.ordinal,
                replicas=record.replicas,
                reporting=age_s <= REPORTING_WITHIN_S,
                updated_ms=record.updated_ms,
                age_s=round(age_s, 3),
                reading_ms=record.reading_ms,
                tenants=record.tenants,
                statistics_open=record.statistics_open,
                events_applied=record.events_applied,
                bad_records=record.bad_records,
                lag=None if None in lags else sum(lag for lag in lags if lag is not None),
                unreachable=sorted(record.unreachable),
            )
        )
    reporting = [r for r, c in zip(records, collectors, strict=True) if c.reporting]
    sources = []
    for stream in sorted({s for r in reporting for s in r.streams}):
        seen = [r.streams[stream] for r in reporting if stream in r.streams]
        newest = [s.newest_event_ms for s in seen if s.newest_event_ms is not None]
        stale = [s.stale for s in seen if s.stale is not None]
        first = min(stale, key=lambda why: why.since, default=None)
        stream_lags = [s.lag for s in seen]
        sources.append(
            SourceStatus(
                stream=stream,
                newest_event_ms=max(newest, default=None),
                stale=first is not None,
                stale_since_ms=None if first is None else first.since,
                stale_reason=None if first is None else first.reason,
                lag=None
                if None in stream_lags
                else max((lag for lag in stream_lags if lag is not None), default=0),
            )
        )
    reporting_lags = [c.lag for c in collectors if c.reporting]
    if not collectors:
        overall: Literal["ok", "degraded", "no_collectors"] = "no_collectors"
    elif len(reporting) < len(collectors) or any(s.stale for s in sources):
        overall = "degraded"
    else:
        overall = "ok"
    return SystemStatus(
        status=overall,
        checked_ms=now_ms,
        reporting_within_s=REPORTING_WITHIN_S,
        statistics_open=sum(c.statistics_open for c in collectors if c.reporting),
        lag=None
        if None in reporting_lags
        else sum(lag for lag in reporting_lags if lag is not None),
        sources=sources,
        collectors=collectors,
        unreadable_records=unreadable,
    )


@router.get(
    "/status",
    summary="Freshness per source, statistics open and collector lag, from the collectors' records",
)
async def system_status(
    state: Annotated[WebState, Depends(web_state)], subject: SubjectDep
) -> SystemStatus:
    """For any subject (it names no tenant's objects, only streams and collectors)."""
    if state.store is None:
        raise Unavailable(
            "this web process has no value store (set WALLBOARD_REDIS_URL): the collectors' "
            "status is read from it"
        )
    records, unreadable = await read_statuses(state.store)
    return summarise(records, state.clock.now_ms(), unreadable)
