"""The engine against the simulator's ground truth (``calls.jsonl``) over simulated hours."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import msgspec

from wallboard.core import events as ev
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.sim.batch import run_batch
from wallboard.sim.builtin import builtin_scenario
from wallboard.sim.groundtruth import AgentInterval, ContactRecord
from wallboard.stats import (
    AgentStatusValue,
    StatisticsEngine,
    decode_definitions,
    replay,
    standard_library,
)

DEFINITIONS = decode_definitions(
    [
        {
            "id": f"queue.{media}.{name}",
            "object": "queue",
            "category": category,
            "mask": [mask],
            "filter": {"media": [media]},
            "profile": {"kind": "ever"},
        }
        for media in ("voice", "chat", "email")
        for name, category, mask in (
            ("entered", "TotalNumber", "entered"),
            ("answered", "TotalNumber", "answered"),
            ("abandoned", "TotalNumber", "abandoned"),
            ("wait_answered", "AverageTime", "answered"),
        )
    ]
    + [
        {
            "id": "queue.voice.handle_time",
            "object": "queue",
            "category": "TotalTime",
            "mask": ["released", "after_call_work"],
            "filter": {"media": ["voice"]},
            "profile": {"kind": "ever"},
        }
    ]
    + [
        {
            "id": f"tenant.voice.contacts_{name}",
            "object": "tenant",
            "category": category,
            "mask": [mask],
            "count": "contacts",
            "filter": {"media": ["voice"]},
            "profile": {"kind": "ever"},
        }
        for name, category, mask in (
            ("entered", "TotalNumber", "entered"),
            ("answered", "TotalNumber", "answered"),
            ("abandoned", "TotalNumber", "abandoned"),
            ("wait_answered", "AverageTime", "answered"),
        )
    ]
    + [
        {
            "id": "agent.voice.answered",
            "object": "agent",
            "category": "TotalNumber",
            "mask": ["answered"],
            "filter": {"media": ["voice"]},
            "profile": {"kind": "ever"},
        },
        {
            "id": "agent.voice.hold",
            "object": "agent",
            "category": "TotalTime",
            "mask": ["held"],
            "profile": {"kind": "ever"},
        },
    ]
)


def test_engine_counts_equal_simulator_ground_truth(tmp_path: Path) -> None:
    run_batch(builtin_scenario("demo"), seed=11, hours=4, out=tmp_path)
    events = [decode_event(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    records = [
        msgspec.json.decode(line, type=ContactRecord)
        for line in (tmp_path / "calls.jsonl").read_bytes().splitlines()
    ]
    engine = StatisticsEngine(DEFINITIONS)
    queues = sorted({(r.tenant, r.queue, r.media) for r in records if r.queue is not None})
    agents = sorted({(r.tenant, r.agent) for r in records if r.agent is not None})
    for tenant, queue, media in queues:
        assert queue is not None
        for name in ("entered", "answered", "abandoned", "wait_answered"):
            engine.open(tenant, "queue", queue, f"queue.{media}.{name}")
        if media == "voice":
            engine.open(tenant, "queue", queue, "queue.voice.handle_time")
    tenants = sorted({r.tenant for r in records})
    for tenant in tenants:
        for name in ("entered", "answered", "abandoned", "wait_answered"):
            engine.open(tenant, "tenant", tenant, f"tenant.voice.contacts_{name}")
    for tenant, agent in agents:
        assert agent is not None
        engine.open(tenant, "agent", agent, "agent.voice.answered")
    engine.apply_many(events)
    engine.flush()
    now = max(e.ts for e in events if isinstance(e, Event))
    checked = 0
    for tenant, queue, media in queues:
        assert queue is not None
        mine = [r for r in records if r.tenant == tenant and r.queue == queue]
        answered = [r for r in mine if r.answered_at is not None]
        expected = {
            "entered": len(mine),
            "answered": len(answered),
            "abandoned": sum(r.abandoned_at is not None for r in mine),
        }
        for name, want in expected.items():
            got = engine.value(tenant, "queue", queue, f"queue.{media}.{name}", now)
            assert got == want, (tenant, queue, name, got, want)
            checked += want
        if media == "voice":
            # Average handle time's parts: talk and hold (answer to release) and the after-call
            # work that followed, of the calls answered from the queue.
            handle = sum(
                r.released_at - r.answered_at + round(r.acw_seconds * 1000)
                for r in answered
                if r.released_at is not None and r.answered_at is not None
            )
            got_handle = engine.value(tenant, "queue", queue, "queue.voice.handle_time", now)
            assert got_handle == handle, (tenant, queue, got_handle, handle)
        waits = [r.answered_at - r.entered_at for r in answered if r.answered_at is not None]
        average = engine.value(tenant, "queue", queue, f"queue.{media}.wait_answered", now)
        if waits:
            assert isinstance(average, float)
            assert abs(average - sum(waits) / len(waits)) < 1e-6 * max(1.0, average)
        else:
            assert average is None
    by_agent = Counter(
        (r.tenant, r.agent) for r in records if r.media == "voice" and r.answered_at is not None
    )
    for tenant, agent in agents:
        assert agent is not None
        got = engine.value(tenant, "agent", agent, "agent.voice.answered", now)
        assert got == by_agent[(tenant, agent)], (tenant, agent)
    # The tenant counts each call once, from its first queue entry (a transferred call is one
    # call in two queues), beside each queue's legs.
    legs_total = calls_total = 0
    for tenant in tenants:
        legs: dict[str, list[ContactRecord]] = {}
        for r in records:
            if r.tenant == tenant and r.media == "voice" and r.queue is not None:
                legs.setdefault(r.id, []).append(r)
        firsts = [sorted(found, key=lambda r: r.leg) for found in legs.values()]
        answered_calls = [
            next(r for r in found if r.answered_at is not None)
            for found in firsts
            if any(r.answered_at is not None for r in found)
        ]
        waits = [
            r.answered_at - found[0].entered_at
            for found, r in zip(
                [f for f in firsts if any(r.answered_at is not None for r in f)],
                answered_calls,
                strict=True,
            )
            if r.answered_at is not None
        ]
        want = {
            "entered": len(firsts),
            "answered": len(answered_calls),
            "abandoned": sum(
                all(r.answered_at is None for r in found)
                and any(r.abandoned_at is not None for r in found)
                for found in firsts
            ),
        }
        legs_total += sum(len(found) for found in firsts)
        calls_total += len(firsts)
        for name, count in want.items():
            got = engine.value(tenant, "tenant", tenant, f"tenant.voice.contacts_{name}", now)
            assert got == count, (tenant, name, got, count)
        average = engine.value(tenant, "tenant", tenant, "tenant.voice.contacts_wait_answered", now)
        assert isinstance(average, float)
        assert abs(average - sum(waits) / len(waits)) < 1e-6 * average
    assert calls_total < legs_total  # transferred calls were among them
    # Each object under its own type only: the routing point in front of a queue is no queue.
    replayed, _ = replay(events, DEFINITIONS)
    for tenant in tenants:
        assert set(replayed[tenant]["queue"]) == {q for t, q, _ in queues if t == tenant}
    assert checked > 500
    assert engine.anomalies == {}, engine.anomalies


_AGENT_IDS = ("agent.status", "agent.login_time", "agent.occupancy")

# The simulator's displayed agent state → the voice statuses a queue's agent counts look at.
_COUNTS = {
    "agents_logged_in": {"ready", "not_ready", "acw", "ringing", "talking", "held", "busy"},
    "agents_ready": {"ready"},
    "agents_not_ready": {"not_ready"},
    "agents_talking": {"talking", "held"},
}


def test_agent_counts_of_queues_and_tenants_equal_simulator_ground_truth(tmp_path: Path) -> None:
    # Multimedia agents log in on voice (the voice source) and on chat and email (the
    # interactions source), and log out on both: their queues add up, their logouts are no
    # anomaly, and an agent busy in chats or emails is not ready for calls.
    scenario = builtin_scenario("demo")
    run_batch(scenario, seed=1, hours=10, out=tmp_path)
    events = [decode_event(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    intervals = [
        msgspec.json.decode(line, type=AgentInterval)
        for line in (tmp_path / "agents.jsonl").read_bytes().splitlines()
    ]
    # Who serves which voice queue, from the scenario (as the simulator routes), and who works
    # on voice at all.
    serves: dict[tuple[str, str], set[str]] = {}
    voice_agents: dict[str, set[str]] = {}
    for tenant in scenario.tenants:
        for group in tenant.groups:
            if not group.capacity.get(ev.Media.VOICE):
                continue
            voice_agents.setdefault(tenant.id, set()).update(group.agent_ids())
            for queue in tenant.queues:
                if queue.media is ev.Media.VOICE and (
                    group.skills.get(queue.skill_name, 0) >= queue.min_level
                ):
                    serves.setdefault((tenant.id, queue.id), set()).update(group.agent_ids())
    engine = StatisticsEngine(standard_library())
    for tenant, queue in serves:
        for name in _COUNTS:
            engine.open(tenant, "queue", queue, f"queue.{name}")
    for tenant, agents in voice_agents.items():
        for name in _COUNTS:
            engine.open(tenant, "tenant", tenant, f"tenant.{name}")
        for agent in agents:
            for stat_id in _AGENT_IDS:
                engine.open(tenant, "agent", agent, stat_id)
    start = events[0].ts
    instants = [
        int(datetime.fromisoformat("2026-01-05T10:17:23.456+00:00").timestamp() * 1000),
        *range(start + 1, start + 10 * 3_600_000, 433_001),
    ]
    applied = 0
    checked = 0
    for now in sorted(instants):
        while applied < len(events) and events[applied].ts <= now:
            engine.apply(events[applied])
            applied += 1
        engine.flush()
        state = {
            (i.tenant, i.agent): i.state
            for i in intervals
            if i.start <= now and (i.end is None or now < i.end)
        }
        for (tenant, queue), members in serves.items():
            for name, states in _COUNTS.items():
                want = sum(state.get((tenant, agent)) in states for agent in members)
                got = engine.value(tenant, "queue", queue, f"queue.{name}", now)
                assert got == want, (now, tenant, queue, name, got, want)
                checked += want
        for tenant, agents in voice_agents.items():
            for name, states in _COUNTS.items():
                want = sum(state.get((tenant, agent)) in states for agent in agents)
                got = engine.value(tenant, "tenant", tenant, f"tenant.{name}", now)
                assert got == want, (now, tenant, name, got, want)
            for agent in agents:
                status = engine.value(tenant, "agent", agent, "agent.status", now)
                shown = status.state if isinstance(status, AgentStatusValue) else "logged_out"
                assert shown == state.get((tenant, agent), "logged_out"), (now, agent, status)
    engine.apply_many(events[applied:])
    engine.flush()
    # Over the day: login time and occupancy (time on contacts of every media, chats and
    # emails included, over that and ready time) from the simulator's agent states.
    end = max(e.ts for e in events)
    for tenant, agents in voice_agents.items():
        for agent in agents:
            spent: Counter[str] = Counter()
            for i in intervals:
                if (i.tenant, i.agent) == (tenant, agent):
                    spent[i.state] += (end if i.end is None else min(i.end, end)) - i.start
            busy = spent["talking"] + spent["held"] + spent["acw"] + spent["busy"]
            login = engine.value(tenant, "agent", agent, "agent.login_time", end)
            assert login == sum(spent.values()), (agent, login)
            occupancy = engine.value(tenant, "agent", agent, "agent.occupancy", end)
            assert isinstance(occupancy, float)
            assert abs(occupancy - 100 * busy / (busy + spent["ready"])) < 1e-9, agent
    assert checked > 5_000
    # A clean stream: no anomaly of any kind over the whole day, logouts included.
    logouts = [e for e in events if isinstance(e, ev.AgentLogout)]
    assert len(logouts) > 40
    assert any(ev.Media.CHAT in e.media for e in logouts)  # multimedia agents' second logout
    assert engine.anomalies == {}, engine.anomalies
