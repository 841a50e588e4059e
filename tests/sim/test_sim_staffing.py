"""Staffing to a profile: Erlang C per interval, covered by the fewest shifts; staggered shifts
log their agents in and out at their own times."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from wallboard.core.errors import InvalidInput
from wallboard.core.events import AgentLogin, AgentLogout
from wallboard.sim.batch import run_batch
from wallboard.sim.engine import Engine
from wallboard.sim.erlang import erlang_c
from wallboard.sim.scenario import Duration, Queue, parse_scenario
from wallboard.sim.staffing import Workload, agents_needed, cover, requirement, staggered_shifts


@pytest.mark.parametrize(("per_hour", "aht"), [(200, 180), (30, 400), (1000, 240)])
def test_agents_needed_is_the_fewest_that_meet_the_target(per_hour: float, aht: float) -> None:
    agents = agents_needed(per_hour, aht, service_level=0.8, threshold_seconds=20)

    def level(n: int) -> float:
        return erlang_c(agents=n, calls_per_hour=per_hour, aht_seconds=aht).service_level

    assert level(agents) >= 0.8
    if agents - 1 > per_hour * aht / 3600:
        assert level(agents - 1) < 0.8


def test_requirement_follows_the_profile_and_allows_for_shrinkage() -> None:
    queue = Queue(id="q", handle_time=Duration(mean=180), arrivals=None)
    with pytest.raises(InvalidInput, match="no arrivals"):
        Workload.of(queue, [1.0])
    load = Workload(per_hour=200, handle_seconds=180, weights=[0.0, 0.5, 1.5])
    peak = agents_needed(300, 180, service_level=0.8, threshold_seconds=20)
    assert peak == 19
    need = requirement([load], shrinkage=0.0)
    assert need == [0, agents_needed(100, 180, service_level=0.8, threshold_seconds=20), peak]
    assert requirement([load], shrinkage=0.5)[2] == 2 * peak
    chat = Workload(per_hour=200, handle_seconds=180, weights=[1.5], servers_per_agent=3)
    assert requirement([chat], shrinkage=0.0) == [7]  # 19 conversations at once, 3 per agent


def test_cover_meets_every_interval_with_the_fewest_shifts() -> None:
    need = [2, 4, 4, 6, 3, 3, 1, 1]
    shifts = cover(need, 4)
    on = [0] * len(need)
    for first, agents in shifts:
        assert first + 4 <= len(need)
        for i in range(first, first + 4):
            on[i] += agents
    assert all(o >= n for o, n in zip(on, need, strict=True))
    # Interval 3 needs 6 agents, and interval 7 one more: no shift covers both.
    assert sum(agents for _, agents in shifts) == 7


def test_staggered_shifts_log_agents_in_and_out_at_their_own_times(tmp_path: Path) -> None:
    shifts = staggered_shifts([1, 2, 2, 1], interval_hours=1, shift_hours=2)
    assert [(s.start, s.end, s.agents) for s in shifts] == [(0, 2, 1), (1, 3, 1), (2, 4, 1)]
    scenario = parse_scenario(
        {
            "name": "x",
            "tenants": [
                {
                    "id": "t",
                    "queues": [
                        {"id": "q", "arrivals": {"per_hour": 5}, "handle_time": {"mean": 60}}
                    ],
                    "groups": [
                        {
                            "id": "g",
                            "agents": 3,
                            "skills": {"q": 1},
                            "shifts": [msgspec.to_builtins(s) for s in shifts],
                        }
                    ],
                }
            ],
        }
    )
    engine = Engine(scenario, 1)
    engine.run_until(engine.start_ms + 5 * 3_600_000)
    hours = {
        (type(e).__name__, e.agent, (e.ts - engine.start_ms) // 3_600_000)
        for e in engine.events
        if isinstance(e, AgentLogin | AgentLogout)
    }
    assert hours == {
        ("AgentLogin", "g-001", 0),
        ("AgentLogout", "g-001", 2),
        ("AgentLogin", "g-002", 1),
        ("AgentLogout", "g-002", 3),
        ("AgentLogin", "g-003", 2),
        ("AgentLogout", "g-003", 4),
    }
    assert run_batch(scenario, seed=1, hours=5, out=tmp_path).events > 0
