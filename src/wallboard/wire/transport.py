"""Transports: the same session logic runs over TCP (NDJSON lines) and WebSocket (text frames).

A transport reads one message at a time, writes a batch of encoded lines, and closes. Every
write has a timeout; reads are bounded by the session's dead-peer watchdog, which closes the
transport when the peer has been silent for too long.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from wallboard.core.errors import MalformedMessage

READ_CHUNK = 64 * 1024

LINGER_SECONDS = 1.0
"""Longest wait, at close, for the peer to close its side after reading the last message."""


class Transport(Protocol):
    """One connection, message by message."""

    @property
    def peer(self) -> str:
        """Where the connection comes from, for logs."""
        ...

    async def read_message(self) -> bytes | None:
        """The next message without its line end; ``None`` when the peer closed.

        Raises :class:`MalformedMessage` (reason ``line_too_long``) for a message longer than
        the limit, which is skipped: the next call returns the message after it.
        """
        ...

    async def send(self, lines: Sequence[bytes]) -> None:
        """Write encoded lines (each ending in a newline), in order, within the write timeout."""
        ...

    async def close(self) -> None:
        """Close the connection; never raises, never waits longer than the write timeout."""
        ...


def _too_long(length: int, limit: int, *, exact: bool) -> MalformedMessage:
    size = f"{length} bytes" if exact else f"more than {limit} bytes"
    return MalformedMessage(
        f"line of {size} is longer than the limit of {limit}",
        reason="line_too_long",
        field="message",
        length=length,
        limit=limit,
    )


class TcpTransport:
    """Newline-delimited messages over an asyncio stream.

    Lines are split here rather than with ``StreamReader.readline`` so that an over-long line
    is skipped in constant memory and reported once, and the connection goes on.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_line: int,
        write_timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._max_line = max_line
        self._write_timeout = write_timeout
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line: drop bytes up to the next newline
        self._reading = False  # a read_message() waits for data (close() must not read then)
        address = writer.get_extra_info("peername")
        self._peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)

    @property
    def peer(self) -> str:
        return self._peer

    async def read_message(self) -> bytes | None:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                if self._skipping:
                    self._skipping = False
                    continue
                if len(line) > self._max_line:
                    raise _too_long(len(line), self._max_line, exact=True)
                if line.strip():
                    return line
                continue  # blank lines are allowed and ignored
            if len(self._buffer) > self._max_line:
                # No newline within the limit: report now, skip the rest as it arrives.
                length = len(self._buffer)
                self._buffer.clear()
                if not self._skipping:
                    self._skipping = True
                    raise _too_long(length, self._max_line, exact=False)
            self._reading = True
            try:
                chunk = await self._reader.read(READ_CHUNK)
            except (ConnectionError, OSError):
                return None
            finally:
                self._reading = False
            if not chunk:
                return None  # an unterminated last line is a message cut short: dropped
            self._buffer += chunk

    async def send(self, lines: Sequence[bytes]) -> None:
        self._writer.writelines(lines)
        async with asyncio.timeout(self._write_timeout):
            await self._writer.drain()

    async def close(self) -> None:
        writer = self._writer
        await self._linger()
        if writer.is_closing():
            writer.transport.abort()
        else:
            writer.close()
        try:
            async with asyncio.timeout(self._write_timeout):
                await writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            # The peer does not read what is still buffered: do not wait for it. The timeout
            # cancelled the close waiter, so waiting on it again would raise CancelledError;
            # abort() closes the socket at once, whatever is unsent.
            writer.transport.abort()

    async def _linger(self) -> None:
        """Half-close, then read and discard until the peer closes too (briefly).

        Closing a socket with unread input resets the connection, and a reset can make the
        peer lose the last message sent (a refusal sent before its ``hello`` was read).
        """
        writer = self._writer
        if writer.is_closing() or not writer.can_write_eof() or self._reading:
            # TLS has no half-close (its close_notify is the end); a reader waiting in
            # read_message() sees the end itself.
            return
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(min(LINGER_SECONDS, self._write_timeout)):
                writer.write_eof()
                while await self._reader.read(READ_CHUNK):
                    pass


class WebSocketTransport:
    """One message per WebSocket frame (text; binary frames are read as UTF-8 too)."""

    def __init__(self, websocket: WebSocket, *, max_line: int, write_timeout: float) -> None:
        self._websocket = websocket
        self._max_line = max_line
        self._write_timeout = write_timeout
        client = websocket.client
        self._peer = f"ws:{client.host}:{client.port}" if client else "ws:?"

    @property
    def peer(self) -> str:
        return self._peer

    async def read_message(self) -> bytes | None:
        while True:
            try:
                frame = await self._websocket.receive()
            except (WebSocketDisconnect, RuntimeError, ConnectionError, OSError):
                return None
            if frame["type"] == "websocket.disconnect":
                return None
            text = frame.get("text")
            data: bytes = text.encode() if text is not None else (frame.get("bytes") or b"")
            if data.endswith(b"\n"):
                data = data[:-1]
            if len(data) > self._max_line:
                raise _too_long(len(data), self._max_line, exact=True)
            if data.strip():
                return data

    async def send(self, lines: Sequence[bytes]) -> None:
        async with asyncio.timeout(self._write_timeout):
            for line in lines:
                # The encoded line ends in a newline; a frame carries the message alone.
                await self._websocket.send_text(line[:-1].decode())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._write_timeout):
                await self._websocket.close()
