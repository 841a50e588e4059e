"""The live channel, ``/api/v1/live``: a WebSocket that sends a snapshot of the values a client
subscribes to, then only their changes, coalesced.

The server speaks first (``hello``). Each client message carries an ``id`` that increases and a
``type`` (``subscribe``, ``unsubscribe``, ``ping``); each gets one ``result``. A subscription
then receives ``snapshot`` (its values and the version they are at) and ``changes`` (values
changed or removed since, with the version after them), at most once per ``coalesce_ms`` each,
latest value winning; ``heartbeat`` when nothing else was sent for ``heartbeat_s``. A client
applies changes above its version only. Durations that grow with the clock travel as
``{"since": ms}``: the client ticks them itself. Every message type is in ``docs/live.md``.

A bad message gets an error ``result`` naming what is wrong (and is counted); it never ends the
connection, except that a client sending only bad messages is closed after ``MAX_BAD``. A
client that does not read is closed after ``send_timeout_s`` (a half-open socket), and while it
is slow what waits for it is bounded (see :mod:`wallboard.live.hub`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

import msgspec
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.websockets import WebSocket, WebSocketDisconnect

from wallboard.core.errors import InvalidInput, Unavailable
from wallboard.live.hub import Hub, Outbox, Subscription, Target
from wallboard.ops.metrics import counter, gauge
from wallboard.ops.signals import cancel_and_wait
from wallboard.store.values import check_tenant_id

log = logging.getLogger(__name__)

PROTOCOL: Final = 1
MAX_SUBSCRIPTIONS: Final = 64
MAX_OBJECTS: Final = 10_000
MAX_STATISTICS: Final = 1_000
MAX_BAD: Final = 100
"""Bad messages in a row after which a connection is closed."""
MAX_MESSAGE_BYTES: Final = 256 * 1024
PER_MESSAGE_DEFLATE: Final = False
"""Whether the server offers WebSocket compression (``uvicorn.Config(ws_per_message_deflate=)``).
Off: a frame is encoded once per view, but compressed once per *client* (each connection has
its own compressor), which took a quarter of the web process at 2,000 clients; a dashboard's
changes are a few kB a second, which a wallboard's network carries uncompressed."""


class LiveError(Exception):
    """A refusal sent as an error ``result``: a stable ``code`` and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- client messages ---------------------------------------------------------------------------


class Subscribe(msgspec.Struct, tag="subscribe", tag_field="type", forbid_unknown_fields=True):
    id: int
    tenant: str | None = None
    objects: list[tuple[str, str]] | None = None
    """(object type, object id) pairs; none: every object."""
    statistics: list[str] | None = None
    """Statistic ids; none: every statistic."""
    dashboard: str | None = None
    """A dashboard's uid: what its widgets show (with ``tenant``)."""
    widget: str | None = None
    """A widget's uid within ``dashboard``: what it shows."""


class Unsubscribe(msgspec.Struct, tag="unsubscribe", tag_field="type", forbid_unknown_fields=True):
    id: int
    sub: int


class Ping(msgspec.Struct, tag="ping", tag_field="type", forbid_unknown_fields=True):
    id: int


ClientMessage = Subscribe | Unsubscribe | Ping

_decoder = msgspec.json.Decoder(ClientMessage)
_encoder = msgspec.json.Encoder()

Resolver = Callable[[Subscribe], Awaitable[Target]]
"""Turns a subscribe request into what it may watch, or raises LiveError (unknown widget,
not allowed). The web tier supplies one that knows widgets, dashboards and permissions."""

AccessChanges = Callable[[], AsyncIterator[None]]
"""Yields each time what the connection may see has changed (its user's permissions): the
connection then resolves its subscriptions again and sends each a fresh snapshot."""


@dataclasses.dataclass(frozen=True)
class ConnectionAccess:
    """What one connection may watch: its resolver, and when that changes (None: never)."""

    resolve: Resolver
    changes: AccessChanges | None = None


async def explicit_targets(request: Subscribe) -> Target:
    """The resolver of explicit subscriptions (a tenant, objects, statistics)."""
    if request.widget is not None or request.dashboard is not None:
        raise LiveError("not_supported", "widget and dashboard subscriptions need the web tier")
    if request.tenant is None:
        raise LiveError("invalid", "tenant: required")
    try:
        check_tenant_id(request.tenant)
    except InvalidInput as exc:
        raise LiveError("invalid", f"tenant: {exc.message}") from None
    if request.objects is not None and len(request.objects) > MAX_OBJECTS:
        raise LiveError("invalid", f"objects: more than {MAX_OBJECTS}")
    if request.statistics is not None and len(request.statistics) > MAX_STATISTICS:
        raise LiveError("invalid", f"statistics: more than {MAX_STATISTICS}")
    return Target(
        request.tenant,
        frozenset(request.objects) if request.objects is not None else None,
        frozenset(request.statistics) if request.statistics is not None else None,
    )


class LiveMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.clients = gauge("web", "live_clients", "Open live connections.", registry=registry)
        self.messages = counter(
            "web", "live_messages", "Messages sent on live connections.", registry=registry
        )
        self.resyncs = counter(
            "web",
            "live_resyncs",
            "Fresh snapshots sent to subscriptions that fell behind or met a gap.",
            registry=registry,
        )
        self.bad_messages = counter(
            "web", "live_bad_messages", "Client messages refused.", registry=registry
        )
        self.dropped = counter(
            "web", "live_dropped", "Connections closed for not reading.", registry=registry
        )


class Connection:
    """One WebSocket client of the live channel."""

    def __init__(
        self,
        websocket: WebSocket,
        hub: Hub,
        resolve: Resolver,
        metrics: LiveMetrics,
        *,
        heartbeat_s: float,
        send_timeout_s: float,
        max_outbox: int,
        changes: AccessChanges | None = None,
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.resolve = resolve
        self.changes = changes
        self.requests: dict[int, Subscribe] = {}
        """Each live subscription's request, to resolve again when the access changes."""
        self.metrics = metrics
        self.heartbeat_s = heartbeat_s
        self.send_timeout_s = send_timeout_s
        self.outbox = Outbox(max_outbox)
        self.last_id = 0
        self.bad = 0
        self._last_sent = time.monotonic()
        self._sending_since: float | None = None
        self._writer: asyncio.Task[None] | None = None
        self._too_slow = False

    def sweep(self, now: float) -> None:
        """Called about once a second (:class:`Sweeper`): drop the client if a send has waited
        ``send_timeout_s`` for it to read; wake the writer for a heartbeat when due. One timer
        for all the connections instead of two per message each (a tenth of the process at
        2,000 clients)."""
        if self._sending_since is not None and now - self._sending_since >= self.send_timeout_s:
            if self._writer is not None and not self._too_slow:
                self._too_slow = True
                self.metrics.dropped.inc()
                self._writer.cancel()
        elif now - self._last_sent >= self.heartbeat_s:
            self.outbox.wake.set()

    def push(self, message: dict[str, object]) -> None:
        self.outbox.push(_encoder.encode(message).decode())

    async def run(self) -> None:
        self.push(
            {
                "type": "hello",
                "protocol": PROTOCOL,
                "coalesce_ms": round((self.hub.coalesce_s or 0) * 1000),
                "heartbeat_s": self.heartbeat_s,
            }
        )
        writer = self._writer = asyncio.create_task(self._write_loop())
        reader = asyncio.create_task(self._read_loop())
        # Not in the wait below: following the access ending (it never changes) ends nothing.
        follower = asyncio.create_task(self._follow_access())
        try:
            done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.cancelled():  # the writer, by sweep(): the client does not read
                    continue
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | LiveError):
                    raise exc
        finally:
            try:
                await cancel_and_wait(writer, reader, follower)
            finally:
                for sub in list(self.outbox.subs.values()):
                    self.hub.unsubscribe(sub)

    async def _read_loop(self) -> None:
        while True:
            text = await self.websocket.receive_text()
            await self._handle(text)
            if self.bad >= MAX_BAD:
                await self.websocket.close(code=1008, reason="too many bad messages")
                return

    def _refuse(self, message_id: int | None, code: str, why: str) -> None:
        self.bad += 1
        self.metrics.bad_messages.inc()
        if self.bad == 1:
            log.info("live: refused a client message: %s: %s", code, why)
        self.push(
            {
                "type": "result",
                "id": message_id,
                "ok": False,
                "error": {"code": code, "message": why},
            }
        )

    async def _handle(self, text: str) -> None:
        if len(text) > MAX_MESSAGE_BYTES:
            self._refuse(None, "too_large", f"a message is at most {MAX_MESSAGE_BYTES} bytes")
            return
        try:
            message = _decoder.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self._refuse(None, "invalid", str(exc))
            return
        if message.id <= self.last_id:
            self._refuse(message.id, "id_reuse", f"id must be above {self.last_id}")
            return
        self.last_id = message.id
        try:
            await self._dispatch(message)
        except LiveError as exc:
            self._refuse(message.id, exc.code, exc.message)
            return
        self.bad = 0

    async def _dispatch(self, message: ClientMessage) -> None:
        if isinstance(message, Ping):
            self.push({"type": "result", "id": message.id, "ok": True})
        elif isinstance(message, Unsubscribe):
            sub = self.outbox.subs.get(message.sub)
            # Absent from subs but not from requests: being moved to a new view (_resubscribe).
            if self.requests.pop(message.sub, None) is None and sub is None:
                raise LiveError("not_found", f"no subscription {message.sub}")
            if sub is not None:
                self.hub.unsubscribe(sub)
            self.push({"type": "result", "id": message.id, "ok": True})
        else:
            if len(self.outbox.subs) >= MAX_SUBSCRIPTIONS:
                raise LiveError("too_many", f"at most {MAX_SUBSCRIPTIONS} subscriptions")
            target = await self.resolve(message)
            try:
                sub = await self.hub.subscribe(message.id, target, self.outbox, owe_snapshot=False)
            except Unavailable as exc:
                raise LiveError("unavailable", exc.message) from None
            self.requests[message.id] = message
            self.push({"type": "result", "id": message.id, "ok": True, "sub": message.id})
            self.outbox.owe_snapshot(sub)

    async def _follow_access(self) -> None:
        if self.changes is None:
            return
        try:
            async for _ in self.changes():
                await self._resubscribe()
        except Exception:
            # A connection that cannot follow its permissions must not keep showing what they
            # allowed before: close it (the client reconnects and is authenticated afresh).
            log.exception("live: following a connection's access failed; closing it")
            await self.websocket.close(code=1011, reason="access cannot be followed")

    async def _resubscribe(self) -> None:
        """Resolve every subscription again (the access changed): one whose target moved
        moves to the new view, its frames not yet sent are dropped (they were chosen under the
        old access) and it is sent a fresh snapshot; one that may no longer be watched ends
        (``ended`` with the reason)."""
        for sub_id, request in list(self.requests.items()):
            old = self.outbox.subs.get(sub_id)
            if old is None:
                continue
            try:
                target = await self.resolve(request)
            except LiveError as exc:
                self._end(old, exc.code, exc.message)
                continue
            if target == old.view.target:
                continue
            self.hub.unsubscribe(old)
            self._drop_frames(sub_id)
            try:
                sub = await self.hub.subscribe(sub_id, target, self.outbox, owe_snapshot=False)
            except Unavailable as exc:
                self.requests.pop(sub_id, None)
                self.push(_ended(sub_id, "unavailable", exc.message))
                continue
            if sub_id not in self.requests:  # unsubscribed meanwhile
                self.hub.unsubscribe(sub)
                continue
            self.outbox.owe_snapshot(sub)

    def _end(self, sub: Subscription, code: str, why: str) -> None:
        self.hub.unsubscribe(sub)
        self.requests.pop(sub.id, None)
        self._drop_frames(sub.id)
        self.push(_ended(sub.id, code, why))

    def _drop_frames(self, sub_id: int) -> None:
        mine = (f'{{"type":"changes","sub":{sub_id},', f'{{"type":"snapshot","sub":{sub_id},')
        frames = self.outbox.frames
        kept = [text for text in frames if not text.startswith(mine)]
        if len(kept) != len(frames):
            frames.clear()
            frames.extend(kept)

    async def _write_loop(self) -> None:
        outbox = self.outbox
        while True:
            await outbox.wake.wait()  # or sweep() wakes it for a heartbeat
            outbox.wake.clear()
            texts = outbox.take()
            if not texts:
                if time.monotonic() - self._last_sent < self.heartbeat_s:
                    continue
                texts = [f'{{"type":"heartbeat","ts":{time.time_ns() // 1_000_000}}}']
            self._sending_since = time.monotonic()
            for text in texts:
                await self.websocket.send_text(text)
            self._sending_since = None
            self.metrics.messages.inc(len(texts))
            self._last_sent = time.monotonic()


def _ended(sub_id: int, code: str, why: str) -> dict[str, object]:
    return {"type": "ended", "sub": sub_id, "error": {"code": code, "message": why}}


class Sweeper:
    """One timer for every connection of an endpoint: heartbeats and slow clients
    (:meth:`Connection.sweep`), while there are connections."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.connections: set[Connection] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="live-sweeper")

    def discard(self, connection: Connection) -> None:
        self.connections.discard(connection)

    async def _run(self) -> None:
        while self.connections:
            await asyncio.sleep(self.period_s)
            now = time.monotonic()
            for connection in list(self.connections):
                connection.sweep(now)


def live_endpoint(
    hub: Hub,
    resolve: Resolver = explicit_targets,
    *,
    resolver_for: Callable[[WebSocket], Awaitable[Resolver]] | None = None,
    access_for: Callable[[WebSocket], Awaitable[ConnectionAccess]] | None = None,
    heartbeat_s: float = 25.0,
    send_timeout_s: float = 10.0,
    max_outbox: int = 64,
    registry: CollectorRegistry = REGISTRY,
) -> Callable[[WebSocket], Awaitable[None]]:
    """The WebSocket handler; mount with ``app.add_api_websocket_route("/api/v1/live", ...)``.

    ``resolver_for`` gives each connection its own resolver (from who is connecting);
    ``access_for`` its resolver and the changes of its access (permissions), instead."""
    metrics = LiveMetrics(registry)
    sweeper = Sweeper(min(heartbeat_s, send_timeout_s, 4.0) / 4)

    async def endpoint(websocket: WebSocket) -> None:
        if access_for is not None:
            access = await access_for(websocket)
        else:
            chosen = resolve if resolver_for is None else await resolver_for(websocket)
            access = ConnectionAccess(chosen)
        await websocket.accept()
        metrics.clients.inc()
        connection = Connection(
            websocket,
            hub,
            access.resolve,
            metrics,
            heartbeat_s=heartbeat_s,
            send_timeout_s=send_timeout_s,
            max_outbox=max_outbox,
            changes=access.changes,
        )
        sweeper.add(connection)
        try:
            await connection.run()
        except WebSocketDisconnect:
            pass
        finally:
            sweeper.discard(connection)
            metrics.clients.dec()

    return endpoint
