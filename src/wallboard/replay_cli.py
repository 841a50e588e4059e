"""`wallboard stats`: replay an event log offline and print every statistic of every object.

File and console I/O live here so that ``wallboard.stats`` stays free of it.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import typer

from wallboard.adapters.base import MAX_TS_MS
from wallboard.core.codec import decode_event
from wallboard.core.errors import InvalidInput, WallboardError
from wallboard.core.events import Event, UnknownEvent
from wallboard.inputs import bounded_lines, load_yaml_file
from wallboard.stats.definitions import decode_definitions
from wallboard.stats.library import standard_library
from wallboard.stats.replay import ReplayResult, replay
from wallboard.stats.state import ObjectConfig

app = typer.Typer(
    help="Replay an event log (events.jsonl) and print every statistic for every object.",
    no_args_is_help=True,
    add_completion=False,
)


MAX_LINE: Final = 1024 * 1024
"""Longest event line read; a longer one (a binary file without newlines) is skipped as bad
without being held in memory."""

MAX_LATENESS_MS: Final = 7 * 86_400_000
"""Most lateness a replay accepts: a week."""


def read_events(path: Path, bad: list[str]) -> Iterator[Event | UnknownEvent]:
    """The events of a JSON-lines file; what does not decode is added to ``bad`` (line
    number and why) and skipped."""
    for number, raw in bounded_lines(path, MAX_LINE):
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            bad.append(f"line {number}: longer than {MAX_LINE} bytes")
            continue
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        try:
            yield decode_event(line)
        except WallboardError as exc:
            bad.append(f"line {number}: {exc.message}")


def parse_time(text: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 time with a zone; within what events carry."""
    if text.isdigit():
        if len(text) > 15 or int(text) > MAX_TS_MS:
            raise InvalidInput(f"--at: {text} is after 9999-12-31 (the largest time)", field="at")
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--at: {text!r} is neither epoch ms nor ISO 8601", field="at") from None
    if moment.tzinfo is None:
        raise InvalidInput("--at: give a time zone (e.g. 2024-05-01T10:00:00+02:00)", field="at")
    ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= MAX_TS_MS:
        raise InvalidInput(f"--at: {text} is outside 1970 to 9999", field="at")
    return ms


def check_zone(name: str) -> str:
    """The IANA zone name, if the zone exists."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"unknown time zone {name!r}", field="time_zone") from None
    return name


def read_objects(path: Path | None) -> dict[str, ObjectConfig]:
    """The ``--objects`` file: tenant → membership and queue configuration."""
    if path is None:
        return {}
    document = load_yaml_file(path, "--objects") or {}
    try:
        return msgspec.convert(document, type=dict[str, ObjectConfig])
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"--objects: {exc}", field="objects") from None


def to_csv(result: ReplayResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["tenant", "object_type", "object_id", "statistic", "value"])
    for tenant, types in result.items():
        for object_type, objects in types.items():
            for object_id, values in objects.items():
                for stat_id, value in values.items():
                    text = (
                        ""
                        if value is None
                        else msgspec.json.encode(value).decode()
                        if isinstance(value, dict)
                        else value
                    )
                    writer.writerow([tenant, object_type, object_id, stat_id, text])
    return out.getvalue()


@app.callback(invoke_without_command=True)
def stats(
    events: Annotated[Path, typer.Option("--events", help="Event log, one JSON event a line.")],
    definitions: Annotated[
        Path | None,
        typer.Option(
            "--definitions", help="YAML/JSON definitions (default: the standard library)."
        ),
    ] = None,
    objects: Annotated[
        Path | None,
        typer.Option(
            "--objects", help="YAML/JSON {tenant: {agent_groups: …, queue_groups: …}} membership."
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Read values at this time (epoch ms or ISO 8601).")
    ] = None,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA zone of every tenant's day.")
    ] = "UTC",
    lateness_ms: Annotated[
        int,
        typer.Option(
            "--lateness-ms",
            min=0,
            max=MAX_LATENESS_MS,
            help="How late an event may arrive and still count (at most a week).",
        ),
    ] = 0,
    output_format: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
) -> None:
    """Print tenant → object type → object id → statistic id → value."""
    with input_errors_exit():
        if output_format not in ("json", "csv"):
            raise InvalidInput("--format must be json or csv", field="format")
        zone = check_zone(time_zone)
        defs = (
            decode_definitions(load_yaml_file(definitions, "--definitions"))
            if definitions
            else standard_library()
        )
        configs = read_objects(objects)
        at_ms = None if at is None else parse_time(at)
        bad: list[str] = []
        read = 0

        def counted() -> Iterator[Event | UnknownEvent]:
            nonlocal read
            for event in read_events(events, bad):
                read += 1
                yield event

        result, anomalies = replay(
            counted(), defs, at_ms, objects=configs, lateness_ms=lateness_ms, default_time_zone=zone
        )
        if bad and not read:
            report_skipped(bad, {})
            raise InvalidInput(
                f"no valid event in {events}: all {len(bad)} non-empty line(s) are bad",
                field="events",
            )
    if output_format == "json":
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(result).decode(), indent=2) + "\n")
    else:
        sys.stdout.write(to_csv(result))
    report_skipped(bad, anomalies)


@contextmanager
def input_errors_exit() -> Iterator[None]:
    """A file that cannot be read or input that is wrong ends the command with ``error: …``
    on stderr and exit status 2, without a traceback."""
    try:
        yield
    except OSError as exc:
        typer.echo(f"error: {exc.strerror}: {exc.filename}", err=True)
        raise typer.Exit(2) from None
    except WallboardError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    except UnicodeEncodeError:
        # YAML and JSON escapes can spell a lone surrogate ("\ud800"): no text may hold one.
        typer.echo("error: the input holds an escape that is not a Unicode character", err=True)
        raise typer.Exit(2) from None


def report_skipped(bad: list[str], anomalies: dict[str, int]) -> None:
    """Say on stderr which lines were skipped (the first 20) and what the engine counted."""
    for line in bad[:20]:
        typer.echo(f"skipped {line}", err=True)
    if bad:
        typer.echo(f"{len(bad)} undecodable line(s) skipped", err=True)
    if anomalies:
        typer.echo(f"anomalies: {anomalies}", err=True)
