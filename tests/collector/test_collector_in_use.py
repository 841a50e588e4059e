"""What the collector opens (the statistics in use, opened and closed as layouts change) and the
interval history it writes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_collector import (
    DEFINITIONS,
    RANK,
    expected_values,
    publish,
    run_until_caught_up,
    settings,
)

from wallboard.collector.inuse import DEFAULT_ALWAYS, InUse, InUseFile, Layout, decode_in_use
from wallboard.collector.service import Collector, read_all_values
from wallboard.core.codec import decode_event
from wallboard.core.errors import InvalidInput
from wallboard.core.events import Event
from wallboard.core.ids import TenantId
from wallboard.eventlog.memory import MemoryEventLog
from wallboard.stats.replay import replay
from wallboard.store.memory import MemoryValueStore

LAYOUT = {
    "layouts": [
        {
            "name": "acme queues",
            "tenant": "acme",
            "statistics": ["queue.answered", "queue.service_level"],
            "objects": {"queue": ["retail"]},
        },
        {"name": "everyone's agents", "tenant": "*", "statistics": ["agent.talk_time"]},
    ]
}


def stats_in(values: dict[str, object]) -> set[str]:
    """Every statistic id with a value anywhere in one tenant's values."""
    return {
        stat
        for by_id in values.values()  # type: ignore[union-attr]
        for stats in by_id.values()
        for stat in stats
    }


async def test_only_the_statistics_in_use_are_open_and_written(lines: list[bytes]) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines)
    in_use = decode_in_use(LAYOUT, DEFINITIONS, "test")
    collector = Collector(log, store, DEFINITIONS, settings(), in_use=in_use)
    await run_until_caught_up(collector, log)
    values = await read_all_values(store, ["acme", "globex"])
    expected = expected_values(lines)
    for tenant in ("acme", "globex"):
        for object_type, by_id in values[tenant].items():
            for object_id, stats in by_id.items():
                for stat, value in stats.items():
                    # Each value written is the offline replay's value.
                    assert expected[tenant][object_type][object_id][stat] == value  # type: ignore[index]
                    wanted = set(DEFAULT_ALWAYS) | {"agent.talk_time"}
                    if tenant == "acme" and object_id == "retail":
                        wanted |= {"queue.answered", "queue.service_level"}
                    assert stat in wanted, (tenant, object_type, object_id, stat)
    assert "queue.answered" in values["acme"]["queue"]["retail"]
    assert "queue.answered" not in stats_in(values["globex"])
    work = collector.tenants["acme"]
    # Formula inputs are the engine's; what the tenant opened is only what is in use.
    assert work.open[("queue", "retail")] == frozenset(
        {"queue.answered", "queue.service_level", "queue.calls_waiting", "queue.longest_wait"}
    )
    assert collector.statistics_open < sum(
        len(InUse(DEFINITIONS, everything=True).wanted("acme", t, o)) for t, o in work.open
    )


async def test_layouts_that_come_and_go_open_and_close_statistics(lines: list[bytes]) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    half = len(lines) // 2
    await publish(log, lines[:half])
    base = InUse(DEFINITIONS)
    collector = Collector(log, store, DEFINITIONS, settings(), in_use=base)
    task = asyncio.create_task(collector.run())
    await asyncio.sleep(0.3)
    before = await read_all_values(store, ["acme"])
    assert "queue.asa" not in stats_in(before["acme"])

    layout = Layout("acme", frozenset({"queue.asa", "agent.calls_answered"}))
    await collector.set_in_use(InUse(DEFINITIONS, layouts=(layout,)))
    await publish(log, lines[half:])
    await asyncio.sleep(0.5)
    during = await read_all_values(store, ["acme", "globex"])
    assert "queue.asa" in stats_in(during["acme"])
    assert "agent.calls_answered" in stats_in(during["acme"])
    assert "queue.asa" not in stats_in(during["globex"])

    await collector.set_in_use(base)
    await asyncio.sleep(0.3)
    collector.stop()
    await asyncio.wait_for(task, 30)
    after = await read_all_values(store, ["acme"])
    assert "queue.asa" not in stats_in(after["acme"])
    assert "agent.calls_answered" not in stats_in(after["acme"])
    engine = collector.tenants["acme"].engine
    assert not any(stat == "queue.asa" for _, _, _, stat in engine.opened())
    # Always-on values are still there and still right.
    expected = expected_values(lines)["acme"]
    assert after["acme"]["queue"]["retail"]["queue.calls_waiting"] == (
        expected["queue"]["retail"].get("queue.calls_waiting")  # type: ignore[index]
    )


async def test_a_restart_keeps_what_was_opened_and_follows_a_new_set(lines: list[bytes]) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines)
    wide = InUse(DEFINITIONS, layouts=(Layout("*", frozenset({"queue.asa"})),))
    first = Collector(log, store, DEFINITIONS, settings(), in_use=wide)
    await run_until_caught_up(first, log)
    assert "queue.asa" in stats_in((await read_all_values(store, ["acme"]))["acme"])
    narrow = Collector(log, store, DEFINITIONS, settings(), in_use=InUse(DEFINITIONS))
    await run_until_caught_up(narrow, log)
    values = await read_all_values(store, ["acme"])
    assert "queue.asa" not in stats_in(values["acme"])
    assert "queue.calls_waiting" in stats_in(values["acme"])


def test_in_use_documents_are_checked_and_errors_name_the_place() -> None:
    with pytest.raises(InvalidInput, match=r"layouts\[1\] \(b\)\.statistics: unknown statistic"):
        decode_in_use(
            {
                "layouts": [
                    {"name": "a", "tenant": "t", "statistics": ["queue.asa"]},
                    {"name": "b", "tenant": "t", "statistics": ["queue.nope"]},
                ]
            },
            DEFINITIONS,
            "f.yaml",
        )
    with pytest.raises(InvalidInput, match=r"layouts\[0\]\.tenant"):
        decode_in_use({"layouts": [{"tenant": "a{b", "statistics": []}]}, DEFINITIONS, "f")
    with pytest.raises(InvalidInput, match="always: unknown statistic 'x'"):
        decode_in_use({"always": ["x"]}, DEFINITIONS, "f")
    with pytest.raises(InvalidInput, match="colour"):
        decode_in_use({"layouts": [], "colour": 1}, DEFINITIONS, "f")
    assert decode_in_use(None, DEFINITIONS, "f").always == frozenset(DEFAULT_ALWAYS)


def test_an_in_use_file_made_invalid_keeps_the_set_in_force(tmp_path: Path) -> None:
    path = tmp_path / "in-use.yaml"
    path.write_text("layouts: [{tenant: acme, statistics: [queue.asa]}]\n")
    watched = InUseFile(path, DEFINITIONS)
    first = watched.load()
    assert first.wanted("acme", "queue", "q1") >= {"queue.asa"}
    assert watched.poll() is None  # unchanged
    path.write_text("layouts: [{tenant: acme, statistics: [queue.nope]}]\n")
    assert watched.poll() is None
    assert watched.errors == 1
    path.write_text("layouts: [{tenant: acme, statistics: [queue.aht, queue.asa]}]\n")
    again = watched.poll()
    assert again is not None
    assert again.wanted("acme", "queue", "q1") >= {"queue.aht"}


def replay_at(events: Sequence[Event], tenant: str, end_ms: int) -> dict[str, object]:
    mine = [e for e in events if e.tenant == tenant and e.ts < end_ms]
    result, _ = replay(mine, DEFINITIONS, at_ms=end_ms)
    return result[tenant]  # type: ignore[return-value]


async def test_history_holds_each_bucket_end_as_an_offline_replay_reads_it(
    lines: list[bytes],
) -> None:
    log, store = MemoryEventLog(), MemoryValueStore()
    await publish(log, lines)
    collector = Collector(log, store, DEFINITIONS, settings(history_s=300))
    await run_until_caught_up(collector, log)
    events = [e for e in map(decode_event, lines) if isinstance(e, Event)]
    events.sort(key=lambda e: (e.ts, RANK[e.source], e.seq))
    first = min(e.ts for e in events if e.tenant == "acme")
    last = max(e.ts for e in events if e.tenant == "acme")
    checked = 0
    for stat, object_type, object_id in [
        ("queue.answered", "queue", "retail"),
        ("queue.calls_waiting", "queue", "retail"),
        ("tenant.entered", "tenant", "acme"),
        (
            "agent.talk_time",
            "agent",
            next(iter(collector.tenants["acme"].engine.known_objects("acme")["agent"])),
        ),
    ]:
        series = await store.read_intervals(
            TenantId("acme"), stat, object_type, object_id, 0, 2**62
        )
        assert series, stat
        starts = [v.start_ms for v in series]
        assert starts == sorted(starts)
        assert all(s % 300_000 == 0 for s in starts)
        # Every bucket that ended between the first and the last event is there.
        assert len(series) == last // 300_000 - first // 300_000, stat
        for item in series:
            expected = replay_at(events, "acme", item.start_ms + 300_000)
            assert item.value == expected[object_type][object_id].get(stat), (stat, item)  # type: ignore[index]
            checked += 1
    assert checked >= 20


def test_a_layout_naming_objects_is_hashable_and_equal_by_value() -> None:
    # The live hub keys its views by targets made of layouts (a widget naming its objects).
    def make() -> Layout:
        return Layout("acme", frozenset({"queue.asa"}), {"queue": frozenset({"sales"})}, "ops/q")

    assert make() == make()
    assert len({make(), make()}) == 1
    other = Layout("acme", frozenset({"queue.asa"}), {"queue": frozenset({"support"})}, "ops/q")
    assert other not in {make()}
