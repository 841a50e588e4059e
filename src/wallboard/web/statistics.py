"""Template statistics against the engine's model: standard ids resolved, inline definitions
checked, each error a FieldError naming its path in the request."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.stats import DefinitionSet, StatisticDefinition, standard_library
from wallboard.web.errors import FieldError, Loc

_MSGSPEC_PATH = re.compile(r"at `\$(.*)`")
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


@functools.cache
def standard_definitions() -> DefinitionSet:
    """The standard library, checked once per process (definitions are immutable)."""
    return standard_library()


def _path_parts(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _PATH_PART.findall(path)]


def check_inline_definition(document: object, loc: Loc) -> StatisticDefinition:
    """An inline definition, checked as the collector would with the standard library beside it
    (its formula may read standard statistics); its id must not be a standard one."""
    standard = standard_definitions()
    try:
        definition = msgspec.convert(document, type=StatisticDefinition, strict=False)
    except msgspec.ValidationError as exc:
        match = _MSGSPEC_PATH.search(str(exc))
        parts = _path_parts(match.group(1)) if match else []
        raise FieldError((*loc, *parts), str(exc)) from None
    if definition.id in standard:
        raise FieldError(
            (*loc, "id"), f"{definition.id!r} is a standard statistic's id: use ref to show it"
        )
    try:
        DefinitionSet([*standard, definition])
    except InvalidInput as exc:
        field = str(exc.detail.get("field", ""))
        parts = _path_parts("." + field.split(".", 1)[1]) if "." in field else []
        message = exc.message.split(": ", 1)[-1]
        raise FieldError((*loc, *parts), message) from None
    return definition


def resolve_statistic(ref: str | None, inline: object | None, loc: Loc) -> StatisticDefinition:
    """The definition a template statistic stands for (``loc`` is the statistic's path)."""
    if ref is not None:
        found = standard_definitions().by_id.get(ref)
        if found is None:
            raise FieldError(
                (*loc, "ref"),
                f"unknown statistic {ref!r}: not in the standard library (docs/statistics.md)",
            )
        return found
    return check_inline_definition(inline, (*loc, "definition"))


def merged_definitions(inline: Sequence[StatisticDefinition]) -> DefinitionSet:
    """The standard library plus inline definitions (the first of an id wins)."""
    by_id = {d.id: d for d in standard_definitions()}
    for definition in inline:
        by_id.setdefault(definition.id, definition)
    return DefinitionSet(list(by_id.values()))
