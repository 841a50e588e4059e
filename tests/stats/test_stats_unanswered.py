"""Legs released while still ringing: the agent leaves "ringing"; only inbound rings are missed."""

from __future__ import annotations

import pytest

from wallboard.core import events as ev
from wallboard.stats import AgentStatusValue, StatisticsEngine, standard_library

T0 = 1_767_600_000_000


def _envelope(seq: int, ts: int) -> dict[str, object]:
    return {"tenant": "t", "source": "s", "seq": seq, "id": f"s:{seq}", "ts": ts}


@pytest.mark.parametrize(
    ("direction", "missed"), [(ev.Direction.OUTBOUND, 0), (ev.Direction.INBOUND, 1)]
)
def test_a_ring_released_unanswered_frees_the_agent(direction: ev.Direction, missed: int) -> None:
    engine = StatisticsEngine(standard_library())
    engine.open("t", "agent", "a1", "agent.status")
    engine.open("t", "agent", "a1", "agent.calls_missed")
    engine.apply(ev.AgentLogin(**_envelope(1, T0), agent="a1"))
    engine.apply(ev.AgentReady(**_envelope(2, T0 + 1_000), agent="a1"))
    engine.apply(
        ev.CallRinging(**_envelope(3, T0 + 2_000), call="c1", agent="a1", direction=direction)
    )
    ringing = engine.value("t", "agent", "a1", "agent.status", T0 + 3_000)
    assert isinstance(ringing, AgentStatusValue)
    assert ringing.state == "ringing"
    engine.apply(ev.CallReleased(**_envelope(4, T0 + 10_000), call="c1", agent="a1"))
    after = engine.value("t", "agent", "a1", "agent.status", T0 + 11_000)
    assert isinstance(after, AgentStatusValue)
    assert after.state == "ready"
    assert after.since == T0 + 10_000
    assert engine.value("t", "agent", "a1", "agent.calls_missed", T0 + 11_000) == missed
    assert engine.anomalies == {}
