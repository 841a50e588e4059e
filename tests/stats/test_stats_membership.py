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


def test_a_login_on_a_second_media_adds_its_queues_and_continues_the_session() -> None:
    # A voice platform logs the agent in to "retail"; the chat platform, a minute later, adds
    # chat with its chat queue. The agent stays in retail, and the session is not restarted.
    engine = StatisticsEngine(standard_library())
    for queue in ("retail", "chat-q"):
        engine.open("t", "queue", queue, "queue.agents_logged_in")
        engine.open("t", "queue", queue, "queue.agents_ready")
    engine.open("t", "agent", "a1", "agent.login_time_since_login")
    engine.apply(ev.AgentLogin(**_envelope(1, T0), agent="a1", queues=("retail",)))
    engine.apply(ev.AgentReady(**_envelope(2, T0), agent="a1"))
    engine.apply(
        ev.AgentLogin(
            **_envelope(3, T0 + 60_000), agent="a1", media=(ev.Media.CHAT,), queues=("chat-q",)
        )
    )
    now = T0 + 120_000
    assert engine.value("t", "queue", "retail", "queue.agents_logged_in", now) == 1
    assert engine.value("t", "queue", "retail", "queue.agents_ready", now) == 1
    assert engine.value("t", "agent", "a1", "agent.login_time_since_login", now) == 120_000
    # Only ``agent.queues`` replaces the set.
    engine.apply(ev.AgentQueuesChanged(**_envelope(4, now), agent="a1", queues=("chat-q",)))
    assert engine.value("t", "queue", "retail", "queue.agents_logged_in", now + 1) == 0
    assert engine.anomalies == {}


def test_a_logout_of_one_media_leaves_the_session_on_the_others() -> None:
    engine = StatisticsEngine(standard_library())
    engine.open("t", "queue", "retail", "queue.agents_logged_in")
    engine.open("t", "agent", "a1", "agent.chat_status")
    engine.open("t", "agent", "a1", "agent.login_time_since_login")
    voice, chat = (ev.Media.VOICE,), (ev.Media.CHAT,)
    engine.apply(ev.AgentLogin(**_envelope(1, T0), agent="a1", queues=("retail",)))
    engine.apply(ev.AgentLogin(**_envelope(2, T0), agent="a1", media=chat, queues=("chat-q",)))
    engine.apply(ev.AgentLogout(**_envelope(3, T0 + 10_000), agent="a1", media=voice))
    now = T0 + 20_000
    assert engine.value("t", "queue", "retail", "queue.agents_logged_in", now) == 0
    status = engine.value("t", "agent", "a1", "agent.chat_status", now)
    assert getattr(status, "state", None) == "not_ready"
    # Voice was logged out: a second voice logout is one too many; the chat logout ends it.
    engine.apply(ev.AgentLogout(**_envelope(4, now), agent="a1", media=voice))
    assert engine.anomalies == {"logout_while_logged_out": 1}
    engine.apply(ev.AgentLogout(**_envelope(5, now), agent="a1", media=chat))
    status = engine.value("t", "agent", "a1", "agent.chat_status", now + 1)
    assert getattr(status, "state", None) == "logged_out"
    # A logout naming no media ends every media; after it, any logout is an anomaly.
    engine.apply(ev.AgentLogin(**_envelope(6, now + 2), agent="a1", media=(*voice, *chat)))
    engine.apply(ev.AgentLogout(**_envelope(7, now + 3), agent="a1"))
    engine.apply(ev.AgentLogout(**_envelope(8, now + 4), agent="a1", media=chat))
    assert engine.anomalies == {"logout_while_logged_out": 2}
    assert engine.value("t", "agent", "a1", "agent.chat_status", now + 5).state == "logged_out"


def test_a_change_or_logout_of_one_media_leaves_the_queues_of_the_others() -> None:
    # Calls on a voice platform (retail), chats on another (web): the voice platform's change
    # of its queues keeps web, and the chat platform's logout takes web away, not retail.
    engine = StatisticsEngine(standard_library())
    for queue in ("retail", "loans", "web"):
        engine.open("t", "queue", queue, "queue.agents_logged_in")  # (on voice)
    voice, chat = (ev.Media.VOICE,), (ev.Media.CHAT,)
    engine.apply(ev.AgentLogin(**_envelope(1, T0), agent="a1", queues=("retail",)))
    engine.apply(ev.AgentLogin(**_envelope(2, T0), agent="a1", media=chat, queues=("web",)))

    def counts(now: int) -> tuple[object, ...]:
        return tuple(
            engine.value("t", "queue", q, "queue.agents_logged_in", now)
            for q in ("retail", "loans", "web")
        )

    assert counts(T0 + 1) == (1, 0, 1)
    engine.apply(
        ev.AgentQueuesChanged(
            **_envelope(3, T0 + 10), agent="a1", queues=("retail", "loans"), media=voice
        )
    )
    assert counts(T0 + 11) == (1, 1, 1)
    engine.apply(ev.AgentLogout(**_envelope(4, T0 + 20), agent="a1", media=chat))
    assert counts(T0 + 21) == (1, 1, 0)
    # A change naming no media is the session's whole set.
    engine.apply(ev.AgentQueuesChanged(**_envelope(5, T0 + 30), agent="a1", queues=("web",)))
    assert counts(T0 + 31) == (0, 0, 1)
    assert engine.anomalies == {}
