"""The wire client: subscribes to a wire server and yields its events, surviving reconnects.

It says ``hello``, subscribes with filters, and hands events to the consumer through a bounded
queue (when the consumer is slow the client stops reading and TCP pushes back on the server).
It remembers the last sequence number it delivered; after a disconnect it reconnects with a
bounded, jittered backoff and resumes from there, so the consumer sees every event exactly
once. When the server no longer holds the missed events, iteration raises
:class:`~wallboard.core.errors.ResumeGap`: the consumer refetches its state and calls
:meth:`WireClient.reset`. A refused token or tenant (``unauthenticated``, ``forbidden``) and a
protocol mismatch end the subscription too: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import ssl
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final, Self

from prometheus_client import CollectorRegistry

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.codec import Decoder, Message, encode
from wallboard.core.errors import (
    MalformedMessage,
    PermissionDenied,
    ProtocolError,
    ResumeGap,
    Unauthenticated,
    WallboardError,
)
from wallboard.core.events import PROTOCOL_VERSION, AnyEvent, Event, UnknownEvent
from wallboard.core.protocol import Error, Heartbeat, Hello, Subscribe, Welcome
from wallboard.ops.signals import cancel_and_wait
from wallboard.settings import Settings
from wallboard.wire.errors import Disconnected
from wallboard.wire.metrics import WireMetrics
from wallboard.wire.session import DEAD_PEER_INTERVALS
from wallboard.wire.transport import TcpTransport

logger = logging.getLogger(__name__)

SequenceGapCallback = Callable[[str, int, int], None]
"""Called with (source, expected seq, received seq) when an unfiltered stream skips numbers."""

_RETRYABLE: Final = (OSError, TimeoutError, EOFError)


@dataclasses.dataclass(frozen=True, slots=True)
class _Failure:
    error: WallboardError


class _Closed:
    pass


_CLOSED: Final = _Closed()

_TERMINAL: Final = {
    error.code: error for error in (ProtocolError, Unauthenticated, PermissionDenied)
}
"""Fatal server errors that a reconnect cannot cure: raised to the consumer."""


class WireClient:
    """A resilient subscription to one wire server.

    Use it as ``async with WireClient(...) as client: async for event in client: ...``.
    ``resume_from`` is the last sequence number the consumer already has (from a checkpoint);
    ``None`` starts with the events published after the first connection.

    ``token`` is sent in ``hello`` to a server that authenticates its clients; ``tls`` (an
    :class:`ssl.SSLContext`, see :func:`wallboard.wire.security.client_tls`) connects over
    TLS. ``on_malformed`` is told of each line from the server that could not be decoded (it
    is skipped), for a service that counts bad input under its own name. With ``reconnect=False`` the first end of the connection ends the iteration with
    :class:`~wallboard.wire.errors.Disconnected`, saying why (``wallboard watch`` reports it).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client: str = "wallboard",
        tenants: Sequence[str] | None = None,
        objects: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        resume_from: int | None = None,
        settings: Settings | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        connect_timeout: float = 5.0,
        write_timeout: float | None = None,
        backoff_initial: float = 0.1,
        backoff_max: float = 10.0,
        queue_size: int | None = None,
        on_sequence_gap: SequenceGapCallback | None = None,
        rng: random.Random | None = None,
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
        reconnect: bool = True,
        on_malformed: Callable[[MalformedMessage], object] | None = None,
    ) -> None:
        settings = settings or Settings()
        self.host = host
        self.port = port
        self.client = client
        self.tenants = None if tenants is None else tuple(tenants)
        self.objects = None if objects is None else tuple(objects)
        self.types = None if types is None else tuple(types)
        self._token = token
        self._tls = tls
        self._reconnect = reconnect
        self._heartbeat = settings.heartbeat_seconds
        self._clock: Clock = clock or SystemClock()
        self._metrics = WireMetrics.for_registry(registry)
        self._decoder = Decoder(max_line=settings.wire_max_line)
        self._max_line = settings.wire_max_line
        self._connect_timeout = connect_timeout
        self._write_timeout = settings.heartbeat_seconds if write_timeout is None else write_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._on_sequence_gap = on_sequence_gap
        self._on_malformed = on_malformed
        self._rng = rng or random.Random()
        self._events: asyncio.Queue[AnyEvent | _Failure | _Closed] = asyncio.Queue(
            maxsize=queue_size or settings.client_queue
        )
        self._resume_from = resume_from
        self._last_by_source: dict[str, int] = {}
        self._send_lock = asyncio.Lock()
        self._subscribed = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._closed = False
        self._consumer_blocked = False
        self._last_received = 0.0
        self._last_sent = 0.0
        self.welcome: Welcome | None = None
        """The server's last ``welcome``: its source, its sequence number at that moment."""
        self.connections = 0
        """How many connections were subscribed so far (1 + successful reconnects)."""

    # --- state --------------------------------------------------------------------------------

    @property
    def filtered(self) -> bool:
        return self.tenants is not None or self.objects is not None or self.types is not None

    @property
    def last_seq(self) -> int | None:
        """The last sequence number of the server's source delivered (where a resume starts)."""
        if self.welcome is not None and self.welcome.source in self._last_by_source:
            return self._last_by_source[self.welcome.source]
        return self._resume_from

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        """Wait until a subscription is in place; wrap it in ``asyncio.timeout``."""
        await self._subscribed.wait()

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background (called by ``async with``)."""
        if self._closed:
            raise RuntimeError("the wire client is closed")
        if self._run_task is None or self._run_task.done():
            self._run_task = asyncio.create_task(
                self._run(), name=f"wire-client {self.host}:{self.port}"
            )

    def reset(self, resume_from: int | None) -> None:
        """Start over after a ResumeGap (or to jump): forget what was seen, resume after
        ``resume_from`` (``None``: only what is published from the next connection on)."""
        if self._run_task is not None and not self._run_task.done():
            raise RuntimeError("reset() is for a client whose subscription ended")
        while not self._events.empty():
            self._events.get_nowait()  # only the failure that ended the subscription is left
        self._resume_from = resume_from
        self._last_by_source.clear()
        self.welcome = None
        self.start()

    async def close(self) -> None:
        self._closed = True
        task, self._run_task = self._run_task, None
        try:
            if task is not None:
                await cancel_and_wait(task)
        finally:
            self._subscribed.clear()
            with contextlib.suppress(asyncio.QueueFull):
                self._events.put_nowait(_CLOSED)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> AnyEvent:
        """The next event; raises ResumeGap or ProtocolError when the subscription ended."""
        if self._events.empty():
            if self._closed:
                raise StopAsyncIteration
            if self._run_task is None or self._run_task.done():
                raise RuntimeError(
                    "the subscription is not running: use `async with`, or reset() after ResumeGap"
                )
        item = await self._events.get()
        if isinstance(item, _Closed):
            raise StopAsyncIteration
        if isinstance(item, _Failure):
            raise item.error
        return item

    # --- connecting -------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential from ``backoff_initial`` up to ``backoff_max``, times 0.5 to 1 (jitter),
        so clients cut off together do not come back together."""
        delay = min(self._backoff_max, self._backoff_initial * 2.0 ** min(attempt - 1, 30))
        return delay * self._rng.uniform(0.5, 1.0)

    async def _run(self) -> None:
        attempt = 0
        # ``_closed`` as well as cancellation ends the loop: a cancel that lands while a
        # connection is being torn down must not leave it reconnecting after close().
        while not self._closed:
            if attempt:
                self._metrics.reconnects.inc()
                await self._clock.sleep(self._backoff(attempt))
            attempt += 1
            ended: Disconnected
            try:
                if await self._connect_once():
                    attempt = 1  # it worked for a while: start the backoff over
                ended = Disconnected("the server closed the connection without saying why")
            except (ResumeGap, ProtocolError, Unauthenticated, PermissionDenied) as error:
                # Retrying cannot help: the consumer must act (refetch, upgrade, fix the token).
                await self._events.put(_Failure(error))
                return
            except Disconnected as error:
                ended = error
            except _RETRYABLE as error:
                ended = self._lost(error)
            except Exception:
                self._metrics.internal_errors.labels(side="client").inc()
                logger.exception("wire client for %s:%s failed; reconnecting", self.host, self.port)
                ended = Disconnected("the client failed (see the log)")
            finally:
                self._subscribed.clear()
            if not self._reconnect:
                await self._events.put(_Failure(ended))
                return
            logger.info("wire connection to %s:%s lost: %s", self.host, self.port, ended.message)

    def _lost(self, error: BaseException) -> Disconnected:
        where = f"{self.host}:{self.port}"
        if isinstance(error, ssl.SSLCertVerificationError):
            return Disconnected(
                f"the TLS certificate of {where} is not trusted: {error.verify_message}"
            )
        if isinstance(error, ssl.SSLError):
            return Disconnected(f"TLS with {where} failed: {error.reason or error}")
        if isinstance(error, TimeoutError):
            return Disconnected(f"{where} did not answer within {self._connect_timeout:g} s")
        if isinstance(error, OSError) and error.strerror:
            return Disconnected(f"connection to {where} failed: {error.strerror}")
        return Disconnected(f"connection to {where} lost: {error!r}")

    async def _connect_once(self) -> bool:
        """One connection, from connect to disconnect; returns whether it got subscribed."""
        async with asyncio.timeout(self._connect_timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._tls)
        transport = TcpTransport(
            reader, writer, max_line=self._max_line, write_timeout=self._write_timeout
        )
        self._last_received = self._last_sent = self._clock.monotonic()
        watchdog = asyncio.create_task(self._watch(transport), name="wire-client-watch")
        subscribed = False
        try:
            await self._send(transport, Hello(client=self.client, token=self._token))
            while True:
                try:
                    line = await transport.read_message()
                except MalformedMessage as error:
                    self._count_malformed(error)
                    continue
                if line is None:
                    return subscribed
                self._last_received = self._clock.monotonic()
                try:
                    message = self._decoder.decode(line)
                except MalformedMessage as error:
                    self._count_malformed(error)
                    continue
                except Exception:
                    self._metrics.internal_errors.labels(side="client").inc()
                    logger.exception("decoding a line from %s:%s failed", self.host, self.port)
                    continue
                if await self._handle(transport, message, subscribed):
                    subscribed = True
        finally:
            try:
                await cancel_and_wait(watchdog)
            finally:
                await transport.close()

    async def _handle(self, transport: TcpTransport, message: Message, subscribed: bool) -> bool:
        """Act on one message; returns True when it completed the subscription."""
        if isinstance(message, Event | UnknownEvent):
            if not subscribed:
                self._metrics.protocol_errors.labels(side="client").inc()
                raise Disconnected(f"event {message.id} arrived before the subscription")
            await self._deliver(message)
            return False
        if isinstance(message, Heartbeat):
            return False
        if isinstance(message, Welcome):
            if subscribed:
                self._metrics.protocol_errors.labels(side="client").inc()
                logger.warning("ignoring a second welcome from %s:%s", self.host, self.port)
                return False
            await self._subscribe(transport, message)
            return True
        if isinstance(message, Error):
            self._on_error(message)
            return False
        self._metrics.protocol_errors.labels(side="client").inc()
        logger.warning(
            "ignoring a %s message from server %s:%s",
            message.__struct_config__.tag,
            self.host,
            self.port,
        )
        return False

    async def _subscribe(self, transport: TcpTransport, welcome: Welcome) -> None:
        if welcome.protocol != PROTOCOL_VERSION:
            raise ProtocolError(
                f"the server speaks protocol {welcome.protocol}, this client {PROTOCOL_VERSION}",
                field="protocol",
                value=welcome.protocol,
            )
        self.welcome = welcome
        position = self._last_by_source.get(welcome.source, self._resume_from)
        if position is None:
            # Resume from the server's position now rather than subscribe "live": events
            # published between welcome and subscribe would otherwise be lost.
            position = welcome.seq
        self._last_by_source[welcome.source] = position
        await self._send(
            transport,
            Subscribe(
                tenants=self.tenants, objects=self.objects, types=self.types, resume_from=position
            ),
        )
        self.connections += 1
        self._subscribed.set()
        logger.info(
            "subscribed to %s (source %s) at %s:%s after seq %d",
            welcome.server,
            welcome.source,
            self.host,
            self.port,
            position,
        )

    def _on_error(self, message: Error) -> None:
        detail = dict(message.detail)
        if message.code == ResumeGap.code:
            self._metrics.resume_gaps.labels(side="client").inc()
            raise ResumeGap(message.message, **detail)
        terminal = _TERMINAL.get(message.code)
        if terminal is not None and message.fatal:
            if terminal is ProtocolError:
                self._metrics.protocol_errors.labels(side="client").inc()
            raise terminal(message.message, **detail)
        if message.fatal:
            raise Disconnected(
                f"the server closed the connection: {message.code}: {message.message}",
                **{**detail, "code": message.code},
            )
        logger.warning(
            "wire server %s:%s refused a message: %s", self.host, self.port, message.message
        )

    async def _deliver(self, event: AnyEvent) -> None:
        last = self._last_by_source.get(event.source)
        if last is not None and event.seq <= last:
            self._metrics.duplicate_events.inc()
            return
        if last is not None and event.seq != last + 1 and not self.filtered:
            self._metrics.sequence_gaps.inc()
            logger.warning(
                "sequence gap from source %s: expected %d, got %d",
                event.source,
                last + 1,
                event.seq,
            )
            if self._on_sequence_gap is not None:
                self._on_sequence_gap(event.source, last + 1, event.seq)
        self._last_by_source[event.source] = event.seq
        if isinstance(event, UnknownEvent):
            self._metrics.unknown_events.labels(side="client").inc()
        self._metrics.events_received.inc()
        # Time spent waiting for a slow consumer is not silence of the server.
        self._consumer_blocked = True
        try:
            await self._events.put(event)
        finally:
            self._consumer_blocked = False
            self._last_received = self._clock.monotonic()

    def _count_malformed(self, error: MalformedMessage) -> None:
        reason = str(error.detail.get("reason", "unknown"))
        self._metrics.malformed_messages.labels(side="client", reason=reason).inc()
        logger.warning("malformed line from %s:%s: %s", self.host, self.port, error)
        if self._on_malformed is not None:
            self._on_malformed(error)

    async def _send(self, transport: TcpTransport, message: Hello | Subscribe | Heartbeat) -> None:
        async with self._send_lock:
            await transport.send([encode(message)])
        self._last_sent = self._clock.monotonic()

    async def _watch(self, transport: TcpTransport) -> None:
        """Heartbeat when we have been silent; hang up when the server has been silent."""
        while True:
            now = self._clock.monotonic()
            if self._consumer_blocked:
                self._last_received = now
            dead_in = self._last_received + DEAD_PEER_INTERVALS * self._heartbeat - now
            if dead_in <= 0:
                self._metrics.dead_peers.labels(side="client").inc()
                logger.warning(
                    "wire server %s:%s silent for %ss: reconnecting",
                    self.host,
                    self.port,
                    DEAD_PEER_INTERVALS * self._heartbeat,
                )
                await transport.close()
                return
            beat_in = self._last_sent + self._heartbeat - now
            if beat_in <= 0:
                try:
                    await self._send(
                        transport, Heartbeat(seq=self.last_seq or 0, ts=self._clock.now_ms())
                    )
                except (*_RETRYABLE,):
                    await transport.close()
                    return
                self._metrics.heartbeats_sent.labels(side="client").inc()
                beat_in = self._heartbeat
            await self._clock.sleep(min(dead_in, beat_in))
