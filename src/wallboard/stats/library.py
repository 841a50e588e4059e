"""The standard statistics library: definitions behind the out-of-the-box templates.

The definitions live in ``standard.yaml`` next to this module (a package resource, read once);
``docs/statistics.md`` documents every id.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from wallboard.stats.definitions import DefinitionSet, load_definitions_text


@cache
def standard_library_text() -> str:
    return resources.files("wallboard.stats").joinpath("standard.yaml").read_text("utf-8")


def standard_library() -> DefinitionSet:
    """The checked standard definitions (a new set each call; definitions are immutable)."""
    return load_definitions_text(standard_library_text())
