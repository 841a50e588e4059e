"""One client connection on a wire server: handshake, subscription, sending, heartbeats.

The session does not know whether it runs over TCP or WebSocket; it reads messages from and
writes lines to a :class:`~wallboard.wire.transport.Transport`. Three tasks share it: the
reader (the client's messages), the sender (the bounded queue of encoded lines), and the
watchdog (heartbeats and dead-peer detection).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
from typing import TYPE_CHECKING, Final

from wallboard.core.clock import Clock
from wallboard.core.codec import Decoder, Message, encode
from wallboard.core.errors import (
    MalformedMessage,
    PermissionDenied,
    ProtocolError,
    ResumeGap,
    Unauthenticated,
    Unavailable,
    WallboardError,
)
from wallboard.core.events import PROTOCOL_VERSION, Event, UnknownEvent
from wallboard.core.protocol import Error, Heartbeat, Hello, Subscribe
from wallboard.wire.errors import DeadPeer, SlowConsumer
from wallboard.wire.metrics import WireMetrics
from wallboard.wire.security import Grant
from wallboard.wire.subscription import SubscriptionFilter
from wallboard.wire.transport import Transport

if TYPE_CHECKING:
    from wallboard.wire.server import WireServer

logger = logging.getLogger(__name__)

DEAD_PEER_INTERVALS: Final = 3
"""A peer silent for this many heartbeat intervals is taken for dead."""

SEND_BATCH: Final = 256
"""Lines written with one system call at most; bounds the latency of a drop or heartbeat."""


class SessionState(enum.Enum):
    AWAIT_HELLO = "await_hello"
    AWAIT_SUBSCRIBE = "await_subscribe"
    LIVE = "live"
    CLOSING = "closing"


class _Wake:
    """Queue item telling the sender to write the final message, if any, and stop."""


_WAKE: Final = _Wake()

QueueItem = bytes | list[bytes] | _Wake
"""One encoded line, a replay (many lines, one queue slot), or the stop signal."""


def encode_error(error: WallboardError, *, fatal: bool) -> bytes:
    return encode(Error(code=error.code, message=error.message, detail=error.detail, fatal=fatal))


class ServerSession:
    """The server side of one connection."""

    def __init__(
        self,
        server: WireServer,
        transport: Transport,
        *,
        clock: Clock,
        decoder: Decoder,
        metrics: WireMetrics,
        heartbeat_seconds: float,
        queue_size: int,
        write_timeout: float,
    ) -> None:
        self._server = server
        self.transport = transport
        self._clock = clock
        self._decoder = decoder
        self._metrics = metrics
        self._heartbeat = heartbeat_seconds
        self._write_timeout = write_timeout
        self._queue: asyncio.Queue[QueueItem] = asyncio.Queue(maxsize=queue_size)
        self.state = SessionState.AWAIT_HELLO
        self.filter = SubscriptionFilter()
        self.client_name: str | None = None
        self.grant: Grant | None = None
        """What the client's token allows; ``None`` until hello, or when the server has no
        tokens (then it reads every tenant)."""
        self._final: bytes | None = None
        self._drop_reason: str | None = None
        now = clock.monotonic()
        self._last_received = now
        self._last_sent = now

    # --- called by the server (synchronously, from the publisher) -------------------------

    def offer(self, item: bytes | list[bytes]) -> bool:
        """Queue a line (or a replay) without waiting; a full queue drops the client.

        Returns whether the item was queued.
        """
        if self.state is SessionState.CLOSING:
            return False
        try:
            self._queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.drop(
                SlowConsumer(
                    f"the client read too slowly: {self._queue.maxsize} messages were waiting",
                    queue=self._queue.maxsize,
                ),
                reason="slow_consumer",
            )
            return False

    def drop(self, error: WallboardError, *, reason: str) -> None:
        """Discard what is queued, send ``error`` as a fatal error, and close."""
        if self.state is SessionState.CLOSING:
            return
        logger.warning("dropping wire client %s (%s): %s", self.transport.peer, reason, error)
        self._server.count_drop(reason)
        self._drop_reason = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._finish(encode_error(error, fatal=True))

    def stop(self) -> None:
        """End the session (the server is closing): the client is told so, then closed."""
        if self.state is not SessionState.CLOSING:
            self._finish(
                encode_error(
                    Unavailable("the server is shutting down; reconnect later"), fatal=True
                )
            )

    def _finish(self, final: bytes | None) -> None:
        """Stop reading and publishing to this client; the sender writes ``final`` last."""
        self.state = SessionState.CLOSING
        self._server.unregister(self)
        self._final = final
        try:
            self._queue.put_nowait(_WAKE)
        except asyncio.QueueFull:
            # A fatal error behind a full queue: the queued lines give way to it.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_WAKE)

    # --- the connection's life -------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until either side ends it; never raises."""
        tasks = {
            asyncio.create_task(self._read_loop(), name=f"wire-read {self.transport.peer}"),
            asyncio.create_task(self._watch(), name=f"wire-watch {self.transport.peer}"),
        }
        sender = asyncio.create_task(self._send_loop(), name=f"wire-send {self.transport.peer}")
        try:
            await asyncio.wait({*tasks, sender}, return_when=asyncio.FIRST_COMPLETED)
            if self.state is SessionState.CLOSING and not sender.done():
                # Let the final error reach the client, within the write timeout.
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(sender), self._write_timeout * 2)
        finally:
            self.state = SessionState.CLOSING
            self._server.unregister(self)
            for task in (*tasks, sender):
                task.cancel()
            outcomes = await asyncio.gather(*tasks, sender, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, Exception) and not isinstance(
                    outcome, TimeoutError | ConnectionError | OSError
                ):
                    self._metrics.internal_errors.labels(side="server").inc()
                    logger.error("wire session %s failed", self.transport.peer, exc_info=outcome)
            await self.transport.close()

    async def _read_loop(self) -> None:
        while self.state is not SessionState.CLOSING:
            try:
                line = await self.transport.read_message()
            except MalformedMessage as error:
                self._last_received = self._clock.monotonic()
                self._refuse_line(error)
                continue
            if line is None:
                return
            self._last_received = self._clock.monotonic()
            try:
                message = self._decoder.decode(line)
            except MalformedMessage as error:
                self._refuse_line(error)
                continue
            except Exception:
                # A decoder bug must not kill the connection: log it, count it, report it.
                logger.exception("decoding a line from %s failed", self.transport.peer)
                self._metrics.internal_errors.labels(side="server").inc()
                self._refuse_line(
                    MalformedMessage("the line could not be decoded", reason="decoder_error")
                )
                continue
            try:
                self._handle(message)
            except ProtocolError as error:
                self._metrics.protocol_errors.labels(side="server").inc()
                logger.info("wire client %s broke the protocol: %s", self.transport.peer, error)
                self._finish(encode_error(error, fatal=True))
                return
            except ResumeGap as error:
                self._metrics.resume_gaps.labels(side="server").inc()
                self._finish(encode_error(error, fatal=True))
                return
            except (Unauthenticated, PermissionDenied) as error:
                self._metrics.clients_refused.labels(reason=error.code).inc()
                logger.warning("refused wire client %s: %s", self.transport.peer, error.message)
                self._finish(encode_error(error, fatal=True))
                return

    def _refuse_line(self, error: MalformedMessage) -> None:
        reason = str(error.detail.get("reason", "unknown"))
        self._metrics.malformed_messages.labels(side="server", reason=reason).inc()
        self.offer(encode_error(error, fatal=False))

    def _handle(self, message: Message) -> None:
        if isinstance(message, Heartbeat):
            return  # its arrival already proved the client alive
        if isinstance(message, Error):
            logger.info(
                "wire client %s reported %s: %s", self.transport.peer, message.code, message.message
            )
            return
        if self.state is SessionState.AWAIT_HELLO:
            if not isinstance(message, Hello):
                raise ProtocolError(
                    f"the first message must be hello, not {_type_of(message)}",
                    expected="hello",
                    got=_type_of(message),
                )
            self._greet(message)
        elif self.state is SessionState.AWAIT_SUBSCRIBE:
            if not isinstance(message, Subscribe):
                raise ProtocolError(
                    f"after welcome the client sends subscribe, not {_type_of(message)}",
                    expected="subscribe",
                    got=_type_of(message),
                )
            self._subscribe(message)
        else:
            raise ProtocolError(
                f"a subscribed client sends only heartbeats, not {_type_of(message)}",
                expected="heartbeat",
                got=_type_of(message),
            )

    def _greet(self, hello: Hello) -> None:
        if hello.protocol != PROTOCOL_VERSION:
            raise ProtocolError(
                f"protocol version {hello.protocol} is not supported; this server speaks {PROTOCOL_VERSION}",
                field="protocol",
                value=hello.protocol,
                supported=[PROTOCOL_VERSION],
            )
        self.client_name = hello.client
        tokens = self._server.tokens
        if tokens is not None:
            self.grant = tokens.check(hello.token)
            if self.grant is None:
                given = "an unknown token" if hello.token is not None else "no token"
                raise Unauthenticated(
                    f"this server needs a valid token in hello; {hello.client!r} sent {given}",
                    field="token",
                )
        self.state = SessionState.AWAIT_SUBSCRIBE
        self.offer(encode(self._server.welcome()))

    def _subscribe(self, subscribe: Subscribe) -> None:
        # No await from here to the end: the replay is taken and the session registered for
        # live events in one step, so no event falls between them or arrives twice.
        self.filter = SubscriptionFilter.from_subscribe(subscribe)
        if self.grant is not None and self.grant.tenants is not None:
            self.filter = self._bound_to(self.grant.tenants)
        replay = self._server.replay_after(subscribe.resume_from, self.filter)
        self.state = SessionState.LIVE
        if replay and self.offer(replay):  # a whole replay takes one queue slot
            self._metrics.events_sent.inc(len(replay))
        self._server.register(self)

    def _bound_to(self, allowed: frozenset[str]) -> SubscriptionFilter:
        """The subscription limited to the tenants the token allows; asking for any other
        tenant is refused rather than silently narrowed, so a typo does not look like a quiet
        tenant."""
        asked = self.filter.tenants
        if asked is None:
            return dataclasses.replace(self.filter, tenants=allowed)
        refused = sorted(asked - allowed)
        if refused:
            raise PermissionDenied(
                f"this token does not allow tenant {refused[0]!r}",
                field="tenants",
                refused=refused[:10],
            )
        return self.filter

    # --- the sender and the watchdog --------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            item = await self._queue.get()
            batch: list[bytes] = []
            stop = False
            while True:
                if isinstance(item, _Wake):
                    stop = True
                    break
                if isinstance(item, list):
                    if batch:
                        await self._write(batch)
                        batch = []
                    for start in range(0, len(item), SEND_BATCH):
                        await self._write(item[start : start + SEND_BATCH])
                else:
                    batch.append(item)
                if len(batch) >= SEND_BATCH or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._write(batch)
            if stop:
                if self._final is not None:
                    await self._write([self._final])
                return

    async def _write(self, lines: list[bytes]) -> None:
        try:
            await self.transport.send(lines)
        except TimeoutError:
            if self.state is not SessionState.CLOSING:
                self._server.count_drop("write_timeout")
                logger.warning(
                    "wire client %s did not read within %ss",
                    self.transport.peer,
                    self._write_timeout,
                )
            raise
        self._last_sent = self._clock.monotonic()

    async def _watch(self) -> None:
        """Send a heartbeat after a silence; end the session when the client went quiet."""
        while self.state is not SessionState.CLOSING:
            now = self._clock.monotonic()
            dead_in = self._last_received + DEAD_PEER_INTERVALS * self._heartbeat - now
            if dead_in <= 0:
                silence = DEAD_PEER_INTERVALS * self._heartbeat
                self._metrics.dead_peers.labels(side="server").inc()
                self._server.count_drop("dead_peer")
                logger.info("wire client %s silent for %ss: closing", self.transport.peer, silence)
                expected = "hello" if self.state is SessionState.AWAIT_HELLO else "heartbeat"
                error = DeadPeer(
                    f"nothing received from the client for {silence:g} s (3 heartbeat "
                    f"intervals; it must send a {expected}): closing",
                    silent_seconds=silence,
                    heartbeat_seconds=self._heartbeat,
                )
                # The queue is dropped: a client this silent is unlikely to be reading it.
                while not self._queue.empty():
                    self._queue.get_nowait()
                self._finish(encode_error(error, fatal=True))
                return
            beat_in = self._last_sent + self._heartbeat - now
            if beat_in <= 0 and self.state is not SessionState.AWAIT_HELLO:
                self._metrics.heartbeats_sent.labels(side="server").inc()
                self.offer(encode(Heartbeat(seq=self._server.seq, ts=self._clock.now_ms())))
                # Counted as sent now, so a slow write does not queue a heartbeat per tick.
                self._last_sent = now
                beat_in = self._heartbeat
            elif beat_in <= 0:
                beat_in = dead_in
            await self._clock.sleep(min(dead_in, beat_in))


def _type_of(message: Message) -> str:
    if isinstance(message, Event | UnknownEvent):
        return message.type
    return str(message.__struct_config__.tag)
