"""``wallboard import <platform> FILE``: turn a platform's recorded events into an events.jsonl.

Each command reads the file, writes one event per line (the wire encoding) as it goes, to
``--out`` (``-``: standard output), and prints a summary on stderr: records read, events
written, bad records by reason, records ignored on purpose and timestamp notes. Bad records
never stop an import. Exit codes: 0; 1 with ``--strict`` when a record was bad; 2 when the file
cannot be read or written, ``--out`` is the input, or no record was usable (every one was bad).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar

import typer

from wallboard.adapters.amazon_connect import AmazonConnectTranslator
from wallboard.adapters.asterisk_ami import AmiTranslator, translate_capture
from wallboard.adapters.asterisk_queue_log import QueueLogTranslator
from wallboard.adapters.base import BadRecord, TranslatorBase, line
from wallboard.adapters.freeswitch import FreeswitchTranslator, translate_dump
from wallboard.adapters.timestamps import zone
from wallboard.adapters.twilio import TwilioTranslator, parse_form
from wallboard.core.codec import encode
from wallboard.core.errors import WallboardError
from wallboard.core.events import Event
from wallboard.inputs import bounded_lines, read_bytes

app = typer.Typer(
    name="import",
    help="Import a platform's recorded events (queue_log, AMI capture, ESL dump, JSON, "
    "TaskRouter callbacks) into an events.jsonl file of Wallboard events.",
    no_args_is_help=True,
    add_completion=False,
)

FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The file to read.")
TENANT = typer.Option(..., "--tenant", help="Tenant id put on every event.")
OUT = typer.Option(
    ..., "--out", help="Where to write the events, one JSON object per line (-: standard output)."
)
SOURCE = typer.Option(None, "--source", help="Source id of the events (default: the platform).")
STRICT = typer.Option(False, "--strict", help="Exit with status 1 if any record was bad.")
CHUNK = 65536
"""Bytes read at a time from captures parsed incrementally."""
MAX_LINE = 1024 * 1024
"""Most bytes of one line kept: the rest of a longer line (a binary file without newlines) is
skipped without being held, and its translator refuses the line as too long."""
MAX_WHOLE_FILE = 256 * 1024 * 1024
"""Largest file of the formats parsed as a whole (FreeSWITCH dumps, Amazon Connect JSON)."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def _output(out: Path, origin: Path) -> Iterator[BinaryIO]:
    """The open ``--out`` (standard output for ``-``); never the input file."""
    if str(out) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with contextlib.suppress(OSError):
        if out.samefile(origin):
            _fail(f"--out {out} is the input file; write the events to another file")
    try:
        handle = out.open("wb")
    except OSError as error:
        _fail(f"cannot write {out}: {error.strerror}")
    with handle:
        yield handle


T = TypeVar("T", bound=TranslatorBase)


class _WriteError(Exception):
    """Writing the output failed (told apart from reading the input)."""


def _run(
    translator: Callable[[], T],
    read: Callable[[T], Iterable[Event]],
    *,
    file: Path,
    out: Path,
    strict: bool,
) -> None:
    """Stream the events ``read`` translates from ``file`` to ``out``, then the summary."""
    try:
        chosen = translator()
    except WallboardError as error:
        _fail(error.message)
    try:
        with _output(out, file) as handle:
            for event in read(chosen):
                try:
                    handle.write(encode(event))
                except OSError as error:
                    raise _WriteError(error.strerror) from None
    except _WriteError as error:
        _fail(f"cannot write {out}: {error}")
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror}")
    except WallboardError as error:
        _fail(error.message)
    summary: dict[str, Any] = {"file": str(file), "out": str(out), **chosen.summary()}
    sys.stderr.write(json.dumps(summary) + "\n")
    bad, records = chosen.bad.total, chosen.stats.records
    if bad and not chosen.stats.events and bad == records:
        _fail(f"no usable record in {file}: all {records} record(s) were bad")
    if strict and bad:
        raise typer.Exit(1)


def _chunks(file: Path) -> Iterator[bytes]:
    with file.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


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

    def read(translator: QueueLogTranslator) -> Iterator[Event]:
        for number, raw in bounded_lines(file, MAX_LINE):
            text = raw.decode("utf-8", "replace")
            yield from translator.translate(text, line(number, file.name))

    _run(
        lambda: QueueLogTranslator(tenant=tenant, source=source, timezone=zone(timezone)),
        read,
        file=file,
        out=out,
        strict=strict,
    )


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

    def read(translator: AmiTranslator) -> Iterator[Event]:
        return translate_capture(_chunks(file), translator, file.name)

    _run(
        lambda: AmiTranslator(
            tenant=tenant, source=source, fallback_ts_ms=int(os.stat(file).st_mtime * 1000)
        ),
        read,
        file=file,
        out=out,
        strict=strict,
    )


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

    def read(translator: FreeswitchTranslator) -> Iterator[Event]:
        data = read_bytes(file, "FreeSWITCH dump", MAX_WHOLE_FILE)
        return translate_dump(data, translator, file.name)

    _run(
        lambda: FreeswitchTranslator(tenant=tenant, source=source),
        read,
        file=file,
        out=out,
        strict=strict,
    )


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

    def read(translator: AmazonConnectTranslator) -> Iterator[Event]:
        data = read_bytes(file, "Amazon Connect file", MAX_WHOLE_FILE)
        return translator.iter_translate_text(data.decode("utf-8", "replace"), file.name)

    _run(
        lambda: AmazonConnectTranslator(tenant=tenant, source=source),
        read,
        file=file,
        out=out,
        strict=strict,
    )


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

    def read(translator: TwilioTranslator) -> Iterator[Event]:
        for number, raw in bounded_lines(file, MAX_LINE):
            if not raw.strip():
                continue
            try:
                form = parse_form(raw)
            except BadRecord as error:
                translator.stats.records += 1
                translator.bad.record(error, line(number, file.name))
                continue
            yield from translator.translate(form, line(number, file.name))

    _run(
        lambda: TwilioTranslator(tenant=tenant, source=source),
        read,
        file=file,
        out=out,
        strict=strict,
    )
