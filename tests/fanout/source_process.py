"""A deterministic event source as its own process, for the fanout tests.

It serves ``--count`` events on a wire server: event ``n`` (seq ``n``, id ``e-n``, tenants
``t1``/``t2`` in turn) is due at ``t0 + n / rate``. Like a source that re-reads its input after
a restart (a queue_log file), a restarted process with the same ``--t0`` emits exactly the same
events, those already due before it listens, so a client resumes across its restart.

    python tests/fanout/source_process.py --port P --t0 MS --rate R --count N [--payload B]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from wallboard.core.events import AgentReady, CallQueued, Event
from wallboard.core.ids import AgentId, CallId, EventId, QueueId, SourceId, TenantId
from wallboard.ops.signals import cancel_on_signals
from wallboard.settings import Settings
from wallboard.wire.server import WireServer


def event(n: int, t0: int, rate: float, payload: int) -> Event:
    """Event ``n``: an agent.ready, or with ``payload`` a call.queued carrying that many
    characters of attached data."""
    tenant, source, event_id = TenantId(f"t{1 + n % 2}"), SourceId("voice"), EventId(f"e-{n}")
    ts = t0 + int(n * 1000 / rate)
    if payload:
        return CallQueued(
            tenant=tenant,
            source=source,
            seq=n,
            id=event_id,
            ts=ts,
            call=CallId(f"c{n}"),
            queue=QueueId("q1"),
            data={"pad": "x" * payload},
        )
    return AgentReady(
        tenant=tenant, source=source, seq=n, id=event_id, ts=ts, agent=AgentId(f"a{n % 7}")
    )


async def serve(port: int, t0: int, rate: float, count: int, payload: int) -> None:
    cancel_on_signals()
    server = WireServer(source="voice", name="test-source", settings=Settings.from_env())
    listening = False

    async def listen(seq: int) -> None:
        await server.start("127.0.0.1", port)
        print(f"listening {server.port} at seq {seq}", flush=True)

    try:
        for n in range(1, count + 1):
            wait_ms = t0 + int(n * 1000 / rate) - int(time.time() * 1000)
            if wait_ms > 0:
                if not listening:  # listen once caught up with what was due
                    await listen(n - 1)
                    listening = True
                await asyncio.sleep(wait_ms / 1000)
            server.publish(event(n, t0, rate, payload))
        if not listening:
            await listen(count)
        print("done", flush=True)
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass
    finally:
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--t0", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--payload", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.t0, args.rate, args.count, args.payload))


if __name__ == "__main__":
    main()
