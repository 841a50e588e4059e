"""Encode and decode wire messages (newline-delimited JSON), rejecting bad input precisely.

The decoder never lets anything but :class:`MalformedMessage` escape, and that error names the
field and the offending value, so a read loop can count it, report it and go on.
"""

from __future__ import annotations

import re
from typing import Any, Final, Union

import msgspec

from wallboard.core.errors import MalformedMessage
from wallboard.core.events import (
    EVENT_TYPE_NAMES,
    EVENT_TYPES,
    AnyEvent,
    Event,
    Seq,
    TimestampMs,
    UnknownEvent,
)
from wallboard.core.protocol import CONTROL_TYPES, Control

Message = Event | UnknownEvent | Control

DEFAULT_MAX_LINE: Final = 64 * 1024
"""Longest accepted line in bytes, newline excluded; longer lines are refused unread."""

_MAX_VALUE_CHARS: Final = 80

_KnownMessage = Union[(*EVENT_TYPES, *CONTROL_TYPES)]  # type: ignore[valid-type]


class _Envelope(msgspec.Struct):
    """Just enough of an event to pass an unknown type through."""

    type: str
    tenant: str
    source: str
    seq: Seq
    id: str
    ts: TimestampMs
    v: int = 1


_PATH = re.compile(r"at `\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\[\.\.\.\])*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _field_and_value(message: str, line: bytes) -> tuple[str, str | None]:
    """Find which field msgspec complained about and the value it saw there."""
    missing = _MISSING.search(message)
    match = _PATH.search(message)
    path = match.group(1) if match else ""
    parts = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\.\.\.)\]", path)
    field = "".join(f".{name}" if name else f"[{index}]" for name, index in parts).lstrip(".")
    field = field or "message"
    if missing:
        name = missing.group(1)
        return (f"{field}.{name}" if field != "message" else name), None
    if any(index == "..." for _, index in parts):
        return field, None  # a value inside a mapping: msgspec does not say which key
    try:
        value: Any = msgspec.json.decode(line)
        for name, index in parts:
            value = value[name] if name else value[int(index)]
    except UnicodeDecodeError:
        raise  # reported as bad UTF-8 by Decoder.decode, not as a wrong field
    except (msgspec.DecodeError, KeyError, IndexError, TypeError, ValueError):
        return field, None
    text = msgspec.json.encode(value).decode()
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 1] + "…"
    return field, text


def _check_utf8(line: bytes) -> None:
    """Raise UnicodeDecodeError if ``line`` is not UTF-8 (only on the error path: msgspec
    reports a bad byte inside a string as a UnicodeDecodeError or, since 0.23, as a
    DecodeError, or as a wrong value of the field that held it)."""
    bytes(line).decode("utf-8")


class Decoder:
    """Decodes one line (without its newline) into an event or a control message."""

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._decoder: msgspec.json.Decoder[Message] = msgspec.json.Decoder(_KnownMessage)
        self._envelope = msgspec.json.Decoder(_Envelope)

    def decode(self, line: bytes) -> Message:
        if len(line) > self.max_line:
            raise MalformedMessage(
                f"line of {len(line)} bytes is longer than the limit of {self.max_line}",
                reason="line_too_long",
                length=len(line),
                limit=self.max_line,
            )
        try:
            return self._decode_within_limit(line)
        except UnicodeDecodeError as exc:
            # msgspec checks UTF-8 when it builds a str, so a bad byte inside a string surfaces
            # as this (from the decoder, _field_and_value or the envelope decoder).
            raise MalformedMessage(
                f"not valid UTF-8 at byte {exc.start}",
                reason="bad_utf8",
                field="message",
                value=None,
                position=exc.start,
            ) from None
        except RecursionError:
            raise MalformedMessage(
                "JSON nested too deeply", reason="too_deep", field="message", value=None
            ) from None

    def _decode_within_limit(self, line: bytes) -> Message:
        try:
            return self._decoder.decode(line)
        except msgspec.ValidationError as exc:
            _check_utf8(line)
            return self._unknown_or_raise(line, str(exc))
        except msgspec.DecodeError as exc:
            _check_utf8(line)
            raise MalformedMessage(
                f"not a JSON object: {exc}", reason="bad_json", field="message", value=None
            ) from None

    def _unknown_or_raise(self, line: bytes, error: str) -> UnknownEvent:
        field, value = _field_and_value(error, line)
        if field == "type" and value is not None:
            # A dotted type we do not know is an event from a newer producer: pass it through.
            try:
                env = self._envelope.decode(line)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise MalformedMessage(
                    f"unknown message type {value} without a valid event envelope: {exc}",
                    reason="unknown_type",
                    field="type",
                    value=value,
                ) from None
            if env.type in EVENT_TYPE_NAMES:
                # Only a repeated "type" key gets here: the first said one type, the last another.
                raise MalformedMessage(
                    f"conflicting type keys (last one {env.type!r})",
                    reason="invalid_field",
                    field="type",
                    value=value,
                )
            if "." in env.type:
                return UnknownEvent(
                    type=env.type,
                    v=env.v,
                    tenant=env.tenant,  # type: ignore[arg-type]
                    source=env.source,  # type: ignore[arg-type]
                    seq=env.seq,
                    id=env.id,  # type: ignore[arg-type]
                    ts=env.ts,
                    raw=bytes(line),
                )
            raise MalformedMessage(
                f"unknown message type {value}", reason="unknown_type", field="type", value=value
            )
        text = f"{field}: {error}" if value is None else f"{field}: {error} (got {value})"
        raise MalformedMessage(text, reason="invalid_field", field=field, value=value)


class Encoder:
    """Encodes messages as one JSON line each, newline included."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()

    def encode(self, message: Message) -> bytes:
        if isinstance(message, UnknownEvent):
            return message.raw + b"\n"
        return self._encoder.encode(message) + b"\n"

    def encode_many(self, messages: list[AnyEvent]) -> bytes:
        return b"".join(self.encode(m) for m in messages)


_default_decoder = Decoder()
_default_encoder = Encoder()


def decode(line: bytes) -> Message:
    """Decode one line with the default limits."""
    return _default_decoder.decode(line)


def encode(message: Message) -> bytes:
    """Encode one message as a JSON line, newline included."""
    return _default_encoder.encode(message)


def decode_event(line: bytes) -> AnyEvent:
    """Decode one line that must be an event (e.g. a line of an ``events.jsonl`` file)."""
    message = _default_decoder.decode(line)
    if isinstance(message, Control):
        raise MalformedMessage(
            f"expected an event, got a {message.__struct_config__.tag} control message",
            reason="not_an_event",
            field="type",
            value=str(message.__struct_config__.tag),
        )
    return message
