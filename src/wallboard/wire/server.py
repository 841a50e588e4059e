"""The wire server: serves one source's event stream to many clients over TCP or WebSocket.

The source calls :meth:`WireServer.publish` for each event, in sequence order; the server
encodes it once, keeps it in the resume buffer, and queues the same bytes for every matching
subscriber without ever waiting, so a slow client cannot hold up the source or other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import ClassVar, Self

from prometheus_client import CollectorRegistry

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.codec import Decoder, encode
from wallboard.core.errors import ResumeGap, Unavailable
from wallboard.core.events import AnyEvent, UnknownEvent
from wallboard.core.protocol import Welcome
from wallboard.settings import Settings
from wallboard.wire.errors import ServerFull
from wallboard.wire.metrics import WireMetrics
from wallboard.wire.resume import BufferedEvent, ResumeBuffer
from wallboard.wire.security import TokenTable, is_loopback, load_tokens, server_tls
from wallboard.wire.session import ServerSession, encode_error
from wallboard.wire.subscription import SubscriptionFilter
from wallboard.wire.transport import TcpTransport, Transport

logger = logging.getLogger(__name__)

FILES_MARGIN = 256
"""Open files the rest of a process may hold (files, pipes, other sockets) besides clients."""


def _make_room_for_clients(clients: int) -> None:
    """Raise the process's soft open-files limit so ``clients`` connections can be accepted.

    Past that limit ``accept()`` fails and the connections wait in the listen queue with no
    answer at all; within it, the connection cap answers them with ``server_full``.
    """
    try:
        import resource
    except ImportError:  # not a Unix: nothing to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = clients + FILES_MARGIN
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < wanted:
        logger.warning(
            "the open-files limit (%d) is below the %d clients the wire servers may serve "
            "(WALLBOARD_WIRE_MAX_CLIENTS) and %d other files: clients past it wait unanswered; "
            "raise the limit (ulimit -n) or lower the cap",
            soft,
            clients,
            FILES_MARGIN,
        )


class WireServer:
    """Fans one source's events out to subscribed clients, with resume and backpressure.

    ``source`` is the source id every published event must carry. ``last_seq`` is the sequence
    number of the last event the source emitted before this server started (0 for a fresh
    source), so clients that saw it can resume even before the first new event.

    The settings say who may connect: TLS (``wire_tls_cert``/``wire_tls_key``), the tokens
    that bind clients to tenants (``wire_tokens_file``), the connection cap and backlog. A
    wrong certificate or tokens file raises :class:`~wallboard.core.errors.ConfigError` here.

    ``on_drop`` is told the reason each time a client is dropped (``slow_consumer``,
    ``dead_peer``, ``write_timeout``), for a service that counts drops under its own name.
    """

    _clients_reserved: ClassVar[int] = 0
    """Clients all listening wire servers of this process may serve at once, together."""

    def __init__(
        self,
        *,
        source: str,
        name: str = "wallboard",
        settings: Settings | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        last_seq: int = 0,
        write_timeout: float | None = None,
        on_drop: Callable[[str], object] | None = None,
    ) -> None:
        settings = settings or Settings()
        self.source = source
        self.name = name
        self.settings = settings
        self._clock: Clock = clock or SystemClock()
        self._metrics = WireMetrics.for_registry(registry)
        self._decoder = Decoder(max_line=settings.wire_max_line)
        self.tokens: TokenTable | None = load_tokens(settings)
        """The accepted tokens; ``None``: no authentication, every client reads every tenant."""
        self._tls = server_tls(settings)
        self._buffer = ResumeBuffer(settings.resume_buffer, last_seq=last_seq)
        # A client that cannot take a write within a heartbeat interval is as good as dead.
        self._write_timeout = settings.heartbeat_seconds if write_timeout is None else write_timeout
        self._subscribers: set[ServerSession] = set()
        self._sessions: set[ServerSession] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Server | None = None
        self._closing = False
        self._full_reported = False
        self._on_drop = on_drop
        self.events_sent = 0
        """Event messages queued for clients so far (one per event per client)."""

    # --- for the source ------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """The sequence number of the last event published (``last_seq`` before any)."""
        return self._buffer.last_seq

    @property
    def oldest(self) -> int:
        """The oldest sequence number still replayable (``seq + 1`` when none is held)."""
        return self._buffer.oldest

    @property
    def write_timeout(self) -> float:
        """Longest wait for a client to take a write before it is dropped."""
        return self._write_timeout

    @property
    def tls(self) -> bool:
        """Whether TCP clients must speak TLS."""
        return self._tls is not None

    @property
    def connected_clients(self) -> int:
        return len(self._sessions)

    @property
    def subscribed_clients(self) -> int:
        return len(self._subscribers)

    def publish(self, event: AnyEvent) -> bool:
        """Send ``event`` to every matching subscriber; never waits.

        The event must come from this server's source with a sequence number above the last
        one; anything else is refused, counted and logged, and ``False`` is returned, so a
        source's loop goes on.
        """
        if event.source != self.source:
            self._metrics.events_rejected.labels(reason="wrong_source").inc()
            logger.error(
                "refused event %s: source %r is not this server's %r",
                event.id,
                event.source,
                self.source,
            )
            return False
        if event.seq <= self._buffer.last_seq:
            self._metrics.events_rejected.labels(reason="stale_seq").inc()
            logger.warning(
                "refused event %s: seq %d is not above the last published %d",
                event.id,
                event.seq,
                self._buffer.last_seq,
            )
            return False
        line = encode(event)
        self._buffer.append(BufferedEvent(seq=event.seq, event=event, line=line))
        self._metrics.events_published.inc()
        if isinstance(event, UnknownEvent):
            self._metrics.unknown_events.labels(side="server").inc()
        sent = 0
        # offer() may drop a slow session, which unregisters it: iterate over a snapshot.
        for session in tuple(self._subscribers):
            if session.filter.matches(event) and session.offer(line):
                sent += 1
        if sent:
            self._metrics.events_sent.inc(sent)
            self.events_sent += sent
        return True

    # --- for sessions ----------------------------------------------------------------------

    def welcome(self) -> Welcome:
        return Welcome(server=self.name, source=self.source, seq=self.seq, oldest=self.oldest)

    def replay_after(
        self, resume_from: int | None, subscription: SubscriptionFilter
    ) -> list[bytes]:
        """The lines a subscriber resuming after ``resume_from`` missed; raises ResumeGap."""
        if resume_from is None:
            return []
        if not self._buffer.can_resume_from(resume_from):
            raise ResumeGap(
                f"cannot resume after seq {resume_from}: this server holds {self.oldest}..{self.seq}; "
                "refetch the state and subscribe again",
                resume_from=resume_from,
                oldest=self.oldest,
                seq=self.seq,
            )
        return [
            item.line
            for item in self._buffer.after(resume_from)
            if subscription.matches(item.event)
        ]

    def refuse_origin(self, origin: str) -> None:
        """Count and log a WebSocket refused for its ``Origin`` (the endpoint closes it)."""
        self._metrics.clients_refused.labels(reason="origin").inc()
        logger.warning("refused a wire WebSocket from origin %r", origin[:200])

    def count_drop(self, reason: str) -> None:
        """Count a client dropped for ``reason`` (called by its session)."""
        self._metrics.clients_dropped.labels(reason=reason).inc()
        if self._on_drop is not None:
            self._on_drop(reason)

    def register(self, session: ServerSession) -> None:
        self._subscribers.add(session)

    def unregister(self, session: ServerSession) -> None:
        self._subscribers.discard(session)

    # --- serving -----------------------------------------------------------------------------

    async def serve(self, transport: Transport) -> None:
        """Run one client session over any transport until it ends; never raises.

        Over ``wire_max_clients`` the client gets a fatal ``server_full`` error and is closed.
        """
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            if self._closing:
                await transport.close()
                return
            if len(self._sessions) >= self.settings.wire_max_clients:
                await self._refuse_full(transport)
                return
            session = ServerSession(
                self,
                transport,
                clock=self._clock,
                decoder=self._decoder,
                metrics=self._metrics,
                heartbeat_seconds=self.settings.heartbeat_seconds,
                queue_size=self.settings.client_queue,
                write_timeout=self._write_timeout,
            )
            self._sessions.add(session)
            self._metrics.connected_clients.inc()
            logger.info("wire client connected from %s", transport.peer)
            try:
                await session.run()
            except Exception:
                # session.run() does not raise; a bug there must not reach the event loop.
                self._metrics.internal_errors.labels(side="server").inc()
                logger.exception("wire session %s failed", transport.peer)
                await transport.close()
            finally:
                self._sessions.discard(session)
                self._full_reported = False
                self._metrics.connected_clients.dec()
                logger.info("wire client %s (%s) disconnected", transport.peer, session.client_name)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _refuse_full(self, transport: Transport) -> None:
        limit = self.settings.wire_max_clients
        self._metrics.clients_refused.labels(reason=ServerFull.code).inc()
        if not self._full_reported:
            # Once per burst: a flood of refusals must not become a flood of log lines.
            self._full_reported = True
            logger.warning(
                "wire server %s is full (%d clients): refusing new clients (%s first)",
                self.source,
                limit,
                transport.peer,
            )
        error = ServerFull(
            f"the server already serves its maximum of {limit} clients; try again later",
            limit=limit,
        )
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            await transport.send([encode_error(error, fatal=True)])
        await transport.close()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on TCP (TLS when configured); port 0 picks a free port (see :attr:`port`).
        Failing to listen (a port in use, an unknown host) raises :class:`Unavailable` naming
        the address.

        Listening beyond loopback without TLS or without tokens logs a warning: anyone who can
        reach the port could read (or, without TLS, overhear) every tenant's events.
        """
        if self._listener is not None:
            raise RuntimeError("the wire server is already listening")
        _make_room_for_clients(WireServer._clients_reserved + self.settings.wire_max_clients)
        try:
            self._listener = await asyncio.start_server(
                self._serve_tcp,
                host,
                port,
                backlog=self.settings.wire_backlog,
                ssl=self._tls,
                ssl_handshake_timeout=self.settings.heartbeat_seconds if self._tls else None,
            )
        except OSError as exc:
            raise Unavailable(
                f"cannot serve {self.source} on {host}:{port}: {exc.strerror or exc}",
                host=host,
                port=port,
            ) from None
        WireServer._clients_reserved += self.settings.wire_max_clients
        if not is_loopback(host) and (self._tls is None or self.tokens is None):
            missing = " and ".join(
                what
                for what, absent in (
                    ("TLS (WALLBOARD_WIRE_TLS_CERT/_KEY)", self._tls is None),
                    ("authentication (WALLBOARD_WIRE_TOKENS_FILE)", self.tokens is None),
                )
                if absent
            )
            logger.warning(
                "the %s wire server listens on %s beyond loopback without %s: anyone who can "
                "reach port %s can read every tenant's events",
                self.source,
                host or "every address",
                missing,
                self.port,
            )

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        if self._listener is None or not self._listener.sockets:
            raise RuntimeError("the wire server is not listening")
        return int(self._listener.sockets[0].getsockname()[1])

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        transport = TcpTransport(
            reader, writer, max_line=self.settings.wire_max_line, write_timeout=self._write_timeout
        )
        await self.serve(transport)

    async def close(self) -> None:
        """Stop listening and end every session (TCP and WebSocket), without cancelling the
        connection handlers: each session stops itself and closes its transport."""
        self._closing = True
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            WireServer._clients_reserved -= self.settings.wire_max_clients
        # Handlers of connections accepted just now start here and see ``_closing``.
        await asyncio.sleep(0)
        for session in tuple(self._sessions):
            session.stop()
        handlers = tuple(self._handlers)
        if handlers:
            _, stuck = await asyncio.wait(handlers, timeout=2 * self._write_timeout + 1)
            for task in stuck:
                task.cancel()
            for task in stuck:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if listener is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._write_timeout):
                    await listener.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
