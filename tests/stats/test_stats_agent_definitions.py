"""The standard library's agent definitions: ready means able to take a contact of the media now
(capacity-aware), occupancy counts every media, and call counts keep inbound and outbound apart."""

from __future__ import annotations

from typing import Any

from wallboard.core import events as ev
from wallboard.stats import (
    AgentStatusValue,
    GroupConfig,
    ObjectConfig,
    StatisticsEngine,
    standard_library,
)

T = "t"
T0 = 1_767_600_000_000
MIN = 60_000
CHAT = ev.Media.CHAT


class Stream:
    """Events of one tenant and source, numbered as they are made."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, cls: type[ev.Event], ts: int, **fields: Any) -> ev.Event:
        self.seq += 1
        return cls(tenant=T, source="s", seq=self.seq, id=f"s:{self.seq}", ts=ts, **fields)


def _engine() -> StatisticsEngine:
    engine = StatisticsEngine(standard_library())
    engine.set_objects(T, ObjectConfig(agent_groups={"g": GroupConfig(agents=("a1", "a2"))}))
    return engine


def _log_in_on_voice_and_chat(engine: StatisticsEngine, e: Stream, agent: str, ts: int) -> None:
    engine.apply(e(ev.AgentLogin, ts, agent=agent, queues=("retail",)))
    engine.apply(e(ev.AgentLogin, ts, agent=agent, media=(CHAT,), queues=("web",)))
    engine.apply(e(ev.AgentCapacity, ts, agent=agent, media=CHAT, capacity=3))
    engine.apply(e(ev.AgentReady, ts, agent=agent))
    engine.apply(e(ev.AgentReady, ts, agent=agent, media=CHAT))


def _chat_starts(engine: StatisticsEngine, e: Stream, ix: str, agent: str, ts: int) -> None:
    engine.apply(e(ev.InteractionCreated, ts, interaction=ix, media=CHAT))
    engine.apply(e(ev.InteractionQueued, ts, interaction=ix, media=CHAT, queue="web"))
    engine.apply(e(ev.InteractionOffered, ts, interaction=ix, media=CHAT, agent=agent))
    engine.apply(e(ev.InteractionAccepted, ts, interaction=ix, media=CHAT, agent=agent))


def _object(stat_id: str) -> tuple[str, str]:
    """The object a test statistic is read on."""
    return {
        "tenant": ("tenant", T),
        "group": ("agent_group", "g"),
        "queue": ("queue", "retail"),
    }[stat_id.split(".")[0]]


def test_an_agent_in_chats_is_not_ready_for_calls_and_one_on_a_call_not_for_chats() -> None:
    engine, e = _engine(), Stream()
    ids = (
        "tenant.agents_ready",
        "tenant.agents_ready_status",
        "tenant.agents_logged_in",
        "group.agents_ready",
        "group.agents_on_contact",
        "group.agents_ready_chat",
        "queue.agents_ready",
        "queue.agents_logged_in",
    )
    for stat_id in ids:
        engine.open(T, *_object(stat_id), stat_id)
    engine.open(T, "agent", "a1", "agent.status")
    engine.open(T, "agent", "a1", "agent.chat_status")
    for agent in ("a1", "a2"):
        _log_in_on_voice_and_chat(engine, e, agent, T0)

    def values(now: int) -> dict[str, Any]:
        return {stat_id: engine.value(T, *_object(stat_id), stat_id, now) for stat_id in ids}

    assert values(T0 + 1)["tenant.agents_ready"] == 2
    # a1 takes a chat (one of three): no longer ready for calls; still logged in and staffed.
    _chat_starts(engine, e, "i1", "a1", T0 + MIN)
    now = T0 + 2 * MIN
    got = values(now)
    assert got["tenant.agents_ready"] == 1
    assert got["tenant.agents_ready_status"] == 2  # the former meaning, under its own name
    assert got["tenant.agents_logged_in"] == 2
    assert got["group.agents_ready"] == 1
    assert got["group.agents_on_contact"] == 1
    assert got["queue.agents_ready"] == 1
    assert got["queue.agents_logged_in"] == 2
    status = engine.value(T, "agent", "a1", "agent.status", now)
    assert isinstance(status, AgentStatusValue)
    assert (status.state, status.since) == ("busy", T0 + MIN)
    # a2 takes a call: not ready for chats either.
    engine.apply(e(ev.CallRinging, now, call="c1", agent="a2"))
    engine.apply(e(ev.CallEstablished, now, call="c1", agent="a2"))
    got = values(now + 1)
    assert (got["tenant.agents_ready"], got["group.agents_ready_chat"]) == (0, 0)
    # Both done: ready on both media again.
    engine.apply(e(ev.CallReleased, now + MIN, call="c1", agent="a2"))
    engine.apply(e(ev.InteractionDone, now + MIN, interaction="i1", media=CHAT, agent="a1"))
    got = values(now + 2 * MIN)
    assert (got["tenant.agents_ready"], got["group.agents_ready_chat"]) == (2, 2)
    chat_status = engine.value(T, "agent", "a1", "agent.chat_status", now + 2 * MIN)
    assert isinstance(chat_status, AgentStatusValue)
    assert chat_status.state == "ready"
    assert engine.anomalies == {}


def test_occupancy_counts_time_in_chats() -> None:
    # 24 minutes logged in on voice and chat, 17 of them with chats in hand, 1 on a call.
    engine, e = _engine(), Stream()
    ids = ("agent.occupancy", "agent.voice_occupancy", "agent.chat_occupancy", "agent.login_time")
    for stat_id in ids:
        engine.open(T, "agent", "a1", stat_id)
    _log_in_on_voice_and_chat(engine, e, "a1", T0)
    _chat_starts(engine, e, "i1", "a1", T0 + 2 * MIN)
    _chat_starts(engine, e, "i2", "a1", T0 + 10 * MIN)
    engine.apply(e(ev.InteractionDone, T0 + 12 * MIN, interaction="i1", media=CHAT, agent="a1"))
    engine.apply(e(ev.InteractionDone, T0 + 19 * MIN, interaction="i2", media=CHAT, agent="a1"))
    engine.apply(e(ev.CallRinging, T0 + 20 * MIN, call="c1", agent="a1"))
    engine.apply(e(ev.CallEstablished, T0 + 20 * MIN, call="c1", agent="a1"))
    engine.apply(e(ev.CallReleased, T0 + 21 * MIN, call="c1", agent="a1"))
    now = T0 + 24 * MIN
    occupancy, voice, chat, login = (engine.value(T, "agent", "a1", i, now) for i in ids)
    assert login == 24 * MIN
    assert occupancy == 100 * 18 / 24  # 17 minutes in chats and 1 on a call, of 24
    assert voice == 100 * 1 / 24  # the voice-only ratio, as occupancy was before
    assert chat == 100 * 17 / 23  # chat time over chat time and chat-ready (not the call)
    assert engine.anomalies == {}


def test_call_counts_and_aht_are_inbound_and_outbound_calls_have_their_own() -> None:
    engine, e = _engine(), Stream()
    ids = (
        "agent.calls_answered",
        "agent.calls_handled",
        "agent.aht",
        "agent.outbound_handled",
        "agent.outbound_talk_time",
        "agent.internal_handled",
    )
    for stat_id in ids:
        engine.open(T, "agent", "a1", stat_id)
    for stat_id in ("group.calls_handled", "group.aht", "group.outbound_handled"):
        engine.open(T, "agent_group", "g", stat_id)
    engine.apply(e(ev.AgentLogin, T0, agent="a1"))
    engine.apply(e(ev.AgentReady, T0, agent="a1"))
    # An inbound call from a queue: 2 minutes' talk and 1 of after-call work.
    engine.apply(e(ev.CallQueued, T0 + MIN, call="in", queue="retail"))
    engine.apply(e(ev.CallRinging, T0 + MIN, call="in", agent="a1", queue="retail"))
    engine.apply(e(ev.CallEstablished, T0 + MIN, call="in", agent="a1", queue="retail"))
    engine.apply(e(ev.CallReleased, T0 + 3 * MIN, call="in", agent="a1", queue="retail"))
    engine.apply(e(ev.AgentAfterCallWork, T0 + 3 * MIN, agent="a1", call="in"))
    engine.apply(e(ev.AgentReady, T0 + 4 * MIN, agent="a1"))
    # An outbound call of 5 minutes and an internal one of 1.
    out, internal = ev.Direction.OUTBOUND, ev.Direction.INTERNAL
    engine.apply(e(ev.CallRinging, T0 + 5 * MIN, call="out", agent="a1", direction=out))
    engine.apply(e(ev.CallEstablished, T0 + 5 * MIN, call="out", agent="a1", direction=out))
    engine.apply(e(ev.CallReleased, T0 + 10 * MIN, call="out", agent="a1"))
    engine.apply(e(ev.CallRinging, T0 + 11 * MIN, call="int", agent="a1", direction=internal))
    engine.apply(e(ev.CallEstablished, T0 + 11 * MIN, call="int", agent="a1", direction=internal))
    engine.apply(e(ev.CallReleased, T0 + 12 * MIN, call="int", agent="a1"))
    now = T0 + 13 * MIN
    got = {i: engine.value(T, "agent", "a1", i, now) for i in ids}
    assert got == {
        "agent.calls_answered": 1,
        "agent.calls_handled": 1,
        "agent.aht": 3 * MIN,  # 2 minutes' talk + 1 of after-call work, one call
        "agent.outbound_handled": 1,
        "agent.outbound_talk_time": 5 * MIN,
        "agent.internal_handled": 1,
    }
    assert engine.value(T, "agent_group", "g", "group.calls_handled", now) == 1
    assert engine.value(T, "agent_group", "g", "group.aht", now) == 3 * MIN
    assert engine.value(T, "agent_group", "g", "group.outbound_handled", now) == 1
