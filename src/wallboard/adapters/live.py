"""A live source: a platform reader feeding a translator whose events a wire server publishes.

Given an ``outlet`` instead, the events go to that callable and no wire server listens:
that is how ``wallboard run`` hands them to the in-process event log.

:class:`LiveSource` owns the pieces every platform shares: the :class:`WireServer` the
translated events go to (clients subscribe and resume there, as with the simulator), the
supervised reader task (restarted after a failure, never killing the process), an optional
HTTP server of ``/healthz``, ``/readyz`` and ``/metrics`` (internal, on the metrics port), the
platform's webhook server, if it has one (internet-facing, so on its own port and serving the
webhook routes only), metrics, and restart state.

Restart safety. Sequence numbers must never make a client take a new event for one it has seen.
Sources that can re-read their input (a queue_log file or table) save a consistent snapshot --
input position, next ``seq`` and translator state -- to a state file; after a restart they
re-read from the snapshot and, being deterministic, emit the very same events (same ``seq``,
same ``id``) again, *before* listening, so a client that saw them resumes without loss or
duplicates. Sources that cannot re-read (AMI, ESL, webhooks) number from
:func:`seq_base` -- the start time in microseconds -- so every restart numbers above anything
published before; a client resuming from an older number gets ``resume_gap`` and refetches,
which is right, since events that happened while the source was down are lost to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import tempfile
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final, Self

import uvicorn
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.adapters.base import TranslatorBase
from wallboard.core.clock import Clock
from wallboard.core.errors import ConfigError, Unavailable
from wallboard.core.events import Event
from wallboard.ops.health import ReadinessCheck, ops_router
from wallboard.ops.metrics import counter
from wallboard.settings import Settings
from wallboard.wire.server import WireServer

logger = logging.getLogger(__name__)

STATE_VERSION: Final = 1
HTTP_START_TIMEOUT: Final = 10.0
HTTP_STOP_TIMEOUT: Final = 5.0
WEBHOOK_MAX_CONNECTIONS: Final = 256
"""Connections the webhook server holds at once; a request beyond gets 503 (the platforms retry).
With the body limits, this bounds what callers can make the process hold."""


def seq_base(clock: Clock) -> int:
    """The first ``seq`` of a source that cannot re-read its input: now in microseconds.

    A restart numbers above every event published before it unless the earlier run published
    more than a million events per second on average, or the clock stepped back across the
    restart; ``--state`` is not needed for these sources.
    """
    return clock.now_ms() * 1000 + 1


# --- metrics ----------------------------------------------------------------------------------------


class AdapterMetrics:
    """What the translators of live sources did, by platform (never by agent or queue)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = counter(
            "adapter", "records", "Platform records read.", labels=("platform",), registry=registry
        )
        self.events = counter(
            "adapter", "events", "Events published.", labels=("platform",), registry=registry
        )
        self.bad_records = counter(
            "adapter",
            "bad_records",
            "Platform records that could not be used, by reason.",
            labels=("platform", "reason"),
            registry=registry,
        )
        self.reader_failures = counter(
            "adapter",
            "reader_failures",
            "Times a source's reader failed and was restarted.",
            labels=("platform",),
            registry=registry,
        )


class _MetricsFeed:
    """Moves a translator's running totals into the counters (only the increase since last)."""

    def __init__(self, metrics: AdapterMetrics, platform: str) -> None:
        self.metrics = metrics
        self.platform = platform
        self._records = 0
        self._events = 0
        self._bad: Counter[str] = Counter()

    def sync(self, translator: TranslatorBase) -> None:
        stats = translator.stats
        if stats.records != self._records:
            self.metrics.records.labels(platform=self.platform).inc(stats.records - self._records)
            self._records = stats.records
        if stats.events != self._events:
            self.metrics.events.labels(platform=self.platform).inc(stats.events - self._events)
            self._events = stats.events
        if translator.bad.total != self._bad.total():
            for reason, seen in translator.bad.by_reason.items():
                if seen != self._bad[reason]:
                    self.metrics.bad_records.labels(platform=self.platform, reason=reason).inc(
                        seen - self._bad[reason]
                    )
                    self._bad[reason] = seen


# --- state files ------------------------------------------------------------------------------------


def write_state_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename): a crash leaves the
    old state or the new one, never half of one."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def read_state_file(path: Path, *, kind: str, tenant: str, source: str) -> dict[str, Any] | None:
    """The saved state of this source, ``None`` when there is none yet.

    A state file that cannot be read, is not JSON, or belongs to another kind of source, tenant
    or source id raises :class:`ConfigError` naming the file: continuing with a wrong state
    would renumber events, so the process must not start.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read state file {path}: {error}", field="state") from None
    try:
        state = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"state file {path} is not valid JSON: {error}", field="state") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ConfigError(
            f"state file {path} is not a version {STATE_VERSION} source state", field="state"
        )
    found = (state.get("kind"), state.get("tenant"), state.get("source"))
    if found != (kind, tenant, source):
        raise ConfigError(
            f"state file {path} belongs to {found[0]} source {found[2]!r} of tenant "
            f"{found[1]!r}, not to {kind} source {source!r} of tenant {tenant!r}",
            field="state",
        )
    return state


# --- HTTP -----------------------------------------------------------------------------------------


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: the process that embeds it decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class EmbeddedHttp:
    """A uvicorn server for one app, running as a task of the current event loop."""

    def __init__(
        self, app: FastAPI, host: str, port: int, max_connections: int | None = None
    ) -> None:
        self.app = app
        self.max_connections = max_connections
        self.host = host
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: _EmbeddedUvicorn | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the HTTP server is not listening")
        return int(self._socket.getsockname()[1])

    async def start(self) -> None:
        # Binding here (not in uvicorn) turns a busy port into an error at once, naming it.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
        except OSError as error:
            sock.close()
            raise Unavailable(
                f"cannot listen for HTTP on {self.host}:{self._requested_port}: {error}",
                host=self.host,
                port=self._requested_port,
            ) from None
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",
            limit_concurrency=self.max_connections,
        )
        server = self._server = _EmbeddedUvicorn(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="adapter-http")
        async with asyncio.timeout(HTTP_START_TIMEOUT):
            while not server.started:
                if self._task.done():
                    await self.close()
                    raise Unavailable(f"HTTP server on {self.host}:{self.port} did not start")
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        server, task, sock = self._server, self._task, self._socket
        self._server = self._task = None
        if server is not None:
            server.should_exit = True
        if task is not None:
            try:
                async with asyncio.timeout(HTTP_STOP_TIMEOUT):
                    await task
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except Exception:
                logger.exception("the HTTP server failed")
        if sock is not None:
            sock.close()
            self._socket = None


# --- the live source --------------------------------------------------------------------------------

Reader = Callable[[], Coroutine[Any, Any, None]]


def _app(title: str) -> FastAPI:
    # No generated documentation: nothing but the routes given is served.
    return FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)


class LiveSource:
    """Runs one platform's reader → translator → wire server; use as ``async with``.

    Start-up order: the operations endpoints when ``http_port`` is given; the webhook server on
    ``webhook_port`` when the source has routes; the readers; :meth:`wait_caught_up` (a source re-reading its input
    after a restart publishes what it re-read before anyone can subscribe); the wire server on
    ``host:port``; background tasks. :meth:`close` stops the readers first, so the last state
    saved matches what was published.
    """

    platform: ClassVar[str] = "unknown"
    state_kind: ClassVar[str] = "unknown"

    def __init__(
        self,
        translator: TranslatorBase,
        *,
        settings: Settings,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        http_host: str = "127.0.0.1",
        http_port: int | None = None,
        webhook_host: str = "127.0.0.1",
        webhook_port: int | None = None,
        webhook_max_connections: int = WEBHOOK_MAX_CONNECTIONS,
        restart_delay: float = 1.0,
        outlet: Callable[[Event], object] | None = None,
        extra_checks: Mapping[str, ReadinessCheck] | None = None,
    ) -> None:
        self.translator = translator
        self.outlet = outlet
        self.extra_checks = dict(extra_checks or {})
        self.settings = settings
        self.clock = clock
        self.host = host
        self.requested_port = port
        self.http_host = http_host
        self.http_port = http_port
        self.webhook_host = webhook_host
        self.webhook_port = webhook_port
        self.webhook_max_connections = webhook_max_connections
        self.restart_delay = restart_delay
        self.registry = registry or REGISTRY
        self.server = WireServer(
            source=translator.stamper.source,
            name=f"wallboard-{self.platform}",
            settings=settings,
            clock=clock,
            registry=registry,
            last_seq=translator.stamper.next_seq - 1,
        )
        self._metrics = _MetricsFeed(AdapterMetrics(self.registry), self.platform)
        self.http: EmbeddedHttp | None = None
        self.webhook: EmbeddedHttp | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self._closing = False
        self.listening = False

    # --- for subclasses ----------------------------------------------------------------------

    def readers(self) -> list[Reader]:
        """Coroutines that read the platform; each is restarted after a failure."""
        return []

    def background(self) -> list[Reader]:
        """Coroutines running while the source serves (timers); cancelled at close."""
        return []

    def routes(self) -> list[APIRouter]:
        """HTTP routes of the platform (webhooks), served alone on ``webhook_port``."""
        return []

    def warnings(self) -> dict[str, str]:
        """What an operator must know about how the source runs: logged at start, shown on
        ``/readyz`` (without failing it)."""
        return {}

    def checks(self) -> dict[str, ReadinessCheck]:
        """Readiness checks; ``wire`` (listening) is always one."""
        return {}

    async def wait_caught_up(self) -> None:
        """Return once what the input held at start-up is published (re-reading sources)."""

    def stop_readers(self) -> None:
        """Ask the readers to end (they are cancelled too)."""

    async def save_state(self) -> None:
        """Save restart state, if the source keeps any."""

    # --- publishing --------------------------------------------------------------------------

    def publish(self, events: Iterable[Event]) -> None:
        """Hand events, in order, to the wire server (or the outlet); never waits."""
        send = self.server.publish if self.outlet is None else self.outlet
        for event in events:
            send(event)
        self._metrics.sync(self.translator)

    async def publish_one(self, event: Event) -> None:
        """The sink of the webhook routes."""
        self.publish((event,))

    def summary(self) -> dict[str, Any]:
        seq = self.server.seq if self.outlet is None else self.translator.stamper.next_seq - 1
        return {"seq": seq, **self.translator.summary()}

    # --- life cycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The wire port listened on."""
        return self.server.port

    async def start(self) -> None:
        try:
            for name, text in self.warnings().items():
                logger.warning("%s source %s: %s", self.platform, name, text)
            if self.http_port is not None:
                ops = _app(f"Wallboard {self.platform} source operations")
                ops.include_router(ops_router(self._all_checks(), self.registry, self.warnings()))
                self.http = EmbeddedHttp(ops, self.http_host, self.http_port)
                await self.http.start()
            routes = self.routes()
            if routes:
                if self.webhook_port is None:
                    raise ConfigError(f"the {self.platform} source needs a webhook port")
                hooks = _app(f"Wallboard {self.platform} source")
                for router in routes:
                    hooks.include_router(router)
                self.webhook = EmbeddedHttp(
                    hooks, self.webhook_host, self.webhook_port, self.webhook_max_connections
                )
                await self.webhook.start()
            for reader in self.readers():
                self._readers.append(
                    asyncio.create_task(self._keep_reading(reader), name=f"{self.platform}-reader")
                )
            await self.wait_caught_up()
            if self.outlet is None:
                await self.server.start(self.host, self.requested_port)
            self.listening = True
            for job in self.background():
                self._background.append(asyncio.create_task(job(), name=f"{self.platform}-timer"))
        except BaseException:
            await self.close()
            raise
        if self.outlet is None:
            logger.info(
                "%s source %s serving on %s:%d after seq %d",
                self.platform,
                self.server.source,
                self.host,
                self.port,
                self.server.seq,
            )

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.stop_readers()
        for task in (*self._readers, *self._background):
            task.cancel()
        for task in (*self._readers, *self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._readers.clear()
        self._background.clear()
        try:
            await self.save_state()
        finally:
            if self.webhook is not None:
                await self.webhook.close()
            if self.http is not None:
                await self.http.close()
            self.listening = False
            await self.server.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _keep_reading(self, reader: Reader) -> None:
        while not self._closing:
            try:
                await reader()
            except Exception:
                self._metrics.metrics.reader_failures.labels(platform=self.platform).inc()
                logger.exception(
                    "%s reader failed; restarting in %.1f s", self.platform, self.restart_delay
                )
            else:
                if self._closing:
                    return
                logger.warning("%s reader ended; restarting", self.platform)
            await self.clock.sleep(self.restart_delay)

    def _all_checks(self) -> Mapping[str, ReadinessCheck]:
        async def wire() -> bool:
            return self.listening

        wires = {"wire": wire} if self.outlet is None else {}
        return {**wires, **self.checks(), **self.extra_checks}
