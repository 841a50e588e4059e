"""The decoder under hostile input: only MalformedMessage escapes, naming field and value."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from message_strategies import MESSAGE_TYPES, any_message, for_struct, json_values, struct_fields

from wallboard.core.codec import DEFAULT_MAX_LINE, Decoder, Message, decode, encode
from wallboard.core.errors import MalformedMessage
from wallboard.core.events import EVENT_TYPE_NAMES, EVENT_TYPES, UnknownEvent


def _decode_or_refuse(line: bytes) -> Message | MalformedMessage:
    """Decode, allowing only MalformedMessage, whose detail must be well-formed."""
    try:
        return decode(line)
    except MalformedMessage as error:
        refused = error
    assert refused.code == "malformed_message"
    assert isinstance(refused.detail.get("reason"), str)
    msgspec.json.encode(refused.to_dict())  # the detail can be sent back as an error message
    return refused


def _tag(cls: type[msgspec.Struct]) -> str:
    return str(cls.__struct_config__.tag)


@given(st.binary(max_size=300))
@example(b"")
@example(b"\n")
@example(b"\x00")
@example(b"\xef\xbb\xbf{}")
def test_random_bytes_are_refused_or_decoded(line: bytes) -> None:
    _decode_or_refuse(line)


@given(
    st.lists(
        st.sampled_from(
            [b"{", b"}", b"[", b"]", b'"type"', b":", b",", b'"agent.x"', b"1", b"null", b'"']
        )
    ).map(b"".join)
)
def test_json_shaped_noise_is_refused_or_decoded(line: bytes) -> None:
    _decode_or_refuse(line)


@given(message=any_message, data=st.data())
def test_truncated_messages_are_refused(message: Any, data: st.DataObject) -> None:
    line = encode(message)[:-1]
    cut = data.draw(st.integers(0, len(line) - 1))
    outcome = _decode_or_refuse(line[:cut])
    assert isinstance(outcome, MalformedMessage)


@given(message=any_message, data=st.data())
def test_random_corruption_never_raises_anything_else(message: Any, data: st.DataObject) -> None:
    line = bytearray(encode(message)[:-1])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(line) - 1))
        # ASCII replacements only: invalid UTF-8 is a known core bug, tested on its own below.
        line[at] = data.draw(st.integers(0, 127))
    try:
        bytes(line).decode()
    except UnicodeDecodeError:
        assume(False)
    _decode_or_refuse(bytes(line))


_WRONG_VALUES: list[Any] = [12345, "not-a-valid-value", [1, 2], {"nested": True}, True, 1.5]


def _is_acceptable(info: msgspec.inspect.Type, value: Any) -> bool:
    """Whether ``value`` would be a valid value of ``info`` (so it is not a wrong one)."""
    try:
        msgspec.convert(value, _python_type(info), strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _python_type(info: msgspec.inspect.Type) -> Any:
    if isinstance(info, msgspec.inspect.IntType):
        return int
    if isinstance(info, msgspec.inspect.StrType):
        return str
    if isinstance(info, msgspec.inspect.BoolType):
        return bool
    if isinstance(info, msgspec.inspect.NoneType):
        return type(None)
    if isinstance(info, msgspec.inspect.EnumType):
        return info.cls
    if isinstance(info, msgspec.inspect.UnionType):
        members = tuple(_python_type(t) for t in info.types)
        union: Any = members[0]
        for member in members[1:]:
            union = union | member
        return union
    if isinstance(info, msgspec.inspect.VarTupleType):
        return tuple[_python_type(info.item_type), ...]  # type: ignore[misc]
    if isinstance(info, msgspec.inspect.DictType):
        return dict[_python_type(info.key_type), _python_type(info.value_type)]  # type: ignore[misc]
    return Any


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=_tag)
@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_wrong_type_names_the_field_and_the_value(
    cls: type[msgspec.Struct], data: st.DataObject
) -> None:
    message = data.draw(for_struct(cls))
    document = msgspec.json.decode(encode(message))
    for field in struct_fields(cls):
        for wrong in _WRONG_VALUES:
            if _is_acceptable(field.type, wrong):
                continue
            broken = {**document, field.name: wrong}
            outcome = _decode_or_refuse(msgspec.json.encode(broken))
            assert isinstance(outcome, MalformedMessage), (field.name, wrong)
            assert outcome.detail["reason"] == "invalid_field"
            assert field.name in outcome.message
            if outcome.detail["field"] == field.name:
                assert outcome.detail["value"] == msgspec.json.encode(wrong).decode()
            else:  # an element inside the wrong value, e.g. media[0]
                assert outcome.detail["field"].startswith(field.name + "[")
                # msgspec does not say which key of a mapping was wrong, so no value then.
                assert (outcome.detail["value"] is None) == ("[...]" in outcome.detail["field"])


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=_tag)
@settings(max_examples=20)
@given(data=st.data())
def test_a_missing_field_is_named(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    message = data.draw(for_struct(cls))
    document = msgspec.json.decode(encode(message))
    for field in struct_fields(cls):
        if not field.required:
            continue
        broken = {k: v for k, v in document.items() if k != field.name}
        outcome = _decode_or_refuse(msgspec.json.encode(broken))
        assert isinstance(outcome, MalformedMessage)
        assert outcome.detail["field"] == field.name
        assert outcome.detail["value"] is None


def test_missing_type_is_named() -> None:
    outcome = _decode_or_refuse(b'{"tenant":"t","source":"s","seq":1,"id":"e","ts":5,"agent":"a"}')
    assert isinstance(outcome, MalformedMessage)
    assert outcome.detail == {"reason": "invalid_field", "field": "type", "value": None}


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        (
            b'{"type":"agent.login","tenant":"t","source":"s","seq":1,"id":"e","ts":5,"agent":"a","media":["voice","fax"]}',
            "media[1]",
            '"fax"',
        ),
        (b'{"type":"subscribe","tenants":["ok",""]}', "tenants[1]", '""'),
        (
            b'{"type":"agent.capacity","tenant":"t","source":"s","seq":1,"id":"e","ts":5,"agent":"a","media":"chat","capacity":1001}',
            "capacity",
            "1001",
        ),
        (
            b'{"type":"agent.ready","tenant":"t","source":"s","seq":1,"id":"e","ts":253402300800000,"agent":"a"}',
            "ts",
            "253402300800000",
        ),
        (
            b'{"type":"call.queued","tenant":"t","source":"s","seq":1,"id":"e","ts":5,"call":"c","queue":"q","data":{"k":1}}',
            "data[...]",
            None,
        ),
        (b"[1,2]", "message", "[1,2]"),
    ],
)
def test_nested_and_constrained_fields_are_named(
    line: bytes, field: str, value: str | None
) -> None:
    outcome = _decode_or_refuse(line)
    assert isinstance(outcome, MalformedMessage)
    assert (outcome.detail["field"], outcome.detail["value"]) == (field, value)


def test_values_in_errors_are_shortened() -> None:
    long_name = "n" * 300  # over the 256-character limit of a name
    outcome = _decode_or_refuse(b'{"type":"hello","client":"' + long_name.encode() + b'"}')
    assert isinstance(outcome, MalformedMessage)
    assert outcome.detail["field"] == "client"
    assert len(outcome.detail["value"]) <= 80


def test_attached_data_is_limited_to_64_entries() -> None:
    def line(entries: int) -> bytes:
        data = {f"k{i}": "v" for i in range(entries)}
        return msgspec.json.encode(
            {
                "type": "call.data",
                "tenant": "t",
                "source": "s",
                "seq": 1,
                "id": "e",
                "ts": 1,
                "call": "c",
                "data": data,
            }
        )

    assert not isinstance(_decode_or_refuse(line(64)), MalformedMessage)
    outcome = _decode_or_refuse(line(65))
    assert isinstance(outcome, MalformedMessage)
    assert outcome.detail["field"] == "data"


@pytest.mark.parametrize("limit", [1, 100, DEFAULT_MAX_LINE])
def test_over_long_lines_are_refused_unread(limit: int) -> None:
    decoder = Decoder(max_line=limit)
    line = b"{" + b" " * limit + b"}"  # valid JSON, just too long
    with pytest.raises(MalformedMessage) as raised:
        decoder.decode(line)
    assert raised.value.detail == {"reason": "line_too_long", "length": limit + 2, "limit": limit}


# --- unknown event types: forward compatibility ----------------------------------------------

_dotted_unknown = st.from_regex(r"\A[a-z][a-z_]{0,12}\.[a-z_]{1,12}\Z").filter(
    lambda name: name not in EVENT_TYPE_NAMES
)
_envelope = st.fixed_dictionaries(
    {
        "type": _dotted_unknown,
        "tenant": st.text(min_size=1, max_size=20),
        "source": st.text(min_size=1, max_size=20),
        "seq": st.integers(0, 2**63 - 1),
        "id": st.text(min_size=1, max_size=20),
        "ts": st.integers(0, 253_402_300_799_999),
    },
    optional={"v": st.integers(1, 9)},
)


@given(
    envelope=_envelope,
    # Extra fields never named like an envelope field ("v" among them: the envelope may omit it).
    extra=st.dictionaries(
        st.text(max_size=10).filter(
            lambda key: key not in {"v", "type", "tenant", "source", "seq", "id", "ts"}
        ),
        json_values,
        max_size=5,
    ),
    data=st.data(),
)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_unknown_event_types_pass_through_byte_identical(
    envelope: dict[str, Any], extra: dict[str, Any], data: st.DataObject
) -> None:
    document = {**extra, **envelope}
    keys = data.draw(st.permutations(list(document)))
    spacing = data.draw(st.sampled_from([b"", b" ", b"\t"]))
    line = (
        b"{"
        + (b"," + spacing).join(
            msgspec.json.encode(k) + b":" + spacing + msgspec.json.encode(document[k]) for k in keys
        )
        + b"}"
    )
    event = decode(line)
    assert isinstance(event, UnknownEvent)
    assert (event.type, event.tenant, event.source, event.seq, event.id, event.ts) == (
        envelope["type"],
        envelope["tenant"],
        envelope["source"],
        envelope["seq"],
        envelope["id"],
        envelope["ts"],
    )
    assert event.v == envelope.get("v", 1)
    assert event.references() == ()
    assert encode(event) == line + b"\n"


def test_an_unknown_undotted_type_is_malformed() -> None:
    outcome = _decode_or_refuse(
        b'{"type":"gossip","tenant":"t","source":"s","seq":1,"id":"e","ts":5}'
    )
    assert isinstance(outcome, MalformedMessage)
    assert outcome.detail == {"reason": "unknown_type", "field": "type", "value": '"gossip"'}


def test_an_unknown_type_without_envelope_is_malformed() -> None:
    outcome = _decode_or_refuse(b'{"type":"agent.mood","tenant":"t"}')
    assert isinstance(outcome, MalformedMessage)
    assert (outcome.detail["reason"], outcome.detail["field"]) == ("unknown_type", "type")


def test_every_known_type_decodes_to_its_class() -> None:
    for cls in EVENT_TYPES:
        assert _tag(cls) in EVENT_TYPE_NAMES


# --- known core bugs (strict xfail: they start failing when fixed) ---------------------------


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"hello","client":"\xff"}',
        b'{"type":"agent.ready","tenant":"t","source":"s","seq":1,"id":"e","ts":5,"agent":"\xc3"}',
        b'{"type":"agent.mood","tenant":"\xed\xa0\x80","source":"s","seq":1,"id":"e","ts":5}',
    ],
)
def test_invalid_utf8_is_malformed(line: bytes) -> None:
    outcome = _decode_or_refuse(line)
    assert isinstance(outcome, MalformedMessage)
    assert outcome.detail["field"] == "message"


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"hello","client":"x","extra":' + b"[" * 20000 + b"]" * 20000 + b"}",
        b'{"type":"hello","client":5,"extra":' + b"[" * 20000 + b"]" * 20000 + b"}",
        b'{"type":"agent.mood","tenant":"t","source":"s","seq":1,"id":"e","ts":5,"x":'
        + b"[" * 20000
        + b"]" * 20000
        + b"}",
        b"[" * 30000 + b"]" * 30000,
    ],
)
def test_deeply_nested_json_is_malformed(line: bytes) -> None:
    assert len(line) <= DEFAULT_MAX_LINE
    outcome = _decode_or_refuse(line)
    assert isinstance(outcome, MalformedMessage)


def test_bad_json_names_the_message_as_the_field() -> None:
    outcome = _decode_or_refuse(b'{"type":"hello"')
    assert isinstance(outcome, MalformedMessage)
    assert outcome.detail["field"] == "message"


@pytest.mark.parametrize(
    "line",
    [
        # An unknown type's envelope gets the same bounds as a known one's.
        b'{"type":"agent.mood","tenant":"t","source":"s","seq":-1,"id":"e","ts":5}',
        b'{"type":"agent.mood","tenant":"t","source":"s","seq":1,"id":"e","ts":-5}',
        # A duplicated "type" key must not turn a known type into a pass-through "unknown" one.
        b'{"type":"agent.ready","tenant":"t","source":"s","seq":1,"id":"e","ts":5,"agent":"a","type":"call.held"}',
    ],
)
def test_unknown_event_envelopes_are_checked(line: bytes) -> None:
    outcome = _decode_or_refuse(line)
    assert isinstance(outcome, MalformedMessage)
