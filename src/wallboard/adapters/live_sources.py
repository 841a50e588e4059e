"""The live source of each platform: its reader, translator and restart behaviour.

- :class:`QueueLogFileSource`, :class:`QueueLogTableSource`: Asterisk queue_log, re-readable,
  so with a state file a restart continues exactly where it stopped (see :mod:`.live`).
- :class:`AmiSource`: Asterisk AMI over TCP, with a timer flushing held queue exits.
- :class:`FreeswitchSource`: FreeSWITCH ``mod_callcenter`` over the event socket.
- :class:`AmazonConnectSource`: an Amazon Data Firehose HTTP endpoint receiving agent event
  stream records and contact events.
- :class:`TwilioSource`: the TaskRouter event callback endpoint.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from fastapi import APIRouter

from wallboard.adapters.amazon_connect import AmazonConnectTranslator, firehose_router
from wallboard.adapters.asterisk_ami import AmiClient, AmiConnection, AmiTranslator
from wallboard.adapters.asterisk_queue_log import (
    FilePosition,
    QueueLogFollower,
    QueueLogTablePoller,
    QueueLogTranslator,
    row_to_record,
)
from wallboard.adapters.base import MAX_TRACKED, BadRecord, EventSink, TranslatorBase, offset
from wallboard.adapters.freeswitch import EslClient, EslConnection, FreeswitchTranslator
from wallboard.adapters.live import (
    STATE_VERSION,
    LiveSource,
    Reader,
    read_state_file,
    seq_base,
    write_state_file,
)
from wallboard.adapters.timestamps import UTC
from wallboard.adapters.twilio import TwilioTranslator, taskrouter_router
from wallboard.adapters.webhook import INSECURE_WARNING
from wallboard.core.clock import Clock
from wallboard.core.errors import ConfigError
from wallboard.core.events import Event
from wallboard.ops.health import ReadinessCheck
from wallboard.settings import Settings

logger = logging.getLogger(__name__)


# --- Asterisk queue_log ---------------------------------------------------------------------------


class _QueueLogSource(LiveSource):
    """What the file and table sources share: the translator, its state file, the saver."""

    platform: ClassVar[str] = "asterisk"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None,
        timezone: dt.tzinfo,
        state_path: Path | None,
        state_interval: float,
        settings: Settings,
        clock: Clock,
        start_at_end: bool = False,
        **serve: Any,
    ) -> None:
        translator = QueueLogTranslator(
            tenant=tenant, source=source, clock=clock, timezone=timezone
        )
        self.state_path = state_path
        self.state_interval = state_interval
        self._dirty = False
        self._state: dict[str, Any] | None = None
        if state_path is not None:
            self._state = read_state_file(
                state_path,
                kind=self.state_kind,
                tenant=translator.stamper.tenant,
                source=translator.stamper.source,
            )
            if self._state is not None:
                try:
                    translator.restore(self._state.get("translator") or {})
                except ValueError as error:
                    raise ConfigError(
                        f"state file {state_path}: translator state: {error}", field="state"
                    ) from None
        # Starting at the end of the input is not reproducible: number from the clock then.
        self.from_end = start_at_end and self._state is None
        if self.from_end:
            translator.stamper.next_seq = seq_base(clock)
        super().__init__(translator, settings=settings, clock=clock, **serve)
        self.queue_log = translator

    def position(self) -> dict[str, Any] | None:
        """The input position matching the translator's state, as JSON."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """The consistent restart state: called between records (nothing awaits in between)."""
        return {
            "version": STATE_VERSION,
            "kind": self.state_kind,
            "tenant": self.queue_log.stamper.tenant,
            "source": self.queue_log.stamper.source,
            "seq": self.queue_log.stamper.next_seq - 1,
            "position": self.position(),
            "translator": self.queue_log.snapshot(),
        }

    async def save_state(self) -> None:
        if self.state_path is None:
            return
        data = json.dumps(self.snapshot(), separators=(",", ":")).encode()
        self._dirty = False
        await asyncio.to_thread(write_state_file, self.state_path, data)

    def background(self) -> list[Reader]:
        return [self._save_periodically] if self.state_path is not None else []

    async def _save_periodically(self) -> None:
        while True:
            await self.clock.sleep(self.state_interval)
            if self._dirty:
                try:
                    await self.save_state()
                except OSError:
                    logger.exception("cannot save the state file %s", self.state_path)

    async def wait_caught_up(self) -> None:
        # Everything already in the input is published before clients can subscribe, so a
        # client that saw those events before a restart can resume from its last seq.
        await self._caught_up().wait()
        if self.state_path is not None:
            await self.save_state()

    def _caught_up(self) -> asyncio.Event:
        raise NotImplementedError


class QueueLogFileSource(_QueueLogSource):
    """Follows a queue_log file (``tail -F``) and serves its events.

    Without a state file it reads the file from its start (from its end with ``start_at_end``,
    numbering from :func:`seq_base` then, since that start is not reproducible). With one it
    continues from the saved offset, seq and translator state, and saves them every
    ``state_interval`` seconds and at close.
    """

    state_kind: ClassVar[str] = "asterisk-queue-log-file"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tenant: str,
        settings: Settings,
        clock: Clock,
        source: str | None = None,
        timezone: dt.tzinfo = UTC,
        state_path: Path | None = None,
        state_interval: float = 1.0,
        poll_interval: float = 0.5,
        start_at_end: bool = False,
        **serve: Any,
    ) -> None:
        super().__init__(
            tenant=tenant,
            source=source,
            timezone=timezone,
            state_path=state_path,
            state_interval=state_interval,
            settings=settings,
            clock=clock,
            start_at_end=start_at_end,
            **serve,
        )
        resume: FilePosition | None = None
        if self._state is not None and self._state.get("position") is not None:
            try:
                resume = FilePosition.from_json(self._state["position"])
            except ValueError as error:
                raise ConfigError(f"state file {state_path}: {error}", field="state") from None
        self.follower = QueueLogFollower(
            path,
            clock=clock,
            poll_interval=poll_interval,
            start_at_end=self.from_end,
            resume=resume,
        )
        self._position = resume

    def readers(self) -> list[Reader]:
        return [self._follow]

    async def _follow(self) -> None:
        async for text, location in self.follower.lines():
            self.publish(self.queue_log.translate(text, location))
            self._position = self.follower.position
            self._dirty = True
        # A restart of the reader continues from where this one stopped.
        self.follower.resume = self._position

    def position(self) -> dict[str, Any] | None:
        return None if self._position is None else self._position.to_json()

    def _caught_up(self) -> asyncio.Event:
        return self.follower.caught_up

    def stop_readers(self) -> None:
        self.follower.stop()

    def checks(self) -> dict[str, ReadinessCheck]:
        async def readable() -> bool:
            return self.follower.caught_up.is_set() and self.follower.problem is None

        return {"queue_log": readable}


class QueueLogTableSource(_QueueLogSource):
    """Polls a realtime ``queue_log`` table by increasing ``id`` and serves its events.

    With a state file the last row id, seq and translator state survive a restart.
    """

    state_kind: ClassVar[str] = "asterisk-queue-log-table"

    def __init__(
        self,
        url: str,
        *,
        tenant: str,
        settings: Settings,
        clock: Clock,
        table: str = "queue_log",
        source: str | None = None,
        timezone: dt.tzinfo = UTC,
        state_path: Path | None = None,
        state_interval: float = 1.0,
        poll_interval: float = 1.0,
        **serve: Any,
    ) -> None:
        super().__init__(
            tenant=tenant,
            source=source,
            timezone=timezone,
            state_path=state_path,
            state_interval=state_interval,
            settings=settings,
            clock=clock,
            **serve,
        )
        after_id = 0
        if self._state is not None:
            saved = self._state.get("position")
            if (
                not isinstance(saved, dict)
                or saved.get("table") != table
                or not isinstance(saved.get("last_id"), int)
            ):
                raise ConfigError(
                    f"state file {state_path} is not a position in table {table!r}", field="state"
                )
            after_id = saved["last_id"]
        self.timezone = timezone
        self.poller = QueueLogTablePoller(
            url, table=table, clock=clock, poll_interval=poll_interval, after_id=after_id
        )
        self._last_id = after_id

    def readers(self) -> list[Reader]:
        return [self._poll]

    async def _poll(self) -> None:
        async for row, location in self.poller.rows():
            try:
                record = row_to_record(row, self.timezone)
            except BadRecord as error:
                self.queue_log.stats.records += 1
                self.queue_log.bad.record(error, location)
                events: list[Event] = []
            else:
                events = self.queue_log.translate_record(
                    record, f"{self.poller.table}:{location.value}", location
                )
            self.publish(events)
            self._last_id = self.poller.last_id
            self._dirty = True

    def position(self) -> dict[str, Any]:
        return {"table": self.poller.table, "last_id": self._last_id}

    def _caught_up(self) -> asyncio.Event:
        return self.poller.caught_up

    def stop_readers(self) -> None:
        self.poller.stop()

    def checks(self) -> dict[str, ReadinessCheck]:
        async def caught_up() -> bool:
            return self.poller.caught_up.is_set()

        return {"queue_log_table": caught_up}


# --- Asterisk AMI -----------------------------------------------------------------------------------


class AmiSource(LiveSource):
    """Logs in to AMI, translates its events and serves them.

    Queue exits (a caller leaving without abandon or answer) are held for the translator's
    grace period; a timer calls :meth:`AmiTranslator.flush` every ``flush_interval`` seconds so
    they go out even when AMI is quiet.
    """

    platform: ClassVar[str] = "asterisk"

    def __init__(
        self,
        connection: AmiConnection,
        *,
        tenant: str,
        settings: Settings,
        clock: Clock,
        source: str | None = None,
        flush_interval: float = 0.5,
        exit_grace_ms: int = 2000,
        **serve: Any,
    ) -> None:
        translator = AmiTranslator(
            tenant=tenant,
            source=source,
            clock=clock,
            exit_grace_ms=exit_grace_ms,
            first_seq=seq_base(clock),
        )
        super().__init__(translator, settings=settings, clock=clock, **serve)
        self.ami = translator
        self.client = AmiClient(connection, clock=clock)
        self.flush_interval = flush_interval

    def readers(self) -> list[Reader]:
        return [self._read]

    async def _read(self) -> None:
        async for message in self.client.messages():
            if self.client.parse_errors:
                for problem in self.client.parse_errors:
                    self.ami.stats.records += 1
                    self.ami.bad.record(problem.error, offset(problem.offset, "ami"))
                self.client.parse_errors.clear()
            self.publish(self.ami.translate(message, offset(message.offset, "ami")))

    def background(self) -> list[Reader]:
        return [self._flush_exits]

    async def _flush_exits(self) -> None:
        while True:
            await self.clock.sleep(self.flush_interval)
            events = self.ami.flush(self.clock.now_ms())
            if events:
                self.publish(events)

    def stop_readers(self) -> None:
        self.client.stop()

    def checks(self) -> dict[str, ReadinessCheck]:
        async def ami() -> bool:
            return self.client.connected

        return {"ami": ami}


# --- FreeSWITCH -------------------------------------------------------------------------------------


class FreeswitchSource(LiveSource):
    """Subscribes to ``callcenter::info`` on the event socket and serves the events."""

    platform: ClassVar[str] = "freeswitch"

    def __init__(
        self,
        connection: EslConnection,
        *,
        tenant: str,
        settings: Settings,
        clock: Clock,
        source: str | None = None,
        **serve: Any,
    ) -> None:
        translator = FreeswitchTranslator(
            tenant=tenant, source=source, clock=clock, first_seq=seq_base(clock)
        )
        super().__init__(translator, settings=settings, clock=clock, **serve)
        self.freeswitch = translator
        self.client = EslClient(connection, clock=clock)

    def readers(self) -> list[Reader]:
        return [self._read]

    async def _read(self) -> None:
        async for headers, position in self.client.events():
            self.publish(self.freeswitch.translate(headers, offset(position, "esl")))

    def stop_readers(self) -> None:
        self.client.stop()

    def checks(self) -> dict[str, ReadinessCheck]:
        async def esl() -> bool:
            return self.client.connected

        return {"esl": esl}


# --- HTTP sources -----------------------------------------------------------------------------------


class _WebhookSource(LiveSource):
    """A source fed by an internet-facing endpoint: it runs only with credentials, unless the
    operator said ``insecure_no_auth``, which is logged at start and shown on ``/readyz``."""

    def __init__(
        self,
        translator: TranslatorBase,
        router: Callable[[EventSink], APIRouter],
        *,
        insecure_no_auth: bool,
        webhook_port: int,
        **serve: Any,
    ) -> None:
        super().__init__(translator, webhook_port=webhook_port, **serve)
        self.insecure_no_auth = insecure_no_auth
        # Built now, so missing credentials are refused before anything listens.
        self.router = router(self.publish_one)

    def routes(self) -> list[APIRouter]:
        return [self.router]

    def warnings(self) -> dict[str, str]:
        return {"webhook_auth": f"the webhook {INSECURE_WARNING}"} if self.insecure_no_auth else {}


class AmazonConnectSource(_WebhookSource):
    """An Amazon Data Firehose HTTP endpoint: agent event stream records and contact events.

    Firehose delivers only to HTTPS on port 443: put a TLS-terminating proxy in front and point
    the stream's HTTP endpoint URL at ``<proxy>/amazon-connect/firehose``. Requests must carry
    ``access_key`` in ``X-Amz-Firehose-Access-Key``.
    """

    platform: ClassVar[str] = "amazon-connect"

    def __init__(
        self,
        *,
        tenant: str,
        clock: Clock,
        webhook_port: int,
        source: str | None = None,
        access_key: str | None = None,
        insecure_no_auth: bool = False,
        path: str = "/amazon-connect/firehose",
        max_tracked: int = MAX_TRACKED,
        **serve: Any,
    ) -> None:
        self.connect = AmazonConnectTranslator(
            tenant=tenant,
            source=source,
            clock=clock,
            first_seq=seq_base(clock),
            max_tracked=max_tracked,
        )
        self.path = path
        super().__init__(
            self.connect,
            lambda sink: firehose_router(
                self.connect,
                sink,
                path=path,
                access_key=access_key,
                insecure_no_auth=insecure_no_auth,
                now_ms=clock.now_ms,
            ),
            insecure_no_auth=insecure_no_auth,
            clock=clock,
            webhook_port=webhook_port,
            **serve,
        )


class TwilioSource(_WebhookSource):
    """The TaskRouter Event Callback URL: each callback's events are served at once. Requests
    must carry an ``X-Twilio-Signature`` made with ``auth_token``."""

    platform: ClassVar[str] = "twilio"

    def __init__(
        self,
        *,
        tenant: str,
        clock: Clock,
        webhook_port: int,
        source: str | None = None,
        auth_token: str | None = None,
        insecure_no_auth: bool = False,
        public_url: str | None = None,
        path: str = "/twilio/taskrouter/events",
        max_tracked: int = MAX_TRACKED,
        **serve: Any,
    ) -> None:
        self.twilio = TwilioTranslator(
            tenant=tenant,
            source=source,
            clock=clock,
            first_seq=seq_base(clock),
            max_tracked=max_tracked,
        )
        self.public_url = public_url
        self.path = path
        super().__init__(
            self.twilio,
            lambda sink: taskrouter_router(
                self.twilio,
                sink,
                path=path,
                auth_token=auth_token,
                insecure_no_auth=insecure_no_auth,
                public_url=public_url,
            ),
            insecure_no_auth=insecure_no_auth,
            clock=clock,
            webhook_port=webhook_port,
            **serve,
        )
