"""Queue membership changing during a session (``agent.queues``): counts move, the session
goes on, and the collector is told which queues changed."""

from __future__ import annotations

from wallboard.core import events as ev
from wallboard.stats import StatisticsEngine, standard_library

T0 = 1_767_600_000_000


def _envelope(seq: int, ts: int) -> dict[str, object]:
    return {"tenant": "t", "source": "s", "seq": seq, "id": f"s:{seq}", "ts": ts}


def test_membership_change_moves_queue_counts_without_a_new_login() -> None:
    engine = StatisticsEngine(standard_library())
    for queue in ("sales", "support"):
        engine.open("t", "queue", queue, "queue.agents_logged_in")
    engine.open("t", "agent", "a1", "agent.login_time_since_login")
    engine.apply(ev.AgentLogin(**_envelope(1, T0), agent="a1", queues=("sales",)))
    engine.apply(ev.AgentReady(**_envelope(2, T0 + 1_000), agent="a1"))
    engine.drain_changes()
    engine.apply(
        ev.AgentQueuesChanged(**_envelope(3, T0 + 60_000), agent="a1", queues=("sales", "support"))
    )
    assert ("t", "queue", "support") in engine.drain_changes()
    now = T0 + 120_000
    assert engine.value("t", "queue", "support", "queue.agents_logged_in", now) == 1
    assert engine.value("t", "queue", "sales", "queue.agents_logged_in", now) == 1
    # The session was not restarted by the membership change.
    assert engine.value("t", "agent", "a1", "agent.login_time_since_login", now) == 120_000
    engine.apply(ev.AgentQueuesChanged(**_envelope(4, now), agent="a1", queues=("support",)))
    assert engine.value("t", "queue", "sales", "queue.agents_logged_in", now + 1) == 0
    assert engine.anomalies == {}


def test_membership_change_of_a_logged_out_agent_is_an_anomaly() -> None:
    engine = StatisticsEngine(standard_library())
    engine.open("t", "queue", "sales", "queue.agents_logged_in")
    engine.apply(ev.AgentQueuesChanged(**_envelope(1, T0), agent="a9", queues=("sales",)))
    assert engine.anomalies == {"queues_while_logged_out": 1}
    assert engine.value("t", "queue", "sales", "queue.agents_logged_in", T0 + 1) == 0
