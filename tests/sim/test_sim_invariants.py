"""Invariants of the simulated stream, checked by an independent replay of events.jsonl."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_streamcheck import (
    Run,
    StreamError,
    check_sequences,
    normalise_intervals,
    read_run,
    replay,
    truth_from_events,
)

from wallboard.core.events import CallQueued, CallRinging, Event
from wallboard.sim.batch import BatchSummary, run_batch
from wallboard.sim.builtin import builtin_scenario, large
from wallboard.sim.groundtruth import STATES


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[BatchSummary, Run]:
    """A whole demo day: logins, breaks, lunch, transfers, chats and emails, shift ends."""
    out = tmp_path_factory.mktemp("demo")
    summary = run_batch(builtin_scenario("demo"), seed=3, hours=14.5, out=out)
    return summary, read_run(out)


def check_all(summary: BatchSummary, run: Run) -> None:
    last = check_sequences(run.events)
    assert last == summary.sequences
    for event in run.events:
        assert summary.start_ms <= event.ts < summary.end_ms
    r = replay(run.events, summary.end_ms)
    # Ground truth agrees with the stream: contacts…
    truth = {(c["tenant"], c["id"], c["leg"]): c for c in run.calls}
    assert len(truth) == len(run.calls), "a contact leg is written twice"
    assert truth == truth_from_events(r)
    # …and agent states, which never overlap and are of the documented kinds.
    assert normalise_intervals(run.intervals) == normalise_intervals(r.intervals)
    for rows in normalise_intervals(run.intervals).values():
        for before, after in itertools.pairwise(rows):
            assert before[3] is not None
            assert before[3] <= after[2], "overlapping intervals"
        assert all(row[0] in STATES for row in rows)


def test_demo_stream_holds_its_invariants(demo_run: tuple[BatchSummary, Run]) -> None:
    summary, run = demo_run
    check_all(summary, run)


def test_full_queues_and_long_waits_and_the_engine_counting_them(tmp_path: Path) -> None:
    """Voice queues of at most one waiting call, waits of at most 45 s: new calls (after their
    routing point, if any) are refused with reason full, calls waiting 45 s are diverted with
    cause timeout; the stream holds its invariants with them, and the engine's received,
    entered, refused-full and diverted-on-timeout counts are the ground truth's."""
    import msgspec

    from wallboard.core.events import CallRefused, Media
    from wallboard.stats import standard_library
    from wallboard.stats.replay import replay as replay_statistics

    demo = builtin_scenario("demo")
    scenario = msgspec.structs.replace(
        demo,
        tenants=[
            msgspec.structs.replace(
                tenant,
                queues=[
                    msgspec.structs.replace(q, max_waiting=1, max_wait=45.0)
                    if q.media is Media.VOICE
                    else q
                    for q in tenant.queues
                ],
            )
            for tenant in demo.tenants
        ],
    )
    summary = run_batch(scenario, seed=5, hours=3, out=tmp_path)
    run = read_run(tmp_path)
    check_all(summary, run)
    refused = [e for e in run.events if isinstance(e, CallRefused)]
    assert refused, "no queue was ever full"
    assert any(c["diverted_at"] is not None for c in run.calls), "no call waited 45 s"
    values, anomalies = replay_statistics(run.events, standard_library(), at_ms=summary.end_ms - 1)
    assert anomalies == {}
    voice_queues = {(c["tenant"], c["queue"]) for c in run.calls if c["media"] == "voice"}
    for tenant, queue in sorted(q for q in voice_queues if q[1] is not None):
        mine = [c for c in run.calls if (c["tenant"], c["queue"]) == (tenant, queue)]
        got = values[tenant]["queue"][queue]
        turned_away = sum(c["refused"] == "full" for c in mine)
        assert got["queue.refused_full"] == got["queue.refused"] == turned_away, queue
        assert got["queue.entered"] == len(mine) - turned_away, queue
        assert got["queue.offered"] == len(mine), queue
        timed_out = sum(c["diverted_at"] is not None for c in mine)
        assert got["queue.diverted_timeout"] == got["queue.diverted"] == timed_out, queue
    rp = {c["id"] for c in run.calls if c["refused"]} & {
        e.call
        for e in run.events
        if e.type == "call.diverted"  # type: ignore[attr-defined]
    }
    assert rp, "no call was refused after its routing point"


def test_demo_exercises_every_feature(demo_run: tuple[BatchSummary, Run]) -> None:
    """The invariant test above means something only if the run has all of these."""
    _, run = demo_run
    types = Counter(event.type for event in run.events)
    for kind in (
        "agent.login", "agent.logout", "agent.ready", "agent.not_ready", "agent.acw",
        "agent.capacity", "call.queued", "call.diverted", "call.ringing", "call.established",
        "call.held", "call.retrieved", "call.released", "call.abandoned", "call.transferred",
        "vq.entered", "vq.left", "interaction.created", "interaction.queued",
        "interaction.offered", "interaction.accepted", "interaction.done",
    ):  # fmt: skip
        assert types[kind] > 0, f"no {kind} in the demo run"
    reasons = {e.reason for e in run.events if e.type == "agent.not_ready"}  # type: ignore[attr-defined]
    assert {"break", "lunch"} <= reasons
    assert len(reasons) >= 3
    directions = {c["direction"] for c in run.calls}
    assert directions == {"inbound", "outbound", "internal"}
    assert any(c["transferred"] for c in run.calls)
    assert any(c["leg"] == 2 for c in run.calls)
    assert {c["media"] for c in run.calls} == {"voice", "chat", "email"}
    agents = {a for t in builtin_scenario("demo").tenants for g in t.groups for a in g.agent_ids()}
    assert {e.agent for e in run.events if e.type == "agent.logout"} == agents  # type: ignore[attr-defined]
    # Several chats at once for one agent: multimedia capacity is used.
    in_hand: Counter[str] = Counter()
    most = 0
    for event in run.events:
        if event.type == "interaction.offered":
            in_hand[event.agent] += 1  # type: ignore[attr-defined]
            most = max(most, in_hand[event.agent])  # type: ignore[attr-defined]
        elif event.type == "interaction.done" and event.agent:  # type: ignore[attr-defined]
            in_hand[event.agent] -= 1  # type: ignore[attr-defined]
    assert most >= 2


def test_large_stream_holds_its_invariants(tmp_path: Path) -> None:
    summary = run_batch(large(tenants=2), seed=5, hours=0.3, out=tmp_path)
    check_all(summary, read_run(tmp_path))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=2**32), hours=st.floats(min_value=0.05, max_value=3))
def test_invariants_hold_for_any_seed_and_horizon(
    tmp_path_factory: pytest.TempPathFactory, seed: int, hours: float
) -> None:
    out = tmp_path_factory.mktemp("any")
    summary = run_batch(builtin_scenario("demo"), seed=seed, hours=hours, out=out)
    check_all(summary, read_run(out))


def test_the_checker_catches_a_call_answered_without_queueing(
    demo_run: tuple[BatchSummary, Run],
) -> None:
    """The replay is not vacuous: drop one CallQueued and it objects."""
    summary, run = demo_run
    index = next(
        i for i, e in enumerate(run.events) if isinstance(e, CallQueued) and e.point == "queue"
    )
    broken: list[Event] = run.events[:index] + run.events[index + 1 :]
    with pytest.raises(StreamError):
        replay(broken, summary.end_ms)
    with pytest.raises(StreamError, match="seq"):
        check_sequences(broken)


def test_the_checker_catches_an_agent_in_two_calls(demo_run: tuple[BatchSummary, Run]) -> None:
    summary, run = demo_run
    rings = [i for i, e in enumerate(run.events) if isinstance(e, CallRinging) and e.queue]
    first = run.events[rings[0]]
    assert isinstance(first, CallRinging)
    # The next call rings at the agent who is still ringing for the first one.
    second = run.events[rings[1]]
    assert isinstance(second, CallRinging)
    if second.agent == first.agent:
        second = run.events[rings[2]]
        assert isinstance(second, CallRinging)
    forged = CallRinging(
        tenant=first.tenant,
        source=second.source,
        seq=second.seq,
        id=second.id,
        ts=first.ts,
        call=second.call,
        agent=first.agent,
        dn=first.dn,
        queue=second.queue,
    )
    events = [*run.events[: rings[0] + 1], forged]
    with pytest.raises(StreamError):
        replay(events, summary.end_ms)
