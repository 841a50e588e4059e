"""Object permissions on the live channel, over a real server and WebSocket: no raw frame
ever carries a forbidden object (snapshots and changes, dashboard and explicit
subscriptions), and a permission change reaches an open connection as a fresh snapshot within
about a second."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets
from permissions_site import ACME, HIDDEN, open_site

from asgi_server import serve
from permissions_helpers import access_group, put_objects
from wallboard.db.database import Database
from wallboard.store.values import Change


class Frames:
    """A live connection's raw frames, all kept, read in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.raw: list[str] = []

    async def next(self, kind: str, sub: int | None = None, within: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind} frame; got {self.raw[-5:]}"
            text = await asyncio.wait_for(self.ws.recv(), left)
            self.raw.append(text)
            message: dict[str, Any] = json.loads(text)
            if message["type"] == kind and (sub is None or message.get("sub") == sub):
                return message

    async def quiet(self, seconds: float) -> None:
        """Read whatever comes for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.raw.append(await asyncio.wait_for(self.ws.recv(), left))
            except TimeoutError:
                return

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))


def objects_of(message: dict[str, Any]) -> set[tuple[str, str]]:
    rows = message.get("values") or message.get("changes") or []
    return {(row[0], row[1]) for row in rows if row[0] != "source"}


async def test_no_live_frame_carries_a_forbidden_object(database: Database) -> None:
    async with open_site(database) as (site, _):
        site.policy.user = "sup"
        async with (
            serve(site.app) as port,
            websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live") as ws,
        ):
            frames = Frames(ws)
            await frames.next("hello")
            await frames.send(id=1, type="subscribe", tenant="acme", dashboard="mixed")
            await frames.next("result")
            dashboard = await frames.next("snapshot", 1)
            await frames.send(id=2, type="subscribe", tenant="acme")  # every object
            await frames.next("result")
            everything = await frames.next("snapshot", 2)
            await frames.send(
                id=3,
                type="subscribe",
                tenant="acme",
                objects=[["agent", "zz-hidden-agent"], ["queue", "sales"]],
            )
            await frames.next("result")
            named = await frames.next("snapshot", 3)
            await frames.send(
                id=5, type="subscribe", tenant="acme", dashboard="mixed", widget="secret-team"
            )
            await frames.next("result")
            secret = await frames.next("snapshot", 5)
            await frames.send(id=6, type="subscribe", tenant="other")
            other = await frames.next("result")
            await site.values.apply(
                ACME,
                [
                    Change("agent", "zz-hidden-agent", "agent.status", {"state": "busy"}),
                    Change("queue", "zz-hidden-queue", "queue.calls_waiting", 9),
                    Change("queue", "sales", "queue.calls_waiting", 5),
                ],
            )
            changes = await frames.next("changes", 2)
            await frames.quiet(0.5)
            await site.app.state.live_hub.close()
    assert objects_of(dashboard) == {("agent", "a1"), ("agent", "a2"), ("queue", "sales")}
    assert objects_of(everything) == {("agent", "a1"), ("agent", "a2"), ("queue", "sales")}
    assert objects_of(named) == {("queue", "sales")}
    # A forbidden group selects nothing, not every visible object of its type.
    assert objects_of(secret) == set()
    assert objects_of(changes) == {("queue", "sales")}
    assert other["ok"] is False
    assert other["error"]["code"] == "not_found"
    leaked = [text for text in frames.raw if HIDDEN in text]
    assert leaked == []


async def test_a_permission_change_reaches_an_open_connection(database: Database) -> None:
    async with open_site(database) as (site, _):
        site.policy.user = "sup"
        follower = asyncio.create_task(site.follower.run())
        try:
            async with (
                serve(site.app) as port,
                websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live") as ws,
            ):
                frames = Frames(ws)
                await frames.next("hello")
                await frames.send(id=1, type="subscribe", tenant="acme")
                await frames.next("result")
                first = await frames.next("snapshot", 1)
                assert ("agent", "a1") in objects_of(first)
                assert ("agent", "zz-hidden-agent") not in objects_of(first)

                # Granted: the hidden agent arrives in a fresh snapshot.
                await put_objects(
                    database,
                    "acme",
                    access_group("sups", ["sup"], objects=[("agent", "zz-hidden-agent")]),
                )
                started = time.monotonic()
                granted = await frames.next("snapshot", 1, within=3.0)
                granted_s = time.monotonic() - started
                assert objects_of(granted) == {("agent", "zz-hidden-agent")}

                # Revoked: a fresh snapshot without it, and no change of it afterwards.
                await put_objects(database, "acme", access_group("sups", ["sup"]))
                started = time.monotonic()
                revoked = await frames.next("snapshot", 1, within=3.0)
                revoked_s = time.monotonic() - started
                assert objects_of(revoked) == set()
                after = len(frames.raw)
                await site.values.apply(
                    ACME, [Change("agent", "zz-hidden-agent", "agent.status", {"state": "busy"})]
                )
                await frames.quiet(0.6)
                await site.app.state.live_hub.close()
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
    assert [text for text in frames.raw[after:] if HIDDEN in text] == []
    # Recompute (200 ms poll) plus the channel's version poll (250 ms), with room for a
    # loaded machine; well within the second on a quiet one.
    assert granted_s < 1.5, granted_s
    assert revoked_s < 1.5, revoked_s
