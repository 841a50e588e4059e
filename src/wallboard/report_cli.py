"""`wallboard report`: interval tables per queue and per agent from an event log (CSV or JSON).

File and console I/O live here; the tables come from ``wallboard.stats.report``.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import typer

from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event, UnknownEvent
from wallboard.replay_cli import input_errors_exit, read_events, read_objects, report_skipped
from wallboard.stats.definitions import load_definitions_text
from wallboard.stats.report import Report, interval_report

app = typer.Typer(
    help="Print interval tables (per queue and per agent) from an event log.",
    no_args_is_help=True,
    add_completion=False,
)


def parse_interval(text: str) -> int:
    """``15m``, ``30m``, ``60m`` (or ``1h``, or plain minutes) as minutes."""
    cleaned = text.strip().lower()
    try:
        if cleaned.endswith("h"):
            return int(cleaned[:-1]) * 60
        return int(cleaned.removesuffix("m").removesuffix("min"))
    except ValueError:
        raise InvalidInput(
            f"--interval: {text!r} is not 15m, 30m or 60m", field="interval"
        ) from None


def parse_local_time(option: str, text: str, zone: ZoneInfo) -> int:
    """Epoch ms, or an ISO 8601 date or date-time; without an offset, local to ``zone``."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{option}: {text!r} is neither epoch ms nor an ISO 8601 date or time", field=option
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp() * 1000)


def _local(ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, zone).isoformat()


def _rows(report: Report, object_type: str, zone: ZoneInfo) -> Iterator[dict[str, Any]]:
    for tenant, types in report.tenants.items():
        for object_id, table in types.get(object_type, {}).items():
            for row in [*table.intervals, {**table.total, "total": True}]:
                yield {
                    "tenant": tenant,
                    object_type: object_id,
                    "interval_start": "total" if row.get("total") else _local(row["start"], zone),
                    "interval_end": _local(row["end"], zone),
                    **{k: v for k, v in row.items() if k not in ("start", "end", "total")},
                }


def to_csv(report: Report, zone: ZoneInfo) -> str:
    """The queue table, a blank line, then the agent table; a breakdown by reason becomes a
    column per reason met in the report."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for number, object_type in enumerate(("queue", "agent")):
        rows = list(_rows(report, object_type, zone))
        if not rows:
            continue
        reasons = sorted({r for row in rows for r in row.get("pause_by_reason_s", {})})
        header = [k for k in rows[0] if k != "pause_by_reason_s"]
        if number and out.tell():
            out.write("\n")
        writer.writerow([*header, *(f"pause_{reason}_s" for reason in reasons)])
        for row in rows:
            by_reason = row.get("pause_by_reason_s", {})
            writer.writerow(
                [_cell(row[k]) for k in header] + [_cell(by_reason.get(r, 0.0)) for r in reasons]
            )
    return out.getvalue()


def _cell(value: object) -> object:
    return "" if value is None else value


def to_json(report: Report, zone: ZoneInfo) -> str:
    document = msgspec.to_builtins(report)
    for types in document["tenants"].values():
        for tables in types.values():
            for table in tables.values():
                for row in [*table["intervals"], table["total"]]:
                    row["start"] = _local(row["start"], zone)
                    row["end"] = _local(row["end"], zone)
    return msgspec.json.format(msgspec.json.encode(document).decode(), indent=2) + "\n"


@app.callback(invoke_without_command=True)
def report(
    events: Annotated[Path, typer.Option("--events", help="Event log, one JSON event a line.")],
    interval: Annotated[
        str, typer.Option("--interval", help="Interval length: 15m, 30m or 60m.")
    ] = "30m",
    from_time: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First instant (epoch ms or ISO 8601; local to --time-zone without an offset). "
            "Default: the first event's interval.",
        ),
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option("--to", help="End, exclusive (as --from). Default: after the last event."),
    ] = None,
    definitions: Annotated[
        Path | None,
        typer.Option(
            "--definitions",
            help="YAML/JSON definitions replacing the report's statistics of the same id.",
        ),
    ] = None,
    objects: Annotated[
        Path | None,
        typer.Option(
            "--objects",
            help="YAML/JSON {tenant: {queues: {q: {threshold_s: 30}}, agent_groups: …}}.",
        ),
    ] = None,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA zone of the intervals and the times shown.")
    ] = "UTC",
    output_format: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
) -> None:
    """Print per queue and per agent a row per interval and a total row (outcomes counted in
    the interval the call entered the queue in; see docs/statistics.md)."""
    with input_errors_exit():
        if output_format not in ("json", "csv"):
            raise InvalidInput("--format must be csv or json", field="format")
        interval_min = parse_interval(interval)
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"--time-zone: unknown zone {time_zone!r}", field="time-zone"
            ) from None
        from_ms = None if from_time is None else parse_local_time("--from", from_time, zone)
        to_ms = None if to_time is None else parse_local_time("--to", to_time, zone)
        overrides = load_definitions_text(definitions.read_text("utf-8")) if definitions else None
        configs = read_objects(objects)
        bad: list[str] = []
        loaded: list[Event | UnknownEvent] = list(read_events(events, bad))
        result = interval_report(
            loaded,
            interval_min=interval_min,
            from_ms=from_ms,
            to_ms=to_ms,
            time_zone=time_zone,
            objects=configs,
            overrides=overrides,
        )
    sys.stdout.write(to_json(result, zone) if output_format == "json" else to_csv(result, zone))
    report_skipped(bad, result.anomalies)
