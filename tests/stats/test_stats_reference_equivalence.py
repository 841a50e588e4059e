"""The incremental engine equals a brute-force recomputation on generated event sequences.

Sequences cross local midnights and a DST change in America/New_York, carry calls with
attached data and directions, chat and email interactions, virtual queues, agents on voice and
chat whose logins name queues, contradictions (releases of unknown calls, states while logged
out), duplicates and reordering within the allowed lateness; every statistic is compared on
agents, overlapping groups, queues, a queue group, a virtual queue and the tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_reference import Facts, derive_facts, queue_agents, reference_value

from wallboard.core import events as ev
from wallboard.stats import (
    GroupConfig,
    ObjectConfig,
    QueueConfig,
    QueueGroupConfig,
    StatisticsEngine,
    decode_definitions,
)
from wallboard.stats.definitions import (
    CURRENT_CATEGORIES,
    Category,
    DefinitionSet,
    Growing,
    Selection,
)

ZONE_NAME = "America/New_York"
ZONE = ZoneInfo(ZONE_NAME)
TENANT = "t"
AGENTS = ("a0", "a1", "a2")
QUEUES = ("q0", "q1")
CALLS = tuple(f"c{i}" for i in range(6))
INTERACTIONS = tuple(f"i{i}" for i in range(4))
GROUPS = {"g": ("a0", "a1"), "h": ("a1", "a2")}
CONFIG = ObjectConfig(
    agent_groups={
        "g": GroupConfig(agents=GROUPS["g"]),
        "h": GroupConfig(agents=GROUPS["h"]),
        "all": GroupConfig(groups=("g", "h")),
    },
    queue_groups={"qg": QueueGroupConfig(queues=QUEUES)},
    queues={"q0": QueueConfig(agents=("a2",), skill="sales")},
)
MEMBERS = {"g": frozenset(GROUPS["g"]), "h": frozenset(GROUPS["h"]), "all": frozenset(AGENTS)}
LATENESS_MS = 5_000
# Categories without intervals of their own: read from the state now, or from other statistics.
READ_WITHOUT_INTERVALS = CURRENT_CATEGORIES | {Category.FORMULA}

PROFILES: dict[str, dict[str, Any]] = {
    "day": {"kind": "growing"},
    "two": {"kind": "growing", "reset": "02:00"},  # inside the spring-forward gap
    "six": {"kind": "growing", "reset": "01:00", "every_hours": 6},
    "half": {"kind": "selection", "interval_min": 30},
    "slide": {"kind": "sliding", "window_s": 3600, "step_s": 300},
    "ever": {"kind": "ever"},
}


def _definitions() -> DefinitionSet:
    items: list[dict[str, Any]] = []
    for name, profile in PROFILES.items():
        for owner in ("agent", "agent_group"):
            prefix = f"{owner}.{name}"
            items += [
                {"id": f"{prefix}.handled", "category": "TotalNumber", "mask": ["released"]},
                {
                    "id": f"{prefix}.answered_in_10",
                    "category": "TotalNumberInTimeRange",
                    "mask": ["answered"],
                    "time_range": {"from_s": 0, "to_s": 10},
                },
                {"id": f"{prefix}.avg_call", "category": "AverageTime", "mask": ["released"]},
                {
                    "id": f"{prefix}.avg_call_reported",
                    "category": "AverageTime",
                    "mask": ["released"],
                    "durations": "reported",
                },
                {
                    "id": f"{prefix}.ring_max_reported",
                    "category": "MaxTime",
                    "mask": ["answered"],
                    "durations": "reported",
                },
                {"id": f"{prefix}.max_hold", "category": "MaxTime", "mask": ["hold"]},
                {
                    "id": f"{prefix}.missed_by_entry",
                    "category": "TotalNumber",
                    "mask": ["missed"],
                    "attribution": "entered",
                },
                # Actions in progress count as if they completed at the read.
                {
                    "id": f"{prefix}.handled_live",
                    "category": "TotalNumber",
                    "mask": ["released"],
                    "in_progress": True,
                },
                {
                    "id": f"{prefix}.call_time_live_by_entry",
                    "category": "TotalTime",
                    "mask": ["released"],
                    "in_progress": True,
                    "attribution": "entered",
                },
                {
                    "id": f"{prefix}.hold_max_live",
                    "category": "MaxTime",
                    "mask": ["hold"],
                    "in_progress": True,
                },
                {
                    "id": f"{prefix}.session_avg_live",
                    "category": "AverageTime",
                    "mask": ["logout"],
                    "in_progress": True,
                },
                {
                    "id": f"{prefix}.chats_handled_live",
                    "category": "TotalNumber",
                    "mask": ["released"],
                    "in_progress": True,
                    "filter": {"media": ["chat"]},
                },
                {
                    "id": f"{prefix}.handled_es",
                    "category": "TotalNumber",
                    "mask": ["released"],
                    "filter": {"data": {"lang": "es"}},
                },
                # Status times: every profile, sliding windows included.
                {"id": f"{prefix}.talk", "category": "TotalTime", "mask": ["talking", "held"]},
                {
                    "id": f"{prefix}.nr_by_reason",
                    "category": "TotalTime",
                    "mask": ["not_ready"],
                    "breakdown": "reason",
                },
                {
                    "id": f"{prefix}.nr_done",
                    "category": "TotalTime",
                    "mask": ["not_ready"],
                    "in_progress": False,
                },
                {
                    "id": f"{prefix}.chat_talk",
                    "category": "TotalTime",
                    "mask": ["talking"],
                    "filter": {"media": ["chat"]},
                },
            ]
            # Intervals in statuses (counts, average, longest, shortest) and times with a
            # reason filter: every profile, sliding windows included.
            items += [
                {
                    "id": f"{prefix}.nr_unspecified",
                    "category": "TotalTime",
                    "mask": ["not_ready"],
                    "filter": {"reasons": ["unspecified"]},
                },
                {"id": f"{prefix}.nr_count", "category": "TotalNumber", "mask": ["not_ready"]},
                {
                    "id": f"{prefix}.login_avg",
                    "category": "AverageTime",
                    "mask": ["ready", "not_ready", "acw", "ringing", "talking", "held", "busy"],
                },
                {"id": f"{prefix}.ready_max", "category": "MaxTime", "mask": ["ready"]},
                {"id": f"{prefix}.busy", "category": "TotalTime", "mask": ["busy"]},
                {
                    "id": f"{prefix}.chat_busy",
                    "category": "TotalTime",
                    "mask": ["busy"],
                    "filter": {"media": ["chat"]},
                },
                {
                    "id": f"{prefix}.acw_min",
                    "category": "MinTime",
                    "mask": ["acw"],
                    "in_progress": False,
                },
            ]
            for item in items:
                item.setdefault("object", owner)
                item.setdefault("profile", profile)
        prefix = f"queue.{name}"
        queue_items: list[dict[str, Any]] = [
            {"id": f"{prefix}.entered", "category": "TotalNumber", "mask": ["entered"]},
            {"id": f"{prefix}.answered", "category": "TotalNumber", "mask": ["answered"]},
            {
                "id": f"{prefix}.answered_by_entry",
                "category": "TotalNumber",
                "mask": ["answered"],
                "attribution": "entered",
            },
            {"id": f"{prefix}.asa", "category": "AverageTime", "mask": ["answered"]},
            {"id": f"{prefix}.abandoned_min", "category": "MinTime", "mask": ["abandoned"]},
            {"id": f"{prefix}.handled_time", "category": "TotalTime", "mask": ["released"]},
            {"id": f"{prefix}.acw_time", "category": "TotalTime", "mask": ["after_call_work"]},
            {
                "id": f"{prefix}.handle_time_es",
                "category": "TotalTime",
                "mask": ["released", "after_call_work"],
                "filter": {"data": {"lang": "es"}},
            },
            {
                "id": f"{prefix}.pct_in_20",
                "category": "TotalNumberInTimeRangePercentage",
                "mask": ["answered"],
                "time_range": {"from_s": 0, "to_s": 20},
            },
            {
                "id": f"{prefix}.handle_avg_live",
                "category": "AverageTime",
                "mask": ["released"],
                "in_progress": True,
            },
            {
                "id": f"{prefix}.answered_es",
                "category": "TotalNumber",
                "mask": ["answered"],
                "filter": {"data": {"lang": "es"}},
            },
            {
                "id": f"{prefix}.answered_sales",
                "category": "TotalNumber",
                "mask": ["answered"],
                "filter": {"skill": "sales"},
            },
            {
                "id": f"{prefix}.entered_outbound",
                "category": "TotalNumber",
                "mask": ["entered"],
                "filter": {"direction": ["outbound"]},
            },
            {
                "id": f"{prefix}.chats_answered",
                "category": "TotalNumber",
                "mask": ["answered"],
                "filter": {"media": ["chat"]},
            },
            {
                "id": f"{prefix}.stopped_or_abandoned",
                "category": "TotalNumber",
                "mask": ["stopped", "abandoned"],
            },
            {
                "id": f"{prefix}.sl_es",
                "category": "ServiceFactor",
                "mask": ["answered"],
                "filter": {"data": {"lang": "es"}},
                "service_level": {"type": "abandoned_negative", "threshold_s": 20},
            },
            # Refusals by reason, diversions by cause, and durations as platforms report them.
            {
                "id": f"{prefix}.refused_closed",
                "category": "TotalNumber",
                "mask": ["refused"],
                "filter": {"refusal_reasons": ["closed"]},
            },
            {
                "id": f"{prefix}.received_open",
                "category": "TotalNumber",
                "mask": ["entered", "refused"],
                "filter": {"refusal_reasons": ["full", "join_empty", "no_agents"]},
            },
            {
                "id": f"{prefix}.refused_full_inbound",
                "category": "TotalNumber",
                "mask": ["refused"],
                "filter": {"refusal_reasons": ["full"], "direction": ["inbound"]},
            },
            {
                "id": f"{prefix}.closed_rate",
                "category": "Ratio",
                "mask": ["refused"],
                "denominator_mask": ["entered", "refused"],
                "filter": {"refusal_reasons": ["closed"]},
            },
            {
                "id": f"{prefix}.diverted_on_load",
                "category": "TotalNumber",
                "mask": ["diverted"],
                "filter": {"diversion_causes": ["calls_per_agent", "expected_wait"]},
            },
            {
                "id": f"{prefix}.routed_on_wait",
                "category": "AverageTime",
                "mask": ["diverted"],
                "filter": {"diversion_causes": ["routed"]},
            },
            {
                "id": f"{prefix}.timeout_wait_reported",
                "category": "MaxTime",
                "mask": ["diverted", "abandoned"],
                "filter": {"diversion_causes": ["timeout"]},
                "durations": "reported",
            },
            {
                "id": f"{prefix}.asa_reported",
                "category": "AverageTime",
                "mask": ["answered"],
                "durations": "reported",
            },
            {
                "id": f"{prefix}.handled_time_reported",
                "category": "TotalTime",
                "mask": ["released"],
                "durations": "reported",
            },
            {
                "id": f"{prefix}.sl_reported",
                "category": "ServiceFactor",
                "mask": ["answered"],
                "durations": "reported",
                "service_level": {"type": "removed_from_queue", "threshold_s": 20},
            },
        ]
        queue_items += [
            {
                "id": f"{prefix}.sl_{sl_type}_{attribution}",
                "category": "ServiceFactor",
                "mask": ["answered"],
                "attribution": attribution,
                "service_level": {"type": sl_type, "threshold_s": 20},
            }
            for sl_type in (
                "removed_from_queue",
                "ignore_abandoned",
                "abandoned_negative",
                "abandoned_positive",
                "answered_only",
            )
            for attribution in ("completed", "entered")
        ]
        for item in queue_items:
            item["object"] = "queue"
            item["profile"] = profile
        items += queue_items
        for owner in ("queue_group", "tenant"):
            items += [
                {**i, "id": f"{owner}.{name}.{i['id'].split('.')[-1]}", "object": owner}
                for i in queue_items
                if i["id"].split(".")[-1]
                in (
                    "entered",
                    "answered",
                    "handle_avg_live",
                    "answered_sales",
                    "sl_es",
                    "received_open",
                    "diverted_on_load",
                    "asa_reported",
                    "acw_time",
                )
            ]
        # The tenant's counts per contact (first queue entry), beside its counts per leg.
        items += [
            {**i, "id": f"tenant.{name}.contacts_{i['id'].split('.')[-1]}", "object": "tenant"}
            | {"count": "contacts"}
            for i in queue_items
            if i["id"].split(".")[-1]
            in (
                "entered",
                "answered_by_entry",
                "asa",
                "abandoned_min",
                "answered_es",
                "sl_es",
                "sl_removed_from_queue_completed",
                "sl_abandoned_negative_entered",
                "sl_answered_only_completed",
            )
        ]
        vq_items: list[dict[str, Any]] = [
            {"id": f"virtual_queue.{name}.entered", "category": "TotalNumber", "mask": ["entered"]},
            {
                "id": f"virtual_queue.{name}.routed_avg",
                "category": "AverageTime",
                "mask": ["routed"],
            },
            {
                "id": f"virtual_queue.{name}.sl",
                "category": "ServiceFactor",
                "mask": ["routed"],
                "service_level": {"type": "abandoned_positive", "threshold_s": 20},
            },
        ]
        for item in vq_items:
            item["object"] = "virtual_queue"
            item["profile"] = profile
        items += vq_items
    items += [
        {
            "id": "agent.now.login_since",
            "object": "agent",
            "category": "TotalTime",
            "mask": ["ready", "not_ready", "acw", "ringing", "talking", "held", "busy"],
            "profile": {"kind": "since_login"},
        },
        {
            "id": "agent.now.handled_since",
            "object": "agent",
            "category": "TotalNumber",
            "mask": ["released"],
            "profile": {"kind": "since_login"},
        },
        {
            "id": "agent_group.now.ready",
            "object": "agent_group",
            "category": "CurrentNumber",
            "mask": ["ready"],
        },
        {
            "id": "agent_group.now.busy",
            "object": "agent_group",
            "category": "CurrentNumber",
            "mask": ["busy"],
        },
        {
            "id": "agent_group.now.longest_nr",
            "object": "agent_group",
            "category": "CurrentMaxTime",
            "mask": ["not_ready"],
        },
        {
            "id": "agent.now.talking",
            "object": "agent",
            "category": "CurrentNumber",
            "mask": ["talking"],
        },
        {
            "id": "queue.now.waiting",
            "object": "queue",
            "category": "CurrentNumber",
            "mask": ["waiting"],
        },
        {
            "id": "queue.now.longest",
            "object": "queue",
            "category": "CurrentMaxTime",
            "mask": ["waiting"],
        },
        *[
            {
                "id": f"{owner}.now.{suffix}",
                "object": owner,
                "category": "CurrentNumber",
                "mask": ["waiting"],
                "filter": current_filter,
            }
            for owner in ("queue", "queue_group", "tenant")
            for suffix, current_filter in (
                ("waiting_es", {"data": {"lang": "es"}}),
                ("waiting_outbound", {"direction": ["outbound"], "media": ["voice"]}),
                ("waiting_sales", {"skill": "sales"}),
                ("chats_waiting", {"media": ["chat"]}),
            )
        ],
        *[
            {"id": f"{owner}.now.{suffix}", "object": owner, "category": category, "mask": mask}
            for owner in ("queue", "queue_group")
            for suffix, category, mask in (
                ("agents_ready", "CurrentNumber", ["ready"]),
                ("agents_busy", "CurrentNumber", ["busy"]),
                ("agents_in", "CurrentNumber", ["ready", "not_ready", "acw", "talking", "held"]),
                ("longest_nr", "CurrentMaxTime", ["not_ready"]),
            )
        ],
        # Agents on a contact that matches a filter, in one of the mask's statuses.
        *[
            {
                "id": f"{owner}.now.{suffix}",
                "object": owner,
                "category": category,
                "mask": mask,
                "filter": current_filter,
            }
            for owner in ("agent", "agent_group", "queue", "queue_group", "tenant")
            for suffix, category, mask, current_filter in (
                ("on_es", "CurrentNumber", ["talking", "held"], {"data": {"lang": "es"}}),
                ("held_outbound", "CurrentNumber", ["held"], {"direction": ["outbound"]}),
                ("ringing_sales", "CurrentMaxTime", ["ringing"], {"skill": "sales"}),
                (
                    "chatting_es",
                    "CurrentNumber",
                    ["talking"],
                    {"media": ["chat"], "data": {"lang": "es"}},
                ),
            )
        ],
        {
            "id": "queue.now.chat_agents_ready",
            "object": "queue",
            "category": "CurrentNumber",
            "mask": ["ready"],
            "filter": {"media": ["chat"]},
        },
        {
            "id": "agent_group.now.nr_unspecified",
            "object": "agent_group",
            "category": "CurrentNumber",
            "mask": ["not_ready"],
            "filter": {"reasons": ["unspecified"]},
        },
        {
            "id": "virtual_queue.now.waiting",
            "object": "virtual_queue",
            "category": "CurrentNumber",
            "mask": ["waiting"],
        },
        {
            "id": "virtual_queue.now.longest",
            "object": "virtual_queue",
            "category": "CurrentMaxTime",
            "mask": ["waiting"],
        },
    ]
    return decode_definitions({"statistics": items})


DEFINITIONS = _definitions()
# Around the fall-back (2024-11-03 06:00 UTC) and spring-forward (2024-03-10 07:00 UTC) changes.
STARTS = [
    int(datetime(2024, 11, 2, 20, 0, tzinfo=UTC).timestamp() * 1000),
    int(datetime(2024, 3, 9, 22, 30, tzinfo=UTC).timestamp() * 1000),
]

OUTCOMES = ("completed", "abandoned", "stopped")
REFUSALS = tuple(ev.RefusalReason)
DIVERSIONS = tuple(ev.DiversionCause)
VQ_EXITS = ("routed", "abandoned", "cleared", "timeout")
_LOGIN_QUEUES = st.sampled_from([(), ("q0",), ("q1",), ("q0", "q1")])
# A login on voice and chat at once, or on one of them (two platforms, each its own media).
_MEDIA = st.sampled_from([("voice", "chat"), ("voice",), ("chat",)])
# A logout of every media (none named), or of the named ones.
LOGOUT_MEDIA = [(), ("voice",), ("chat",), ("voice", "chat")]
# A change of the queues of the whole session (none named) or of one media.
MEDIA_SETS = [(), ("voice",), ("chat",)]
_op = st.one_of(
    st.tuples(st.just("login"), st.sampled_from(AGENTS), _LOGIN_QUEUES, _MEDIA),
    st.tuples(
        st.just("queues"), st.sampled_from(AGENTS), _LOGIN_QUEUES, st.sampled_from(MEDIA_SETS)
    ),
    st.tuples(st.just("ready_chat"), st.sampled_from(AGENTS)),
    st.tuples(st.just("logout"), st.sampled_from(AGENTS), st.sampled_from(LOGOUT_MEDIA)),
    st.tuples(st.just("ready"), st.sampled_from(AGENTS)),
    st.tuples(
        st.just("not_ready"), st.sampled_from(AGENTS), st.sampled_from(["break", "lunch", None])
    ),
    st.tuples(st.just("acw"), st.sampled_from(AGENTS)),
    st.tuples(
        st.just("queue"),
        st.sampled_from(CALLS),
        st.sampled_from(QUEUES),
        st.sampled_from(["es", "en"]),
        st.sampled_from(["inbound", "outbound"]),
    ),
    st.tuples(st.just("ix_done"), st.sampled_from(INTERACTIONS), st.sampled_from(OUTCOMES)),
    st.tuples(st.just("vq_left"), st.sampled_from(CALLS), st.sampled_from(VQ_EXITS)),
    st.tuples(st.just("ring"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("answer"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("hold"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("retrieve"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("release"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("abandon"), st.sampled_from(CALLS), st.sampled_from(QUEUES)),
    st.tuples(
        st.just("refuse"),
        st.sampled_from(CALLS),
        st.sampled_from(QUEUES),
        st.sampled_from(REFUSALS),
    ),
    st.tuples(
        st.just("divert"),
        st.sampled_from(CALLS),
        st.sampled_from(QUEUES),
        st.sampled_from(DIVERSIONS),
    ),
)
_gap = st.one_of(st.integers(1_000, 40_000), st.integers(40_000, 3_600_000))


def _event(op: tuple[Any, ...], ts: int, index: int) -> ev.Event:
    common: dict[str, Any] = {
        "tenant": TENANT,
        "source": "s",
        "seq": index,
        "id": f"e{index}",
        "ts": ts,
    }
    kind = op[0]
    if kind == "login":
        return ev.AgentLogin(agent=op[1], media=tuple(map(ev.Media, op[3])), queues=op[2], **common)
    if kind == "queues":
        return ev.AgentQueuesChanged(
            agent=op[1], queues=op[2], media=tuple(map(ev.Media, op[3])), **common
        )
    if kind == "ready_chat":
        return ev.AgentReady(agent=op[1], media=ev.Media.CHAT, **common)
    if kind == "ix_create":
        return ev.InteractionCreated(
            interaction=op[1],
            media=ev.Media(op[2]),
            data={"lang": op[3]},
            direction=ev.Direction(op[4]),
            **common,
        )
    if kind == "ix_queue":
        return ev.InteractionQueued(interaction=op[1], media=ev.Media(op[2]), queue=op[3], **common)
    if kind == "ix_offer":
        return ev.InteractionOffered(
            interaction=op[1], media=ev.Media(op[2]), agent=op[3], **common
        )
    if kind == "ix_accept":
        return ev.InteractionAccepted(
            interaction=op[1], media=ev.Media(op[2]), agent=op[3], **common
        )
    if kind == "ix_reject":
        return ev.InteractionRejected(
            interaction=op[1], media=ev.Media(op[2]), agent=op[3], **common
        )
    if kind == "ix_transfer":
        return ev.InteractionTransferred(
            interaction=op[1], media=ev.Media(op[2]), agent=op[3], target="elsewhere", **common
        )
    if kind == "ix_done":
        media = op[3] if len(op) > 3 else "chat"
        return ev.InteractionDone(
            interaction=op[1], media=ev.Media(media), outcome=ev.InteractionOutcome(op[2]), **common
        )
    if kind == "vq_enter":
        return ev.VirtualQueueEntered(
            vq="v0", media=ev.Media(op[2]), **_contact_ref(op[1]), **common
        )
    if kind == "vq_left":
        media = op[3] if len(op) > 3 else "voice"
        return ev.VirtualQueueLeft(
            vq="v0",
            media=ev.Media(media),
            reason=ev.VirtualQueueExit(op[2]),
            **_contact_ref(op[1]),
            **common,
        )
    if kind == "logout":
        return ev.AgentLogout(agent=op[1], media=tuple(map(ev.Media, op[2])), **common)
    if kind == "ready":
        return ev.AgentReady(agent=op[1], **common)
    if kind == "not_ready":
        return ev.AgentNotReady(agent=op[1], reason=op[2], **common)
    if kind == "acw":
        return ev.AgentAfterCallWork(agent=op[1], call=op[2] if len(op) > 2 else None, **common)
    if kind == "queue":
        return ev.CallQueued(
            call=op[1], queue=op[2], data={"lang": op[3]}, direction=ev.Direction(op[4]), **common
        )
    if kind == "ring":
        return ev.CallRinging(call=op[1], agent=op[2], **common)
    # Durations as a platform reports them, on some events (whole seconds, as queue_log's).
    reported = None if index % 3 == 0 else (index * 7_919) % 90 * 1000
    if kind == "answer":
        return ev.CallEstablished(
            call=op[1], agent=op[2], wait_ms=reported, ring_ms=reported, **common
        )
    if kind == "hold":
        return ev.CallHeld(call=op[1], agent=op[2], **common)
    if kind == "retrieve":
        return ev.CallRetrieved(call=op[1], agent=op[2], **common)
    if kind == "release":
        return ev.CallReleased(call=op[1], agent=op[2], talk_ms=reported, **common)
    if kind == "refuse":
        return ev.CallRefused(call=op[1], queue=op[2], reason=op[3], **common)
    if kind == "divert":
        cause = None if op[3] is ev.DiversionCause.KEY else op[3]  # (a cause not said)
        return ev.CallDiverted(
            call=op[1], queue=op[2], target="elsewhere", cause=cause, wait_ms=reported, **common
        )
    if kind == "transfer":
        return ev.CallTransferred(call=op[1], agent=op[2], target="q", **common)
    return ev.CallAbandoned(call=op[1], queue=op[2], wait_ms=reported, **common)


def _contact_ref(contact: str) -> dict[str, str]:
    return {"call": contact} if contact.startswith("c") else {"interaction": contact}


@st.composite
def _interaction_story(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """A chat or email's life, possibly cut short: created, queued, offered, accepted or
    rejected, maybe transferred, done (completed, abandoned or stopped)."""
    ix = draw(st.sampled_from(INTERACTIONS))
    media = draw(st.sampled_from(["chat", "email"]))
    queue = draw(st.sampled_from(QUEUES))
    agent = draw(st.sampled_from(AGENTS))
    lang = draw(st.sampled_from(["es", "en"]))
    story: list[tuple[Any, ...]] = [
        ("ix_create", ix, media, lang, draw(st.sampled_from(["inbound", "outbound"]))),
        ("ix_queue", ix, media, queue),
        ("ix_offer", ix, media, agent),
    ]
    if draw(st.booleans()):
        story += [("ix_reject", ix, media, agent), ("ix_offer", ix, media, agent)]
    story.append(("ix_accept", ix, media, agent))
    if draw(st.booleans()):
        story.append(("ix_transfer", ix, media, agent))
    story.append(("ix_done", ix, draw(st.sampled_from(OUTCOMES)), media))
    return story[: draw(st.integers(1, len(story)))] if draw(st.booleans()) else story


@st.composite
def _vq_story(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """A call or interaction waiting in the virtual queue in front of a queue."""
    contact = draw(st.sampled_from(CALLS + INTERACTIONS))
    media = "voice" if contact.startswith("c") else "chat"
    story: list[tuple[Any, ...]] = [("vq_enter", contact, media)]
    if draw(st.booleans()):
        story.append(("vq_left", contact, draw(st.sampled_from(VQ_EXITS)), media))
    return story


@st.composite
def _call_story(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """A call's life, possibly cut short: queued, rung, answered, held, released, wrap-up."""
    call = draw(st.sampled_from(CALLS))
    queue = draw(st.sampled_from(QUEUES))
    agent = draw(st.sampled_from(AGENTS))
    queued = (
        "queue",
        call,
        queue,
        draw(st.sampled_from(["es", "en"])),
        draw(st.sampled_from(["inbound", "outbound"])),
    )
    if draw(st.booleans()) and draw(st.booleans()):
        return [queued, ("abandon", call, queue)]
    if draw(st.booleans()) and draw(st.booleans()):
        # Turned away at the door, or diverted (possibly to the other queue, which counts a
        # diversion of cause "routed" when the call enters it).
        if draw(st.booleans()):
            return [("refuse", call, queue, draw(st.sampled_from(REFUSALS)))]
        if draw(st.booleans()):
            return [queued, ("queue", call, QUEUES[queue == QUEUES[0]], "en", "inbound")]
        return [queued, ("divert", call, queue, draw(st.sampled_from(DIVERSIONS)))]
    story: list[tuple[Any, ...]] = [queued]
    if draw(st.booleans()):
        story.append(("ring", call, agent))
    story.append(("answer", call, agent))
    if draw(st.booleans()):
        story += [("hold", call, agent), ("retrieve", call, agent)]
    # After-call work naming the call follows it (its queue's); without, it follows no call
    # released at an earlier instant.
    acw = ("acw", agent, call) if draw(st.booleans()) else ("acw", agent)
    transfer = draw(st.booleans())
    if transfer:
        story.append(("transfer", call, agent))
    story += [("release", call, agent), acw, ("ready", agent)]
    if transfer:
        # The same call goes on in another queue (one contact, a second leg).
        story.append(("queue", call, draw(st.sampled_from(QUEUES)), queued[3], queued[4]))
        story.append(
            ("answer", call, draw(st.sampled_from(AGENTS)))
            if draw(st.booleans())
            else ("abandon", call, queue)
        )
    return story[: draw(st.integers(1, len(story)))] if draw(st.booleans()) else story


@st.composite
def delivered_events(draw: st.DrawFn) -> tuple[list[ev.Event], list[ev.Event]]:
    """(events in time order, the same as delivered: duplicated and reordered within lateness)."""
    ts = draw(st.sampled_from(STARTS))
    stories: list[list[tuple[Any, ...]]] = [
        [("login", a, draw(_LOGIN_QUEUES), ("voice", "chat")), ("ready", a), ("ready_chat", a)]
        for a in AGENTS
    ]
    stories += draw(st.lists(_call_story(), min_size=1, max_size=8))
    stories += draw(st.lists(_interaction_story(), max_size=3))
    stories += draw(st.lists(_vq_story(), max_size=3))
    stories += [[op] for op in draw(st.lists(_op, max_size=12))]
    keyed: list[tuple[float, int, tuple[Any, ...]]] = []
    for number, story in enumerate(stories):
        key = draw(st.floats(0, 10)) if number >= len(AGENTS) else 0.0
        for op in story:
            keyed.append((key, len(keyed), op))
            key += draw(st.floats(0.01, 3))
    keyed.sort()
    events = []
    for index, (_, _, op) in enumerate(keyed):
        ts += draw(_gap)
        events.append(_event(op, ts, index))
    delivered: list[tuple[int, int, ev.Event]] = []
    for position, e in enumerate(events):
        copies = 1 + draw(st.integers(0, 1)) * draw(st.booleans())
        for copy in range(copies):
            delay = draw(st.integers(0, LATENESS_MS // 2))
            delivered.append((e.ts + delay, position * 2 + copy, e))
    delivered.sort(key=lambda item: (item[0], item[1]))
    return events, [e for _, _, e in delivered]


def _objects() -> list[tuple[str, str, frozenset[str]]]:
    """(object type, id, its queues) of every object compared."""
    return (
        [("agent", a, frozenset()) for a in AGENTS]
        + [("agent_group", g, frozenset()) for g in MEMBERS]
        + [("queue", q, frozenset({q})) for q in QUEUES]
        + [
            ("queue_group", "qg", frozenset(QUEUES)),
            ("virtual_queue", "v0", frozenset()),
            ("tenant", TENANT, frozenset(QUEUES)),
        ]
    )


def _members(
    object_type: str, object_id: str, queues: frozenset[str], facts: Facts
) -> frozenset[str]:
    """The agents whose statuses count for the object."""
    if object_type == "agent":
        return frozenset({object_id})
    if object_type == "agent_group":
        return MEMBERS[object_id]
    if object_type == "tenant":
        return frozenset(AGENTS)
    return queue_agents(facts, CONFIG, queues)


def _run(events: list[ev.Event], lateness: int) -> StatisticsEngine:
    engine = StatisticsEngine(DEFINITIONS, lateness_ms=lateness, time_zones={TENANT: ZONE_NAME})
    engine.set_objects(TENANT, CONFIG, ts_ms=0)
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            engine.open(TENANT, object_type, object_id, d.id)
    engine.apply_many(events)
    engine.flush()
    return engine


def d_type(object_type: str) -> Any:
    from wallboard.stats.definitions import ObjectType

    return ObjectType(object_type)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6  # type: ignore[arg-type]
    return a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delivered_events(), st.sampled_from([0, 1, 3_600_000, 26 * 3_600_000]))
def test_engine_equals_brute_force(
    case: tuple[list[ev.Event], list[ev.Event]], read_after: int
) -> None:
    ordered, delivered = case
    engine = _run(delivered, LATENESS_MS)
    facts = derive_facts(delivered, LATENESS_MS, CONFIG)
    now = ordered[-1].ts + read_after
    mismatches = []
    for object_type, object_id, queues in _objects():
        members = _members(object_type, object_id, queues, facts)
        for d in DEFINITIONS.for_object(d_type(object_type)):
            got = engine.value(TENANT, object_type, object_id, d.id, now)
            want = reference_value(
                d, facts, object_type, object_id, members, now, ZONE, queues=queues
            )
            if not _close(got, want):
                mismatches.append((object_type, object_id, d.id, got, want))
    assert not mismatches, mismatches[:10]
    assert engine.anomalies.get("too_late", 0) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delivered_events(), st.integers(0, 3 * 3_600_000))
def test_interval_reads_equal_brute_force(
    case: tuple[list[ev.Event], list[ev.Event]], read_after: int
) -> None:
    # The interval holding the read and the one before it, of every action statistic of a
    # growing or selection profile: outcomes attributed to a closed interval count within
    # its grace (late outcomes), those in progress only in the current one.
    ordered, delivered = case
    engine = _run(delivered, LATENESS_MS)
    facts = derive_facts(delivered, LATENESS_MS, CONFIG)
    now = ordered[-1].ts + read_after
    mismatches = []
    compared = 0
    for object_type, object_id, queues in _objects():
        members = _members(object_type, object_id, queues, facts)
        for d in DEFINITIONS.for_object(d_type(object_type)):
            if d.is_status or d.category in READ_WITHOUT_INTERVALS:
                continue
            if not isinstance(d.profile, Growing | Selection) or d.kept_intervals < 2:
                continue  # (a closed interval no longer kept reads as empty)
            [(first, end)] = engine.interval_bounds(TENANT, d.id, now, now + 1)
            previous = engine.interval_bounds(TENANT, d.id, first - 1, first)[0]
            for start, finish in (previous, (first, end)):
                got = engine.value(TENANT, object_type, object_id, d.id, now, interval_start=start)
                want = reference_value(
                    d, facts, object_type, object_id, members, now, ZONE, queues=queues,
                    interval=(start, finish),
                )  # fmt: skip
                compared += 1
                if not _close(got, want):
                    mismatches.append((object_type, object_id, d.id, start, got, want))
    assert not mismatches, mismatches[:10]
    assert compared > 100


@settings(max_examples=40, deadline=None)
@given(delivered_events())
def test_duplicates_and_reordering_change_nothing(
    case: tuple[list[ev.Event], list[ev.Event]],
) -> None:
    ordered, delivered = case
    clean = _run(ordered, 0)
    messy = _run(delivered, LATENESS_MS)
    now = ordered[-1].ts + 60_000
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            assert _close(
                clean.value(TENANT, object_type, object_id, d.id, now),
                messy.value(TENANT, object_type, object_id, d.id, now),
            ), (object_type, object_id, d.id)
    assert messy.anomalies.get("duplicate", 0) == len(delivered) - len(ordered)


@settings(max_examples=30, deadline=None)
@given(delivered_events(), st.integers(0, 200))
def test_snapshot_restore_equals_uninterrupted_run(
    case: tuple[list[ev.Event], list[ev.Event]], cut: int
) -> None:
    _, delivered = case
    cut = min(cut, len(delivered))
    full = _run(delivered, LATENESS_MS)
    first = StatisticsEngine(DEFINITIONS, lateness_ms=LATENESS_MS, time_zones={TENANT: ZONE_NAME})
    first.set_objects(TENANT, CONFIG, ts_ms=0)
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            first.open(TENANT, object_type, object_id, d.id)
    first.apply_many(delivered[:cut])
    resumed = StatisticsEngine.restore(
        first.snapshot(), DEFINITIONS, lateness_ms=LATENESS_MS, time_zones={TENANT: ZONE_NAME}
    )
    resumed.apply_many(delivered[cut:])
    resumed.flush()
    now = max(e.ts for e in delivered) + 120_000
    for object_type, object_id, _ in _objects():
        for d in DEFINITIONS.for_object(d_type(object_type)):
            assert resumed.value(TENANT, object_type, object_id, d.id, now) == full.value(
                TENANT, object_type, object_id, d.id, now
            ), (object_type, object_id, d.id)
    assert resumed.anomalies == full.anomalies


@pytest.mark.parametrize("start", STARTS)
def test_generated_sequences_reach_the_dst_change(start: int) -> None:
    # The generator's starts sit hours before a DST change; a 70-step sequence with multi-hour
    # gaps spans it, and the "two" profile's reset at 02:00 falls into the spring gap.
    assert ZONE.utcoffset(datetime.fromtimestamp(start / 1000)) is not None


@settings(max_examples=30, deadline=None)
@given(delivered_events(), st.integers(0, 200), st.integers(0, 3))
def test_closing_statistics_leaves_those_sharing_their_accumulators_intact(
    case: tuple[list[ev.Event], list[ev.Event]], cut: int, phase: int
) -> None:
    # Statistics of one object share accumulators (all TotalTime masks of a media and profile
    # share one StatusTimes; service levels of every type share one tally): closing some,
    # before or in the middle of the run, must not change the ones that stay open.
    _, delivered = case
    cut = min(cut, len(delivered))
    full = _run(delivered, LATENESS_MS)
    partial = StatisticsEngine(DEFINITIONS, lateness_ms=LATENESS_MS, time_zones={TENANT: ZONE_NAME})
    partial.set_objects(TENANT, CONFIG, ts_ms=0)
    opened = [
        (object_type, object_id, d.id)
        for object_type, object_id, _ in _objects()
        for d in DEFINITIONS.for_object(d_type(object_type))
    ]
    for key in opened:
        partial.open(TENANT, *key)
    partial.apply_many(delivered[:cut])
    closed = set(opened[phase::4])
    for key in sorted(closed):
        partial.close(TENANT, *key)
    partial.apply_many(delivered[cut:])
    partial.flush()
    now = max(e.ts for e in delivered) + 90_000
    for key in opened:
        if key in closed:
            assert not partial.is_open(TENANT, *key)
            continue
        assert _close(partial.value(TENANT, *key, now), full.value(TENANT, *key, now)), key
