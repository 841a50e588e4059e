"""Every event and control message survives encode → decode unchanged (property tests)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from message_strategies import MESSAGE_TYPES, for_struct, struct_fields

from wallboard.core.codec import DEFAULT_MAX_LINE, Decoder, decode, decode_event, encode
from wallboard.core.errors import MalformedMessage
from wallboard.core.events import EVENT_TYPE_NAMES, EVENT_TYPES, AgentReady, Event
from wallboard.core.ids import AgentId, EventId, SourceId, TenantId
from wallboard.core.protocol import CONTROL_TYPES, Control


def _tag(cls: type[msgspec.Struct]) -> str:
    return str(cls.__struct_config__.tag)


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=_tag)
@given(data=st.data())
def test_round_trip(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    message = data.draw(for_struct(cls))
    line = encode(message)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1  # one message, one line
    assert len(line) - 1 <= DEFAULT_MAX_LINE
    decoded = decode(line[:-1])
    assert decoded == message
    assert type(decoded) is cls
    assert encode(decoded) == line  # the encoding is canonical: fanout re-encodes identically


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=_tag)
@given(data=st.data())
def test_events_decode_as_events_and_name_their_objects(
    cls: type[Event], data: st.DataObject
) -> None:
    event = data.draw(for_struct(cls))
    assert decode_event(encode(event)[:-1]) == event
    assert event.type == _tag(cls)
    refs = event.references()
    assert refs == tuple(
        getattr(event, name) for name in cls.REFERENCES if getattr(event, name) is not None
    )
    fields = {f.name for f in struct_fields(cls)}
    assert set(cls.REFERENCES) <= fields


def test_the_type_tags_are_the_documented_families() -> None:
    event_tags = [_tag(cls) for cls in EVENT_TYPES]
    control_tags = [_tag(cls) for cls in CONTROL_TYPES]
    assert len(set(event_tags)) == len(event_tags) == len(EVENT_TYPE_NAMES)
    assert all("." in tag for tag in event_tags)  # events are dotted…
    assert not any("." in tag for tag in control_tags)  # …control messages are single words
    assert all(issubclass(cls, Control) for cls in CONTROL_TYPES)


def test_encoding_omits_defaults_and_puts_the_type_first() -> None:
    event = AgentReady(
        tenant=TenantId("t1"),
        source=SourceId("voice"),
        seq=7,
        id=EventId("e7"),
        ts=1,
        agent=AgentId("a1"),
    )
    assert encode(event) == (
        b'{"type":"agent.ready","tenant":"t1","source":"voice","seq":7,"id":"e7","ts":1,"agent":"a1"}\n'
    )
    assert decode(encode(event)[:-1]) == event  # v and media come back as their defaults


def test_a_custom_line_limit_is_applied() -> None:
    decoder = Decoder(max_line=10)
    with pytest.raises(MalformedMessage) as raised:
        decoder.decode(b'{"type":"heartbeat","ts":1}')
    assert raised.value.detail["reason"] == "line_too_long"
