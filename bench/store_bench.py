"""Value store benchmark: batch apply rate, snapshot time and change-follow latency, per store.

Run: ``python bench/store_bench.py [--redis redis://127.0.0.1:6379/0]``. Against Redis it uses a
key prefix of its own and deletes its keys afterwards. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from wallboard.core.ids import TenantId
from wallboard.store import Change, Checkpoint, MemoryValueStore, Since, ValueStore
from wallboard.store.redis import RedisValueStore

AGENTS = 2000
STATS_PER_AGENT = 10


def changes_for(round_number: int, agents: int) -> list[Change]:
    return [
        Change("agent", f"agent-{n}", f"stat{s}", round_number if s else Since(round_number))
        for n in range(agents)
        for s in range(STATS_PER_AGENT)
    ]


async def bench(name: str, store: ValueStore) -> None:
    tenant = TenantId("bench")
    full = changes_for(0, AGENTS)
    started = time.perf_counter()
    await store.apply(tenant, full, checkpoint=Checkpoint("engine", b"x" * 100_000))
    took = time.perf_counter() - started
    print(f"{name}: first batch of {len(full)} changes + 100 kB checkpoint: {took * 1000:.1f} ms")

    small = [changes_for(r, 20) for r in range(1, 201)]
    started = time.perf_counter()
    for batch in small:
        await store.apply(tenant, batch)
    took = time.perf_counter() - started
    print(f"{name}: {len(small) / took:.0f} batches/s of {len(small[0])} changes each")

    started = time.perf_counter()
    snapshot = await store.snapshot(tenant)
    took = time.perf_counter() - started
    count = sum(len(stats) for stats in snapshot.values["agent"].values())
    print(f"{name}: snapshot of {count} values: {took * 1000:.1f} ms")

    version = await store.current_version(tenant)
    latencies = []
    for r in range(50):
        waiter = asyncio.create_task(store.wait_for_changes(tenant, version, max_wait=5))
        await asyncio.sleep(0.002)
        started = time.perf_counter()
        version = await store.apply(tenant, [Change("agent", "agent-0", "stat1", r)])
        await waiter
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    print(
        f"{name}: apply -> waiting reader woken: median {latencies[25] * 1000:.2f} ms, "
        f"max {latencies[-1] * 1000:.2f} ms"
    )
    await store.drop_tenant(tenant)
    await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", default="", help="Redis URL; empty: the memory store only")
    options = parser.parse_args()
    await bench("memory", MemoryValueStore())
    if options.redis:
        prefix = f"wbbench-{uuid.uuid4().hex[:8]}"
        await bench("redis", await RedisValueStore.connect(options.redis, prefix=prefix))


if __name__ == "__main__":
    asyncio.run(main())
