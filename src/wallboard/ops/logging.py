"""One logging configuration for every process: console for people, JSON lines for machines."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from wallboard.settings import Settings

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged too.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line, with ``extra`` fields kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRS and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is logged, not when the handler was
    made: a command run in-process (tests, an embedding program) swaps the stream and closes
    it after, and a handler holding the old one would fail on every later record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """The stream is always the current ``sys.stderr``."""


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Set up the root logger once, as the settings say; safe to call again (it replaces).
    Records go to ``stream``, by default to the current ``sys.stderr``."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Access logs of every HTTP request would drown the useful lines.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
