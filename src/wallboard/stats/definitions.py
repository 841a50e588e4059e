"""Statistic definitions as data: typed, decoded from YAML/JSON, checked with errors naming the field.

A statistic is a tuple, not a name (see ``docs/statistics.md``): object type, category, mask,
time profile, time range, filter, attribution, notification mode and display format. The same
"answered" under a since-midnight profile and under a 15-minute sliding window are two
definitions with two ids.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Final, Literal

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.events import Direction, DiversionCause, Media, RefusalReason


class ObjectType(enum.StrEnum):
    AGENT = "agent"
    AGENT_GROUP = "agent_group"
    QUEUE = "queue"
    QUEUE_GROUP = "queue_group"
    ROUTING_POINT = "routing_point"
    VIRTUAL_QUEUE = "virtual_queue"
    TENANT = "tenant"


class Category(enum.StrEnum):
    CURRENT_STATE = "CurrentState"
    CURRENT_NUMBER = "CurrentNumber"
    CURRENT_TIME = "CurrentTime"
    CURRENT_MAX_TIME = "CurrentMaxTime"
    CURRENT_MIN_TIME = "CurrentMinTime"
    CURRENT_AVERAGE_TIME = "CurrentAverageTime"
    CURRENT_NUMBER_IN_TIME_RANGE = "CurrentNumberInTimeRange"
    CURRENT_NUMBER_IN_TIME_RANGE_PERCENTAGE = "CurrentNumberInTimeRangePercentage"
    TOTAL_NUMBER = "TotalNumber"
    TOTAL_TIME = "TotalTime"
    AVERAGE_TIME = "AverageTime"
    MAX_TIME = "MaxTime"
    MIN_TIME = "MinTime"
    TOTAL_NUMBER_IN_TIME_RANGE = "TotalNumberInTimeRange"
    TOTAL_NUMBER_IN_TIME_RANGE_PERCENTAGE = "TotalNumberInTimeRangePercentage"
    SERVICE_FACTOR = "ServiceFactor"
    RATIO = "Ratio"
    FORMULA = "Formula"


CURRENT_CATEGORIES: Final = frozenset(
    {
        Category.CURRENT_STATE,
        Category.CURRENT_NUMBER,
        Category.CURRENT_TIME,
        Category.CURRENT_MAX_TIME,
        Category.CURRENT_MIN_TIME,
        Category.CURRENT_AVERAGE_TIME,
        Category.CURRENT_NUMBER_IN_TIME_RANGE,
        Category.CURRENT_NUMBER_IN_TIME_RANGE_PERCENTAGE,
    }
)
RANGE_CATEGORIES: Final = frozenset(
    {
        Category.CURRENT_NUMBER_IN_TIME_RANGE,
        Category.CURRENT_NUMBER_IN_TIME_RANGE_PERCENTAGE,
        Category.TOTAL_NUMBER_IN_TIME_RANGE,
        Category.TOTAL_NUMBER_IN_TIME_RANGE_PERCENTAGE,
    }
)


class AgentStatus(enum.StrEnum):
    """Effective status of an agent on one media (call states override the agent's own state)."""

    LOGGED_OUT = "logged_out"
    # Ready, and able to take a contact of the media now (no contact of another media in the
    # way: see ``BUSY``).
    READY = "ready"
    NOT_READY = "not_ready"
    ACW = "acw"
    RINGING = "ringing"
    TALKING = "talking"
    HELD = "held"
    # Ready on this media but handling a contact of another media that keeps the agent from
    # taking one of this media: a call excludes every other media, and a chat or email
    # excludes calls (Amazon Connect's default routing).
    BUSY = "busy"


class ContactStatus(enum.StrEnum):
    """Status of a contact in a queue: waiting (including while it rings) or answered and ongoing."""

    WAITING = "waiting"
    IN_PROGRESS = "in_progress"


class AgentAction(enum.StrEnum):
    """Things that happen to an agent; each completes at one instant, some with a duration."""

    OFFERED = "offered"  # a contact rang / was offered
    ANSWERED = "answered"  # duration: ringing time (0 if it never rang)
    RELEASED = "released"  # an answered contact ended; duration: answer → release
    MISSED = "missed"  # an offer ended without answer at this agent
    TRANSFERRED = "transferred"
    CONFERENCED = "conferenced"
    HOLD = "hold"  # a hold ended (retrieve or release); duration: hold time
    LOGIN = "login"
    LOGOUT = "logout"  # duration: session length


class QueueAction(enum.StrEnum):
    """Things that happen to a contact in a queue, routing point or virtual queue."""

    ENTERED = "entered"
    REFUSED = "refused"
    ANSWERED = "answered"  # duration: wait
    ABANDONED = "abandoned"  # duration: wait
    DIVERTED = "diverted"  # duration: wait
    RELEASED = "released"  # duration: answer → release, at the queue it was distributed from
    # The after-call work that followed a contact answered from the queue ended; duration: it.
    AFTER_CALL_WORK = "after_call_work"
    TRANSFERRED = "transferred"
    STOPPED = "stopped"  # an interaction stopped while queued; duration: wait
    ROUTED = "routed"  # virtual queue exits, duration: wait
    CLEARED = "cleared"
    TIMEOUT = "timeout"


AGENT_OBJECTS: Final = frozenset({ObjectType.AGENT, ObjectType.AGENT_GROUP, ObjectType.TENANT})
QUEUE_OBJECTS: Final = frozenset(
    {
        ObjectType.QUEUE,
        ObjectType.QUEUE_GROUP,
        ObjectType.ROUTING_POINT,
        ObjectType.VIRTUAL_QUEUE,
        ObjectType.TENANT,
    }
)


# Actions that have a form in progress, and where it starts: an answered contact not yet
# released (answer → now), a hold not yet retrieved (hold → now), a session not yet logged out
# (login → now). With ``in_progress: true`` these count as if they completed at the read.
IN_PROGRESS_AGENT_ACTIONS: Final = frozenset({"released", "hold", "logout"})
IN_PROGRESS_QUEUE_ACTIONS: Final = frozenset({"released"})
IN_PROGRESS_CATEGORIES: Final = frozenset(
    {
        Category.TOTAL_NUMBER,
        Category.TOTAL_TIME,
        Category.AVERAGE_TIME,
        Category.MAX_TIME,
        Category.MIN_TIME,
        Category.TOTAL_NUMBER_IN_TIME_RANGE,
        Category.TOTAL_NUMBER_IN_TIME_RANGE_PERCENTAGE,
        Category.RATIO,
    }
)
UNSPECIFIED_REASON: Final = "unspecified"
"""The reason reported for a not-ready status without one (in breakdowns and reason filters)."""


class ServiceLevelType(enum.StrEnum):
    """How abandons enter the service level (see ``docs/statistics.md``)."""

    # Amazon Connect: removed from queue (answered, abandoned, diverted) within T / entered.
    REMOVED_FROM_QUEUE = "removed_from_queue"
    # Cisco: SL events are the first of answered-within, abandoned-within, threshold reached.
    IGNORE_ABANDONED = "ignore_abandoned"  # SLCalls / (SLOffered - SLAband)
    ABANDONED_NEGATIVE = "abandoned_negative"  # SLCalls / SLOffered
    ABANDONED_POSITIVE = "abandoned_positive"  # (SLCalls + SLAband) / SLOffered
    # Wazo QoS: answered within T / answered.
    ANSWERED_ONLY = "answered_only"


class Durations(enum.StrEnum):
    """Which durations an action statistic counts (waits, talk and ring times)."""

    MEASURED = "measured"  # between the events' timestamps
    # As the platform reported them on the event (queue_log's waittime, calltime, ringtime);
    # measured where the event carries none.
    REPORTED = "reported"


class Attribution(enum.StrEnum):
    """Which instant places an outcome in an interval."""

    COMPLETED = "completed"  # when the action completed (real-time servers)
    ENTERED = "entered"  # when the contact entered the queue (interval reports)


class Counting(enum.StrEnum):
    """What the tenant's queue actions count (see ``docs/statistics.md``)."""

    LEGS = "legs"  # each queue leg: a call transferred to a second queue enters twice
    CONTACTS = "contacts"  # each contact once, from its first ACD queue entry


# The actions counted per contact (``count: contacts``).
CONTACT_ACTIONS: Final = frozenset({"entered", "answered", "abandoned"})


class DisplayFormat(enum.StrEnum):
    TIME = "time"
    INTEGER = "integer"
    NUMBER = "number"
    PERCENT = "percent"
    STRING = "string"
    STATUS = "status"


TimeOfDay = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
# At most about 31 years: any duration in milliseconds fits a 64-bit integer.
Seconds = Annotated[float, msgspec.Meta(ge=0, le=1e9)]
WholeSeconds = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
# Late outcomes: the default grace of entered attribution, and the bounds of any grace (what a
# fixed accumulator keeps stays small: at most this many closed intervals, within a day).
DEFAULT_GRACE_S: Final = 3600
MAX_GRACE_S: Final = 86_400
MAX_CLOSED_INTERVALS: Final = 96


class Growing(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="growing"
):
    """Grows from the last reset: at ``reset`` (local time of day, tenant's zone), and, if
    ``every_hours`` is set, every that many wall-clock hours after it within the day."""

    reset: TimeOfDay = "00:00"
    every_hours: Annotated[int, msgspec.Meta(ge=1, le=24)] | None = None


class Sliding(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="sliding"
):
    """The last ``window_s`` seconds, advancing in steps of ``step_s`` (window a multiple)."""

    window_s: WholeSeconds
    step_s: WholeSeconds


class Selection(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="selection"
):
    """The current fixed interval of ``interval_min`` wall-clock minutes (e.g. this half-hour)."""

    interval_min: Annotated[int, msgspec.Meta(ge=1, le=1440)]


class SinceLogin(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="since_login"
):
    """From the agent's latest login (agents only); missing before the first login."""


class EverGrowing(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="ever"
):
    """Never resets."""


TimeProfile = Growing | Sliding | Selection | SinceLogin | EverGrowing


def interval_minutes(profile: TimeProfile) -> int:
    """The length in wall-clock minutes of a growing or selection profile's intervals."""
    if isinstance(profile, Selection):
        return profile.interval_min
    if isinstance(profile, Growing) and profile.every_hours:
        return profile.every_hours * 60
    return 24 * 60


class TimeRange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Inclusive bounds in seconds; ``to_s`` None means no upper bound."""

    from_s: Seconds = 0.0
    to_s: Seconds | None = None


class Filter(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Restricts what is counted. ``media`` defaults to voice for agent statuses; ``skill``
    matches the attached-data key ``skill``, or when the contact carries none the configured
    skill of the ACD queue it entered last; ``data`` requires every key to have its value;
    ``reasons`` are not-ready reasons (``unspecified`` matches a not-ready without reason);
    ``refusal_reasons`` keep the ``refused`` actions of these reasons and ``diversion_causes``
    the ``diverted`` actions of these causes (other actions of the mask are not filtered)."""

    media: tuple[Media, ...] = ()
    direction: tuple[Direction, ...] = ()
    skill: str | None = None
    data: dict[str, str] = {}
    reasons: tuple[str, ...] = ()  # not-ready reasons, for agent status masks
    refusal_reasons: tuple[RefusalReason, ...] = ()
    diversion_causes: tuple[DiversionCause, ...] = ()

    @property
    def contact_filtered(self) -> bool:
        return bool(self.direction or self.skill is not None or self.data)


class ServiceLevel(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: ServiceLevelType = ServiceLevelType.ABANDONED_NEGATIVE
    threshold_s: Seconds = 20.0


class Notification(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When the collector sends a change: ``change`` (moves more than ``insensitivity_pct``),
    ``time`` (every ``every_s``) or ``reset`` (at profile resets)."""

    mode: Annotated[str, msgspec.Meta(pattern="^(change|time|reset)$")] = "change"
    insensitivity_pct: Seconds = 0.0
    every_s: WholeSeconds | None = None


class StatisticDefinition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
    object: ObjectType
    category: Category
    mask: tuple[str, ...] = ()
    denominator_mask: tuple[str, ...] = ()
    profile: TimeProfile = Growing()
    time_range: TimeRange | None = None
    filter: Filter = Filter()
    attribution: Attribution = Attribution.COMPLETED
    # How long (s) a closed interval of a growing or selection profile still takes outcomes
    # attributed to it (``grace_ms``); at most a day and ``MAX_CLOSED_INTERVALS`` intervals.
    grace_s: Annotated[int, msgspec.Meta(ge=0, le=MAX_GRACE_S)] | None = None
    durations: Durations = Durations.MEASURED
    count: Counting = Counting.LEGS
    # Default: True for statuses (time so far counts), False for actions (count on completion).
    in_progress: bool | None = None
    # "reason": a TotalTime of [not_ready] read as a mapping reason → ms instead of one number.
    breakdown: Literal["reason"] | None = None
    service_level: ServiceLevel | None = None
    formula: str | None = None
    notification: Notification = Notification()
    format: DisplayFormat = DisplayFormat.INTEGER
    description: str = ""

    @property
    def is_status(self) -> bool:
        """True when the mask names statuses (agent or contact), not actions."""
        return bool(self.mask) and self.mask[0] in _STATUS_WORDS

    @property
    def counts_in_progress(self) -> bool:
        if self.is_status:
            return self.in_progress is not False
        return self.in_progress is True

    @property
    def grace_ms(self) -> int:
        """``grace_s`` in ms; by default ``DEFAULT_GRACE_S`` for outcomes attributed to the
        entry on a growing or selection profile (a call entered at 08:59:59 and abandoned at
        09:00:30 counts in 08:00 to 09:00), else none (an outcome lands in the interval it
        completed in, the current one)."""
        if self.grace_s is not None:
            return self.grace_s * 1000
        if self.attribution is Attribution.ENTERED and isinstance(
            self.profile, Growing | Selection
        ):
            return DEFAULT_GRACE_S * 1000
        return 0

    @property
    def kept_intervals(self) -> int:
        """Intervals a fixed accumulator of this statistic keeps: the current one and the
        closed ones still within the grace (one more for an interval shortened by a DST
        change). Without a grace, a selection profile keeps the previous interval too (read
        until the next one closes), other profiles only the current one."""
        grace = self.grace_ms
        if not grace:
            return 2 if isinstance(self.profile, Selection) else 1
        step = interval_minutes(self.profile) * 60_000
        return 2 + -(-grace // step)

    @property
    def status_media(self) -> Media:
        return self.filter.media[0] if self.filter.media else Media.VOICE


class DefinitionFile(msgspec.Struct, forbid_unknown_fields=True):
    statistics: list[StatisticDefinition]


_AGENT_STATUS_WORDS: Final = frozenset(s.value for s in AgentStatus)
_CONTACT_STATUS_WORDS: Final = frozenset(s.value for s in ContactStatus)
_STATUS_WORDS: Final = _AGENT_STATUS_WORDS | _CONTACT_STATUS_WORDS
# Agent statuses that are on a contact (a contact filter can apply to them).
_CONTACT_AGENT_STATUSES: Final = frozenset({"ringing", "talking", "held"})
_AGENT_ACTION_WORDS: Final = frozenset(a.value for a in AgentAction)
_QUEUE_ACTION_WORDS: Final = frozenset(a.value for a in QueueAction)
_HISTORICAL_STATUS_CATEGORIES: Final = frozenset(
    {
        Category.TOTAL_NUMBER,
        Category.TOTAL_TIME,
        Category.AVERAGE_TIME,
        Category.MAX_TIME,
        Category.MIN_TIME,
    }
)
_PATH = re.compile(r"at `\$(.*)`")
_FORMULA_REF = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")


def _fail(index: int, definition_id: str, field: str, message: str) -> InvalidInput:
    path = f"statistics[{index}].{field}"
    return InvalidInput(f"{path} ({definition_id}): {message}", field=path, id=definition_id)


def check_definition(index: int, d: StatisticDefinition) -> None:
    """Check what the schema cannot: masks fitting the object, categories fitting profiles."""
    if d.category is Category.FORMULA:
        if not d.formula:
            raise _fail(index, d.id, "formula", "a Formula statistic needs a formula")
        return
    if d.formula is not None:
        raise _fail(index, d.id, "formula", "only the Formula category takes a formula")
    if d.category is Category.CURRENT_STATE:
        if d.object is not ObjectType.AGENT:
            raise _fail(index, d.id, "object", "CurrentState is defined for agents only")
        return
    if not d.mask:
        raise _fail(index, d.id, "mask", "the mask is empty")
    is_status = d.mask[0] in _STATUS_WORDS
    for position, word in enumerate((*d.mask, *d.denominator_mask)):
        field = (
            f"mask[{position}]"
            if position < len(d.mask)
            else f"denominator_mask[{position - len(d.mask)}]"
        )
        if (word in _STATUS_WORDS) != is_status:
            raise _fail(index, d.id, field, f"{word!r}: a mask is all statuses or all actions")
        if is_status:
            agent_status = d.mask[0] in _AGENT_STATUS_WORDS
            if (word in _AGENT_STATUS_WORDS) != agent_status:
                raise _fail(index, d.id, field, f"{word!r}: agent and contact statuses mixed")
            allowed = AGENT_OBJECTS if agent_status else QUEUE_OBJECTS
            if agent_status and d.category in CURRENT_CATEGORIES:
                # Agents of a queue (login queues and configured members), counted once in a
                # queue group.
                allowed = AGENT_OBJECTS | {ObjectType.QUEUE, ObjectType.QUEUE_GROUP}
            if d.object not in allowed:
                raise _fail(index, d.id, field, f"status {word!r} does not apply to {d.object}")
            continue
        known = _AGENT_ACTION_WORDS if d.object in _AGENT_ACTION_OBJECTS else _QUEUE_ACTION_WORDS
        if word not in known:
            raise _fail(
                index,
                d.id,
                field,
                f"unknown action {word!r} for {d.object}; expected one of {sorted(known)}",
            )
    if d.category in CURRENT_CATEGORIES and not is_status:
        raise _fail(index, d.id, "mask", f"{d.category} counts statuses, not actions")
    if (
        is_status
        and d.filter.contact_filtered
        and d.mask[0] in _AGENT_STATUS_WORDS
        and (d.category not in CURRENT_CATEGORIES or not set(d.mask) <= _CONTACT_AGENT_STATUSES)
    ):
        raise _fail(
            index,
            d.id,
            "filter",
            "a contact filter on agent statuses needs a current category and a mask of ringing, "
            "talking and held (the statuses on a contact); time on such contacts is an action "
            "(released, hold)",
        )
    if is_status and d.category not in CURRENT_CATEGORIES:
        if d.mask[0] not in _AGENT_STATUS_WORDS:
            raise _fail(index, d.id, "mask", "historical categories on queues count actions")
        if d.category not in _HISTORICAL_STATUS_CATEGORIES:
            raise _fail(index, d.id, "category", f"{d.category} counts actions, not statuses")
    if not is_status and d.in_progress:
        if d.category not in IN_PROGRESS_CATEGORIES:
            raise _fail(index, d.id, "in_progress", f"{d.category} counts completed actions")
        capable = (
            IN_PROGRESS_AGENT_ACTIONS
            if d.object in _AGENT_ACTION_OBJECTS
            else IN_PROGRESS_QUEUE_ACTIONS
        )
        for word in (*d.mask, *d.denominator_mask):
            if word not in capable:
                raise _fail(
                    index,
                    d.id,
                    "in_progress",
                    f"{word!r} has no form in progress; only {sorted(capable)} do",
                )
    for field, action, values in (
        ("filter.refusal_reasons", "refused", d.filter.refusal_reasons),
        ("filter.diversion_causes", "diverted", d.filter.diversion_causes),
    ):
        if values and (
            action not in (*d.mask, *d.denominator_mask) or d.category is Category.SERVICE_FACTOR
        ):
            raise _fail(index, d.id, field, f"filters {action!r} actions: the mask must count them")
    if d.durations is Durations.REPORTED and (is_status or d.category in CURRENT_CATEGORIES):
        raise _fail(
            index, d.id, "durations", "platforms report durations of actions, not of statuses"
        )
    if d.breakdown is not None and (
        d.category is not Category.TOTAL_TIME or d.mask != ("not_ready",)
    ):
        raise _fail(index, d.id, "breakdown", "a breakdown by reason is a TotalTime of not_ready")
    if d.breakdown is not None and d.filter.reasons:
        raise _fail(index, d.id, "filter.reasons", "a breakdown by reason shows every reason")
    if (d.category in RANGE_CATEGORIES) != (d.time_range is not None):
        raise _fail(index, d.id, "time_range", f"{d.category} and time_range go together")
    if (d.category is Category.SERVICE_FACTOR) != (d.service_level is not None):
        raise _fail(index, d.id, "service_level", "ServiceFactor and service_level go together")
    if d.category is Category.SERVICE_FACTOR and d.object not in QUEUE_OBJECTS:
        raise _fail(index, d.id, "object", "service level is measured on queues")
    if (d.category is Category.RATIO) != bool(d.denominator_mask):
        raise _fail(index, d.id, "denominator_mask", "Ratio and denominator_mask go together")
    if d.category is Category.RATIO and d.format is DisplayFormat.PERCENT:
        # Every percentage is 0-100; a Ratio is a fraction (0-1).
        raise _fail(
            index,
            d.id,
            "format",
            "a Ratio is a fraction (0-1), not a percentage; for one write a Formula (100 * a / b)",
        )
    if d.count is Counting.CONTACTS:
        if d.object is not ObjectType.TENANT:
            raise _fail(index, d.id, "count", "contacts are counted on the tenant")
        for position, word in enumerate(d.mask):
            if word not in CONTACT_ACTIONS:
                raise _fail(
                    index,
                    d.id,
                    f"mask[{position}]",
                    f"{word!r} is counted per leg; per contact only {sorted(CONTACT_ACTIONS)}",
                )
        if d.category is Category.RATIO or d.in_progress:
            raise _fail(index, d.id, "count", f"{d.category} counts legs")
    if isinstance(d.profile, Sliding) and d.profile.window_s % d.profile.step_s:
        raise _fail(index, d.id, "profile.window_s", "the window must be a multiple of the step")
    if isinstance(d.profile, Sliding) and d.profile.window_s // d.profile.step_s > 10_000:
        raise _fail(index, d.id, "profile.step_s", "at most 10000 steps per window")
    if d.grace_s and not isinstance(d.profile, Growing | Selection):
        raise _fail(index, d.id, "grace_s", "a grace applies to growing and selection profiles")
    if d.kept_intervals - 2 > MAX_CLOSED_INTERVALS:
        raise _fail(
            index,
            d.id,
            "grace_s",
            f"keeps at most {MAX_CLOSED_INTERVALS} closed intervals of "
            f"{interval_minutes(d.profile)} min",
        )
    if isinstance(d.profile, SinceLogin) and d.object is not ObjectType.AGENT:
        raise _fail(index, d.id, "profile", "since_login applies to agents only")
    if is_status and len(d.filter.media) > 1 and d.mask[0] in _AGENT_STATUS_WORDS:
        raise _fail(index, d.id, "filter.media", "agent statuses are per media: name one")


_AGENT_ACTION_OBJECTS: Final = frozenset({ObjectType.AGENT, ObjectType.AGENT_GROUP})


class DefinitionSet:
    """Checked definitions by id, formulas parsed, with no unknown reference and no cycle."""

    def __init__(self, definitions: list[StatisticDefinition]) -> None:
        from wallboard.stats.formula import parse_formula

        self.by_id: dict[str, StatisticDefinition] = {}
        self.formulas: dict[str, Any] = {}
        for index, d in enumerate(definitions):
            if d.id in self.by_id:
                raise _fail(index, d.id, "id", "duplicate id")
            check_definition(index, d)
            self.by_id[d.id] = d
        for index, d in enumerate(definitions):
            if d.formula is None:
                continue
            try:
                expression = parse_formula(d.formula)
            except InvalidInput as exc:
                raise _fail(index, d.id, "formula", exc.message) from None
            for ref in expression.references():
                target = self.by_id.get(ref)
                if target is None:
                    raise _fail(index, d.id, "formula", f"unknown statistic {ref!r}")
                if target.object is not d.object:
                    raise _fail(index, d.id, "formula", f"{ref!r} measures {target.object}")
            self.formulas[d.id] = expression
        for index, d in enumerate(definitions):
            self._check_acyclic(index, d.id, ())

    def _check_acyclic(self, index: int, stat_id: str, path: tuple[str, ...]) -> None:
        if stat_id in path:
            raise _fail(index, path[0], "formula", "cycle: " + " -> ".join((*path, stat_id)))
        expression = self.formulas.get(stat_id)
        if expression is None:
            return
        for ref in expression.references():
            self._check_acyclic(index, ref, (*path, stat_id))

    def __getitem__(self, stat_id: str) -> StatisticDefinition:
        return self.by_id[stat_id]

    def __contains__(self, stat_id: object) -> bool:
        return stat_id in self.by_id

    def __iter__(self) -> Any:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)

    def for_object(self, object_type: ObjectType) -> list[StatisticDefinition]:
        return [d for d in self.by_id.values() if d.object is object_type]


def decode_definitions(document: object) -> DefinitionSet:
    """Build a checked set from a decoded YAML/JSON document (``{"statistics": [...]}``)."""
    if isinstance(document, list):
        document = {"statistics": document}
    try:
        parsed = msgspec.convert(document, type=DefinitionFile, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH.search(message)
        field = match.group(1).lstrip(".") if match else "statistics"
        raise InvalidInput(f"{field}: {message}", field=field) from None
    return DefinitionSet(parsed.statistics)


def load_definitions_text(text: str) -> DefinitionSet:
    """Parse YAML (a superset of JSON) text into a checked set."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"definitions are not valid YAML/JSON: {exc}", field="document"
        ) from None
    return decode_definitions(document)
