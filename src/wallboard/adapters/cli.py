"""``wallboard import <platform> FILE``: turn a platform's recorded events into an events.jsonl.

Each command reads the whole file, writes one event per line (the wire encoding) and prints a
summary on stderr: records read, events written, bad records by reason, records ignored on
purpose and timestamp notes. Bad records never stop an import; the exit code is 0 unless the
file cannot be read or written (or ``--strict`` is given and a record was bad).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from wallboard.adapters.amazon_connect import AmazonConnectTranslator
from wallboard.adapters.asterisk_ami import AmiTranslator, translate_capture
from wallboard.adapters.asterisk_queue_log import QueueLogTranslator
from wallboard.adapters.base import BadRecord, TranslatorBase, line
from wallboard.adapters.freeswitch import FreeswitchTranslator, translate_dump
from wallboard.adapters.timestamps import zone
from wallboard.adapters.twilio import TwilioTranslator, parse_form
from wallboard.core.codec import encode
from wallboard.core.errors import ConfigError, WallboardError
from wallboard.core.events import Event

app = typer.Typer(
    name="import",
    help="Import a platform's recorded events (queue_log, AMI capture, ESL dump, JSON, "
    "TaskRouter callbacks) into an events.jsonl file of Wallboard events.",
    no_args_is_help=True,
    add_completion=False,
)

FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The file to read.")
TENANT = typer.Option(..., "--tenant", help="Tenant id put on every event.")
OUT = typer.Option(..., "--out", help="Where to write the events, one JSON object per line.")
SOURCE = typer.Option(None, "--source", help="Source id of the events (default: the platform).")
STRICT = typer.Option(False, "--strict", help="Exit with status 1 if any record was bad.")


def _write(
    events: list[Event], translator: TranslatorBase, out: Path, strict: bool, origin: Path
) -> None:
    try:
        with out.open("wb") as handle:
            for event in events:
                handle.write(encode(event))
    except OSError as error:
        typer.echo(f"wallboard import: cannot write {out}: {error}", err=True)
        raise typer.Exit(2) from None
    summary: dict[str, Any] = {"file": str(origin), "out": str(out), **translator.summary()}
    sys.stderr.write(json.dumps(summary) + "\n")
    if strict and translator.bad.total:
        raise typer.Exit(1)


def _run(
    build: Callable[[], tuple[list[Event], TranslatorBase]], out: Path, strict: bool, file: Path
) -> None:
    try:
        events, translator = build()
    except (ConfigError, WallboardError) as error:
        typer.echo(f"wallboard import: {error.message}", err=True)
        raise typer.Exit(2) from None
    _write(events, translator, out, strict, file)


@app.command("asterisk-queue-log")
def import_queue_log(
    file: Path = FILE,
    tenant: str = TENANT,
    out: Path = OUT,
    source: str | None = SOURCE,
    timezone: str = typer.Option(
        "UTC", "--timezone", help="Zone of date-time timestamps without offset (epochs are UTC)."
    ),
    strict: bool = STRICT,
) -> None:
    """An Asterisk queue_log file (epoch|callid|queue|member|VERB|data…)."""

    def build() -> tuple[list[Event], TranslatorBase]:
        translator = QueueLogTranslator(tenant=tenant, source=source, timezone=zone(timezone))
        events: list[Event] = []
        with file.open("r", encoding="utf-8", errors="replace", newline="") as handle:
            for number, text in enumerate(handle, 1):
                events += translator.translate(text, line(number, file.name))
        return events, translator

    _run(build, out, strict, file)


@app.command("asterisk-ami")
def import_ami(
    file: Path = FILE,
    tenant: str = TENANT,
    out: Path = OUT,
    source: str | None = SOURCE,
    strict: bool = STRICT,
) -> None:
    """A capture of AMI traffic (Key: Value lines, blank line between messages).

    Events without a Timestamp header take the last Timestamp seen before them, else the
    file's modification time."""

    def build() -> tuple[list[Event], TranslatorBase]:
        mtime_ms = int(os.stat(file).st_mtime * 1000)
        translator = AmiTranslator(tenant=tenant, source=source, fallback_ts_ms=mtime_ms)
        return translate_capture(file.read_bytes(), translator, file.name), translator

    _run(build, out, strict, file)


@app.command("freeswitch")
def import_freeswitch(
    file: Path = FILE,
    tenant: str = TENANT,
    out: Path = OUT,
    source: str | None = SOURCE,
    strict: bool = STRICT,
) -> None:
    """A dump of FreeSWITCH events: raw event-socket frames or plain events (blank-line
    separated, URL-encoded values). Only callcenter::info events become Wallboard events."""

    def build() -> tuple[list[Event], TranslatorBase]:
        translator = FreeswitchTranslator(tenant=tenant, source=source)
        return translate_dump(file.read_bytes(), translator, file.name), translator

    _run(build, out, strict, file)


@app.command("amazon-connect")
def import_amazon_connect(
    file: Path = FILE,
    tenant: str = TENANT,
    out: Path = OUT,
    source: str | None = SOURCE,
    strict: bool = STRICT,
) -> None:
    """Amazon Connect agent event stream records and/or contact events: JSON lines, a JSON
    array, or objects back to back (as Kinesis Firehose writes them). Strict JSON only."""

    def build() -> tuple[list[Event], TranslatorBase]:
        translator = AmazonConnectTranslator(tenant=tenant, source=source)
        text = file.read_text(encoding="utf-8", errors="replace")
        return translator.translate_text(text, file.name), translator

    _run(build, out, strict, file)


@app.command("twilio")
def import_twilio(
    file: Path = FILE,
    tenant: str = TENANT,
    out: Path = OUT,
    source: str | None = SOURCE,
    strict: bool = STRICT,
) -> None:
    """TaskRouter event callbacks, one per line: the form-encoded body as Twilio posted it,
    or a JSON object of the same parameters."""

    def build() -> tuple[list[Event], TranslatorBase]:
        translator = TwilioTranslator(tenant=tenant, source=source)
        events: list[Event] = []
        with file.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    form = parse_form(raw)
                except BadRecord as error:
                    translator.stats.records += 1
                    translator.bad.record(error, line(number, file.name))
                    continue
                events += translator.translate(form, line(number, file.name))
        return events, translator

    _run(build, out, strict, file)
