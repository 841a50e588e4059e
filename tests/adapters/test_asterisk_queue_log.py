"""queue_log translator, follower and table poller, on scenarios written from the Asterisk docs."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.adapters.asterisk_queue_log import (
    VERB_MAPPING,
    QueueLogFollower,
    QueueLogTablePoller,
    QueueLogTranslator,
    row_to_record,
)
from wallboard.adapters.base import Location, line
from wallboard.core.clock import SystemClock
from wallboard.core.codec import decode_event, encode
from wallboard.core.events import (
    AgentAfterCallWork,
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentQueuesChanged,
    AgentReady,
    CallAbandoned,
    CallDiverted,
    CallEstablished,
    CallQueued,
    CallRefused,
    CallReleased,
    CallTransferred,
    DiversionCause,
    Event,
    Media,
    RefusalReason,
    ReleasedBy,
    TransferKind,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "adapters"
SCENARIOS = FIXTURES / "queue_log_scenarios.log"
WAZO = FIXTURES / "queue_log_wazo_scenarios.log"
DOC = FIXTURES / "asterisk-documentation__docs__Operation__Logging__Queue-Logs.md"


def translate_file(
    path: Path, translator: QueueLogTranslator | None = None
) -> tuple[list[Event], QueueLogTranslator]:
    translator = translator or QueueLogTranslator(tenant="t1")
    events: list[Event] = []
    for number, text in enumerate(path.read_text().splitlines(), 1):
        events += translator.translate(text, line(number))
    return events, translator


def test_every_verb_of_the_reference_is_mapped_and_covered_by_the_scenarios() -> None:
    documented = set(re.findall(r"^\* ([A-Z]+)(?:\(| - )", DOC.read_text(), re.M))
    assert documented  # the reference lists its verbs as "* VERB(...) - ..."
    assert documented <= set(VERB_MAPPING)
    used = {text.split("|")[4] for text in SCENARIOS.read_text().splitlines()}
    assert documented <= used


def test_the_documented_example_line_is_understood() -> None:
    translator = QueueLogTranslator(tenant="t1")
    events = translator.translate(
        "1366720340|1366720340.303267|MYQUEUE|SIP/8007|RINGNOANSWER|1000", line(1)
    )
    assert events == []
    assert translator.bad.total == 0
    assert translator.stats.ignored["ringnoanswer"] == 1


def test_scenarios_map_to_the_expected_events() -> None:
    events, translator = translate_file(SCENARIOS)
    assert translator.bad.total == 0, translator.bad.by_reason
    kinds = Counter(type(e) for e in events)
    assert kinds[CallQueued] == 11
    assert kinds[CallEstablished] == 6
    assert kinds[CallAbandoned] == 1
    # 3 exits (timeout, empty, key) and AGENTDUMP (the agent hung up before CONNECT)
    assert kinds[CallDiverted] == 4
    assert kinds[CallTransferred] == 3
    # 2 completes, 3 transfers, SYSCOMPAT
    assert kinds[CallReleased] == 6

    by_call: dict[str, list[Event]] = {}
    for event in events:
        call = getattr(event, "call", None)
        if call:
            by_call.setdefault(call, []).append(event)
    first = by_call["1700000010.1"]
    assert [type(e) for e in first] == [CallQueued, CallEstablished, CallReleased]
    assert first[1].ts - first[0].ts == 5000  # the CONNECT line's holdtime is 5 s
    assert isinstance(first[2], CallReleased)
    assert first[2].by is ReleasedBy.CALLER
    second = by_call["1700000080.3"][-1]
    assert isinstance(second, CallReleased)
    assert second.by is ReleasedBy.AGENT
    diverted = {e.target for e in events if isinstance(e, CallDiverted)}
    assert diverted == {"timeout", "empty", "key:5", "agent_dump"}
    transfers = {(e.target, e.kind) for e in events if isinstance(e, CallTransferred)}
    assert transfers == {
        ("2000@default", TransferKind.BLIND),
        ("102@default", TransferKind.BLIND),
        ("BRIDGE:1700000400.99", TransferKind.CONSULT),
    }
    syscompat = by_call["1700000420.15"][-1]
    assert isinstance(syscompat, CallReleased)
    assert syscompat.by is ReleasedBy.SYSTEM
    assert translator.calls == {}  # every call ended: no state left behind


def test_agent_verbs_follow_membership_and_pause() -> None:
    events, _ = translate_file(SCENARIOS)
    bob = [e for e in events if getattr(e, "agent", None) == "PJSIP/bob" and not hasattr(e, "call")]
    assert [type(e) for e in bob] == [
        AgentLogin,  # ADDMEMBER support: the first queue starts the session
        AgentQueuesChanged,  # ADDMEMBER sales: the full set, same session
        AgentReady,  # UNPAUSE
        AgentNotReady,  # PAUSE Lunch
        AgentReady,  # UNPAUSEALL
        AgentNotReady,  # PAUSEALL
        AgentQueuesChanged,  # REMOVEMEMBER sales: support is left
        AgentLogout,  # REMOVEMEMBER support: none left
    ]
    assert isinstance(bob[1], AgentQueuesChanged)
    assert bob[1].queues == ("sales", "support")
    assert isinstance(bob[3], AgentNotReady)
    assert bob[3].reason == "Lunch"
    assert isinstance(bob[6], AgentQueuesChanged)
    assert bob[6].queues == ("support",)
    # Its queues are the voice queues: a change leaves another platform's (chat) queues alone.
    assert bob[1].media == bob[6].media == (Media.VOICE,)
    login = next(e for e in events if isinstance(e, AgentLogin) and e.agent == "Agent/1001")
    assert login.dn == "PJSIP/1001-00000001"
    callback = next(e for e in events if isinstance(e, AgentLogin) and e.agent == "Agent/1002")
    assert callback.dn == "1002@agents"
    logoff = next(e for e in events if isinstance(e, AgentLogout) and e.agent == "Agent/1002")
    assert logoff.reason == "Autologoff"
    # Asterisk knows calls only: its logouts end the voice login and leave another platform's
    # media (chats) alone.
    assert {e.media for e in events if isinstance(e, AgentLogout)} == {(Media.VOICE,)}


def test_envelope_is_gapless_deterministic_and_survives_the_wire() -> None:
    events, _ = translate_file(SCENARIOS)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({e.id for e in events}) == len(events)
    assert all(e.tenant == "t1" and e.source == "asterisk" for e in events)
    again, _ = translate_file(SCENARIOS)
    assert [e.id for e in again] == [e.id for e in events]  # re-import: same ids
    for event in events:
        assert decode_event(encode(event).rstrip(b"\n")) == event


def test_bad_lines_are_counted_with_their_line_and_never_stop_the_file(
    caplog: pytest.LogCaptureFixture,
) -> None:
    translator = QueueLogTranslator(tenant="t1")
    lines = [
        "1700000010|1.1|q|NONE|ENTERQUEUE||1|1",
        "not a queue_log line",
        "abc|1.1|q|NONE|ENTERQUEUE",
        "1700000011|1.1|q|NONE|FROBNICATE|x",
        "1700000012|NONE|q|NONE|ENTERQUEUE||1|1",
        "1700000013|1.1|q|" + "x" * 300 + "|CONNECT|1|2|3",
        "",
        "1700000014|1.1|q|NONE|ABANDON|1|1|4",
    ]
    events: list[Event] = []
    for number, text in enumerate(lines, 1):
        events += translator.translate(text, line(number, "queue_log"))
    assert [type(e) for e in events] == [CallQueued, CallAbandoned]
    assert translator.bad.by_reason == {
        "too_few_fields": 1,
        "bad_timestamp": 1,
        "unknown_verb": 1,
        "missing_field": 1,
        "field_too_long": 1,
    }
    assert "queue_log line 2" in caplog.text
    assert "queue_log line 4" in caplog.text


def test_clock_skew_is_clamped_and_counted() -> None:
    translator = QueueLogTranslator(tenant="t1")
    a = translator.translate("1700000100|1.1|q|NONE|ENTERQUEUE||1|1", line(1))
    b = translator.translate("1700000090|1.2|q|NONE|ENTERQUEUE||1|1", line(2))
    assert b[0].ts == a[0].ts == 1_700_000_100_000
    assert translator.stats.notes["ts_clamped_backwards"] == 1


def test_timestamps_in_ms_and_date_times_in_a_zone() -> None:
    import zoneinfo

    paris = QueueLogTranslator(tenant="t1", timezone=zoneinfo.ZoneInfo("Europe/Paris"))
    [event] = paris.translate("2024-07-01 12:00:00|1.1|q|NONE|ENTERQUEUE||1|1", line(1))
    assert event.ts == 1_719_828_000_000  # 10:00 UTC in summer
    ms = QueueLogTranslator(tenant="t1")
    [event] = ms.translate("1700000000123|1.1|q|NONE|ENTERQUEUE||1|1", line(1))
    assert event.ts == 1_700_000_000_123


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("|0123456789.ABCDEFGHNOQRTUXYZ /\r\n"), max_size=80),
        max_size=20,
    )
)
def test_random_lines_never_raise(lines: list[str]) -> None:
    translator = QueueLogTranslator(tenant="t1")
    total = 0
    for number, text in enumerate(lines, 1):
        total += len(translator.translate(text, line(number)))
    assert translator.stats.events == total


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=200))
def test_truncated_scenario_lines_never_raise(cut: int) -> None:
    translator = QueueLogTranslator(tenant="t1")
    for number, text in enumerate(SCENARIOS.read_text().splitlines(), 1):
        translator.translate(text[: cut % (len(text) + 1)], line(number))


# --- live: the follower --------------------------------------------------------------------------


async def _collect(follower: QueueLogFollower, want: int, out: list[str]) -> None:
    async for text, _ in follower.lines():
        out.append(text)
        if len(out) >= want:
            follower.stop()


async def test_follower_survives_rotation_truncation_and_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("1|a|q|NONE|ENTERQUEUE\n2|a|q|NONE|ABAN")
    follower = QueueLogFollower(path, clock=SystemClock(), poll_interval=0.01)
    got: list[str] = []
    task = asyncio.create_task(_collect(follower, 5, got))
    await asyncio.sleep(0.05)
    assert got == ["1|a|q|NONE|ENTERQUEUE"]  # the partial line waits for its newline
    with path.open("a") as handle:
        handle.write("DON|1|1|1\n")
    await asyncio.sleep(0.05)
    assert got[-1] == "2|a|q|NONE|ABANDON|1|1|1"
    # logrotate (create): rename, then a new file at the same path
    with path.open("a") as handle:
        handle.write("3|b|q|NONE|ENTERQUEUE\n")
    os.rename(path, tmp_path / "queue_log.1")
    path.write_text("4|c|q|NONE|ENTERQUEUE\n")
    await asyncio.sleep(0.1)
    assert got[2:] == ["3|b|q|NONE|ENTERQUEUE", "4|c|q|NONE|ENTERQUEUE"]
    # logrotate copytruncate: the same file is emptied, then written again
    path.write_text("")
    await asyncio.sleep(0.05)
    path.write_text("5|d|q|NONE|ENTERQUEUE\n")
    await asyncio.wait_for(task, 2)
    assert got[4] == "5|d|q|NONE|ENTERQUEUE"
    assert follower.rotations == 1
    assert follower.truncations == 1


async def test_follower_feeds_the_translator_live(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("")
    follower = QueueLogFollower(path, clock=SystemClock(), poll_interval=0.01)
    translator = QueueLogTranslator(tenant="t1")
    events: list[Event] = []

    async def run() -> None:
        async for text, where in follower.lines():
            events.extend(translator.translate(text, where))
            if len(events) >= 3:
                follower.stop()

    task = asyncio.create_task(run())
    lines = SCENARIOS.read_text().splitlines()[6:10]
    with path.open("a") as handle:
        for text in lines:
            handle.write(text + "\n")
            handle.flush()
            await asyncio.sleep(0.02)
    await asyncio.wait_for(task, 2)
    assert [type(e) for e in events] == [CallQueued, CallEstablished, CallReleased]


# --- the realtime table -------------------------------------------------------------------------

ASTERISK_QUEUE_LOG_TABLE = """
CREATE TABLE {table} (
    id BIGSERIAL PRIMARY KEY,
    time TIMESTAMP WITHOUT TIME ZONE,
    callid VARCHAR(80),
    queuename VARCHAR(256),
    agent VARCHAR(80),
    event VARCHAR(32),
    data1 VARCHAR(100),
    data2 VARCHAR(100),
    data3 VARCHAR(100),
    data4 VARCHAR(100),
    data5 VARCHAR(100)
)
"""


@pytest.mark.postgres
async def test_table_poller_reads_new_rows_on_postgres(postgres_url: str) -> None:
    table = f"queue_log_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(ASTERISK_QUEUE_LOG_TABLE.format(table=table))
        insert = (
            f"INSERT INTO {table} (time, callid, queuename, agent, event, data1, data2, data3)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        import datetime as dt

        t0 = dt.datetime(2024, 3, 1, 12, 0, 0)
        await connection.execute(insert, t0, "c1", "support", "NONE", "ENTERQUEUE", "", "555", "1")
        await connection.execute(
            insert,
            t0 + dt.timedelta(seconds=4),
            "c1",
            "support",
            "PJSIP/bob",
            "CONNECT",
            "4",
            "x",
            "2",
        )
        url = postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        poller = QueueLogTablePoller(url, table=table, clock=SystemClock(), poll_interval=0.02)
        translator = QueueLogTranslator(tenant="t1")
        events: list[Event] = []

        async def run() -> None:
            async for row, where in poller.rows():
                record = row_to_record(row)
                events.extend(translator.translate_record(record, f"{table}:{row['id']}", where))
                if len(events) >= 3:
                    poller.stop()

        task = asyncio.create_task(run())
        await asyncio.sleep(0.1)
        await connection.execute(
            insert,
            t0 + dt.timedelta(seconds=64),
            "c1",
            "support",
            "PJSIP/bob",
            "COMPLETEAGENT",
            "4",
            "60",
            "1",
        )
        await asyncio.wait_for(task, 5)
        assert [type(e) for e in events] == [CallQueued, CallEstablished, CallReleased]
        assert events[0].ts == 1_709_294_400_000  # naive time read as UTC
        assert poller.last_id == 3
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()


def test_a_row_with_a_single_data_column_is_split() -> None:
    record = row_to_record(
        {
            "time": "1700000000",
            "callid": "c",
            "queuename": "q",
            "agent": "a",
            "event": "connect",
            "data": "5|x|2",
        }
    )
    assert record.verb == "CONNECT"
    assert record.data == ("5", "x", "2")
    assert Location("row", 3, "queue_log").__str__() == "queue_log row 3"


def test_engine_statistics_match_the_numbers_the_queue_log_carries() -> None:
    """The engine (wallboard.stats replay) on adapted events agrees with Asterisk's own fields:
    CONNECT's holdtime, ABANDON's waittime, and the count of each verb, for queue support."""
    from wallboard.stats.library import standard_library
    from wallboard.stats.replay import replay

    events, _ = translate_file(SCENARIOS)
    result, anomalies = replay(events, standard_library())
    support = result["t1"]["queue"]["support"]
    rows = [text.split("|") for text in SCENARIOS.read_text().splitlines()]
    mine = [r for r in rows if r[2] == "support"]
    holdtimes = [int(r[5]) for r in mine if r[4] == "CONNECT"]
    waits = [int(r[7]) for r in mine if r[4] == "ABANDON"]
    assert support["queue.entered"] == sum(r[4] == "ENTERQUEUE" for r in mine) == 7
    assert support["queue.answered"] == len(holdtimes) == 5
    assert support["queue.abandoned"] == len(waits) == 1
    assert support["queue.diverted"] == sum(r[4].startswith("EXIT") for r in mine) == 1
    assert support["queue.transfers"] == 3
    assert support["queue.asa"] == 1000 * sum(holdtimes) / len(holdtimes)  # 4.4 s
    assert support["queue.average_abandon_time"] == 1000 * sum(waits) / len(waits)
    assert anomalies == {}


# --- beyond the reference: refusals, diversions on load, wrap-up, member NONE, date-times ------


def _hour_ms(hour: int, minute: int = 0, second: int = 0) -> int:
    import datetime as dt

    moment = dt.datetime(2012, 7, 1, hour, minute, second, tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1000


def test_refusals_and_load_diversions_are_mapped_with_their_reason_and_cause() -> None:
    events, translator = translate_file(WAZO)
    assert translator.bad.total == 0, translator.bad.by_reason
    refused = {e.call: e.reason for e in events if isinstance(e, CallRefused)}
    assert refused == {
        "closed_1": RefusalReason.CLOSED,
        "full_1": RefusalReason.FULL,
        "joinempty_1": RefusalReason.JOIN_EMPTY,
        "joinunavail_1": RefusalReason.JOIN_UNAVAILABLE,
        "full_2": RefusalReason.FULL,
        "full_3": RefusalReason.FULL,
    }
    diverted = {e.call: (e.cause, e.wait_ms) for e in events if isinstance(e, CallDiverted)}
    assert diverted == {
        "ratio_1": (DiversionCause.CALLS_PER_AGENT, None),
        "holdtime_1": (DiversionCause.EXPECTED_WAIT, None),
        "leave_1": (DiversionCause.LEAVE_EMPTY, 30_000),
        "timeout_1": (DiversionCause.TIMEOUT, 60_000),
    }
    # Diverted on load before joining: the queue received the call and sent it on at once.
    ratio = [e for e in events if getattr(e, "call", None) == "ratio_1"]
    assert [type(e) for e in ratio] == [CallQueued, CallDiverted]
    assert ratio[0].ts == ratio[1].ts
    assert translator.calls == {}


def test_the_durations_a_line_reports_are_on_the_events() -> None:
    events, _ = translate_file(WAZO)
    connect = next(e for e in events if isinstance(e, CallEstablished) and e.agent)
    assert (connect.wait_ms, connect.ring_ms) == (7_000, 2_000)
    complete = next(e for e in events if isinstance(e, CallReleased) and e.agent)
    assert complete.talk_ms == 60_000
    scenario, _ = translate_file(SCENARIOS)
    abandon = next(e for e in scenario if isinstance(e, CallAbandoned))
    assert abandon.wait_ms == 5_000
    transfer = next(e for e in scenario if isinstance(e, CallReleased) and e.call == "1700000240.9")
    assert transfer.talk_ms == 58_000
    key = next(e for e in scenario if isinstance(e, CallDiverted) and e.target == "key:5")
    assert (key.cause, key.wait_ms) == (DiversionCause.KEY, 10_000)


def test_a_duration_that_is_none_loses_only_itself() -> None:
    translator = QueueLogTranslator(tenant="t1")
    translator.translate("1700000010|c1|q|NONE|ENTERQUEUE||1|1", line(1))
    [event] = translator.translate("1700000015|c1|q|PJSIP/bob|CONNECT|soon|x|2", line(2))
    assert isinstance(event, CallEstablished)
    assert (event.wait_ms, event.ring_ms) == (None, 2_000)
    assert translator.stats.notes["bad_duration"] == 1
    assert translator.bad.total == 0


def test_connect_and_complete_of_member_none_are_answered_by_an_unknown_member() -> None:
    events, translator = translate_file(WAZO)
    ghost = [e for e in events if getattr(e, "call", None) == "ghost_1"]
    assert [type(e) for e in ghost] == [CallQueued, CallEstablished, CallReleased]
    assert ghost[1].agent is None
    assert ghost[1].wait_ms == 4_000
    assert ghost[2].agent is None
    assert ghost[2].talk_ms == 60_000
    assert translator.stats.notes["connect_without_member"] == 1


def test_wrapup_is_after_call_work_until_its_time_is_over() -> None:
    events, _ = translate_file(WAZO)
    agent = [e for e in events if getattr(e, "agent", None) == "Agent/1001"]
    acw = next(e for e in agent if isinstance(e, AgentAfterCallWork))
    assert acw.call == "answered_1"
    assert acw.ts == _hour_ms(8, 3, 7)
    # The ready comes with the first line after the 15 s are over, at the instant they are.
    ready = [e for e in agent if isinstance(e, AgentReady)][-1]
    assert ready.ts == _hour_ms(8, 3, 22)
    assert events.index(ready) < events.index(
        next(e for e in events if getattr(e, "call", None) == "ghost_1")
    )
    # A pause before the end cancels it; a file that ends first ends it on time.
    translator = QueueLogTranslator(tenant="t1")
    translator.translate("1700000000|c1|q|Agent/1|WRAPUPSTART|30", line(1))
    paused = translator.translate("1700000010|NONE|q|Agent/1|PAUSE|Lunch", line(2))
    assert [type(e) for e in paused] == [AgentNotReady]
    assert translator.finish() == []
    translator.translate("1700000100|c2|q|Agent/1|WRAPUPSTART|30", line(3))
    saved = translator.snapshot()
    restarted = QueueLogTranslator(tenant="t1")
    restarted.restore(saved)
    [end] = restarted.finish()
    assert isinstance(end, AgentReady)
    assert end.ts == 1_700_000_130_000


def test_date_times_are_cut_to_the_millisecond_never_rounded() -> None:
    import datetime as dt

    events, _ = translate_file(WAZO)
    full_2 = next(e for e in events if getattr(e, "call", None) == "full_2")
    assert full_2.ts == _hour_ms(9) - 1  # 08:59:59.999, in the 08:00 hour
    record = row_to_record(
        {
            "time": dt.datetime(2012, 7, 1, 8, 59, 59, 999_999),
            "callid": "c",
            "queuename": "q",
            "agent": "NONE",
            "event": "FULL",
        }
    )
    assert record.ts_ms == _hour_ms(9) - 1
    text_row = {"time": "2012-07-01 08:59:59.999999", "event": "FULL"}
    assert row_to_record(text_row).ts_ms == _hour_ms(9) - 1


def test_engine_counts_received_calls_by_outcome_reason_and_cause() -> None:
    """Every call the queue received is in exactly one outcome: answered, diverted by cause,
    refused by reason; the 08:59:59.999999 refusal is in the 08:00 hour."""
    from wallboard.stats import decode_definitions
    from wallboard.stats.library import standard_library
    from wallboard.stats.replay import replay

    events, _ = translate_file(WAZO)
    library = standard_library()
    result, anomalies = replay(events, library, at_ms=_hour_ms(9, 30))
    q = result["t1"]["queue"]["q01"]
    assert anomalies == {}
    assert q["queue.offered"] == 12  # 6 entered + 6 refused
    assert q["queue.entered"] == 6
    assert q["queue.answered"] == 2
    assert q["queue.diverted"] == 4
    assert q["queue.refused_closed"] == 1
    assert q["queue.refused_full"] == 3
    assert q["queue.refused_no_agents"] == 2
    assert q["queue.diverted_on_load"] == 2
    assert q["queue.diverted_timeout"] == 1
    assert q["queue.diverted_no_agents"] == 1
    agent = result["t1"]["agent"]["Agent/1001"]
    assert agent["agent.acw_time"] == 15_000
    hourly = decode_definitions(
        [
            {
                "id": "queue.full_this_hour",
                "object": "queue",
                "category": "TotalNumber",
                "mask": ["refused"],
                "filter": {"refusal_reasons": ["full"]},
                "profile": {"kind": "selection", "interval_min": 60},
            }
        ]
    )
    # Read as a live board would, with the events up to the instant read.
    cut = _hour_ms(9) - 1
    before, _ = replay([e for e in events if e.ts <= cut], hourly, at_ms=cut)
    after, _ = replay(events, hourly, at_ms=_hour_ms(9))
    assert before["t1"]["queue"]["q01"]["queue.full_this_hour"] == 2
    assert after["t1"]["queue"]["q01"]["queue.full_this_hour"] == 1
