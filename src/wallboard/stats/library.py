"""The standard statistics library: definitions behind the out-of-the-box templates.

The definitions live in ``standard.yaml`` next to this module (a package resource, read once);
``docs/statistics.md`` documents every id with the tables :func:`library_table` writes.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from wallboard.stats.definitions import (
    CURRENT_CATEGORIES,
    AgentStatus,
    Category,
    Counting,
    DefinitionSet,
    Durations,
    EverGrowing,
    Growing,
    ObjectType,
    Selection,
    SinceLogin,
    Sliding,
    StatisticDefinition,
    load_definitions_text,
)

STATUS_WORDS_OF_AGENTS = frozenset(s.value for s in AgentStatus)


@cache
def standard_library_text() -> str:
    return resources.files("wallboard.stats").joinpath("standard.yaml").read_text("utf-8")


def standard_library() -> DefinitionSet:
    """The checked standard definitions (a new set each call; definitions are immutable)."""
    return load_definitions_text(standard_library_text())


def _window_text(d: StatisticDefinition) -> str:
    profile = d.profile
    if d.category in CURRENT_CATEGORIES or d.category is Category.CURRENT_STATE:
        return "now"
    if isinstance(profile, Sliding):
        return f"last {profile.window_s // 60} min, {profile.step_s} s steps"
    if isinstance(profile, Selection):
        return f"current {profile.interval_min}-min interval"
    if isinstance(profile, SinceLogin):
        return "since the agent's login"
    if isinstance(profile, EverGrowing):
        return "ever"
    assert isinstance(profile, Growing)
    if profile.every_hours:
        return f"every {profile.every_hours} h from {profile.reset}"
    return "today (from local midnight)" if profile.reset == "00:00" else f"from {profile.reset}"


def _denominator_text(d: StatisticDefinition) -> str:
    if d.category is Category.RATIO:
        return "count of " + ", ".join(d.denominator_mask)
    if d.category in (Category.AVERAGE_TIME, Category.CURRENT_AVERAGE_TIME):
        return "count of the same"
    if d.category in (
        Category.TOTAL_NUMBER_IN_TIME_RANGE_PERCENTAGE,
        Category.CURRENT_NUMBER_IN_TIME_RANGE_PERCENTAGE,
    ):
        return "count of the mask"
    if d.service_level is not None:
        return {
            "abandoned_negative": "SL offered (answered within + abandoned within + reached threshold)",
            "ignore_abandoned": "SL offered - abandoned within",
            "abandoned_positive": "SL offered",
            "removed_from_queue": "entered",
            "answered_only": "answered",
        }[d.service_level.type.value]
    return "—"


def _in_progress_text(d: StatisticDefinition) -> str:
    if d.category is Category.FORMULA:
        return "as its inputs"
    if d.category in CURRENT_CATEGORIES or d.category is Category.CURRENT_STATE:
        return "now"
    if d.is_status:
        return "yes (status so far)" if d.counts_in_progress else "no (finished intervals)"
    return "yes (as if completing now)" if d.counts_in_progress else "no (on completion)"


def _counts_text(d: StatisticDefinition) -> str:
    if d.category is Category.FORMULA:
        text = f"`{d.formula}`"
    elif d.category is Category.CURRENT_STATE:
        text = "state, reason, since, media, dnd"
    else:
        media = ", ".join(m.value for m in d.filter.media) or (
            "voice" if d.is_status and d.mask[0] in STATUS_WORDS_OF_AGENTS else "all media"
        )
        if d.filter.direction:
            media += ", " + ", ".join(direction.value for direction in d.filter.direction)
        text = f"{d.category.value} of {', '.join(d.mask)} ({media})"
        if d.filter.refusal_reasons:
            text += ", refused for " + " or ".join(d.filter.refusal_reasons)
        if d.filter.diversion_causes:
            text += ", diverted for " + " or ".join(d.filter.diversion_causes)
        if d.durations is Durations.REPORTED:
            text += ", durations as the platform reports them"
        if d.time_range is not None:
            upper = "∞" if d.time_range.to_s is None else f"{d.time_range.to_s:g}"
            text += f" within {d.time_range.from_s:g} to {upper} s"
        if d.service_level is not None:
            text += f", threshold {d.service_level.threshold_s:g} s"
        if d.breakdown is not None:
            text += ", by reason (reason → ms)"
        if d.count is Counting.CONTACTS:
            text += ", per contact (first queue entry)"
    if d.description:
        text += f" — {d.description}"
    return text


def library_table(definitions: DefinitionSet) -> str:
    """The standard-library tables of ``docs/statistics.md`` (a test keeps the two equal)."""
    lines: list[str] = []
    for object_type in ObjectType:
        chosen = definitions.for_object(object_type)
        if not chosen:
            continue
        lines += [
            f"### {object_type.value}",
            "",
            "| id | counts | window | denominator | in progress | format |",
            "|---|---|---|---|---|---|",
        ]
        for d in chosen:
            lines.append(
                f"| `{d.id}` | {_counts_text(d)} | {_window_text(d)} | {_denominator_text(d)} "
                f"| {_in_progress_text(d)} | {d.format.value} |"
            )
        lines.append("")
    return "\n".join(lines)
