"""A platform socket client that reconnects with exponential backoff (AMI, the event socket).

A subclass opens one session (``_session``: connect, log in, yield what arrives until the
connection ends); ``_reconnecting`` runs sessions one after another until ``stop``. A failed or
dropped session is counted, logged and retried after ``backoff_initial · 2^attempt`` seconds (at
most ``backoff_max``); a session that yielded something starts the backoff again. Refused
logins are retried too: an operator may be fixing the password.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import ClassVar, Final, Generic, TypeVar

from wallboard.core.clock import Clock
from wallboard.core.errors import Unauthenticated, Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
_RETRIED: Final = (OSError, TimeoutError, Unavailable, Unauthenticated)


class ReconnectingClient(Generic[T]):
    name: ClassVar[str]
    """What the client talks to, in log lines ("AMI", "ESL")."""

    def __init__(self, *, clock: Clock, backoff_initial: float, backoff_max: float) -> None:
        self._clock = clock
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._stopped = False
        self._writer: asyncio.StreamWriter | None = None
        self.connects = 0
        self.failures = 0
        self.connected = False
        """True while a session is up (a readiness check of the live source)."""
        self.last_error: str | None = None

    def stop(self) -> None:
        self._stopped = True
        if self._writer is not None:
            self._writer.close()

    def _peer(self) -> str:
        raise NotImplementedError

    def _session(self) -> AsyncIterator[T]:
        raise NotImplementedError

    async def _reconnecting(self) -> AsyncIterator[T]:
        attempt = 0
        while not self._stopped:
            try:
                async for item in self._session():
                    attempt = 0
                    yield item
            except _RETRIED as error:
                self.failures += 1
                self.last_error = str(error) or type(error).__name__
                logger.warning("%s %s: %s; reconnecting", self.name, self._peer(), self.last_error)
            if self._stopped:
                return
            await self._clock.sleep(min(self._backoff_max, self._backoff_initial * 2**attempt))
            attempt += 1
