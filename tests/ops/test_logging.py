"""Logging as the settings say, to whatever standard error is when a record is logged."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from wallboard.ops.logging import configure_logging
from wallboard.settings import Settings


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_records_follow_the_current_stderr(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A command run in-process swaps stderr and closes it after; later records must not fail.
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(Settings(log_format="json"))
    logging.getLogger("wallboard.test").warning("one")
    assert json.loads(first.getvalue())["message"] == "one"
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("wallboard.test").warning("two")
    assert json.loads(second.getvalue())["message"] == "two"
