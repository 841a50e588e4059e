"""docs/protocol.md cannot drift: each JSON example decodes, and every type has one."""

from __future__ import annotations

import re
from pathlib import Path

from wallboard.core.codec import Message, decode
from wallboard.core.events import EVENT_TYPES, Event, UnknownEvent
from wallboard.core.protocol import CONTROL_TYPES, Control

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _examples() -> list[tuple[int, str, Message]]:
    """(line number, text, decoded message) of every line of every json block."""
    text = DOC.read_text(encoding="utf-8")
    examples = []
    for block in JSON_BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, line in enumerate(block.group(1).splitlines()):
            if line.strip():
                # A failure names the line of the document; decode raises MalformedMessage.
                try:
                    message = decode(line.encode())
                except Exception as error:
                    raise AssertionError(f"{DOC.name}:{first_line + offset}: {error}") from error
                examples.append((first_line + offset, line, message))
    return examples


def _tag(message: Message) -> str:
    if isinstance(message, Event | UnknownEvent):
        return message.type
    return str(message.__struct_config__.tag)


def test_every_json_example_decodes() -> None:
    examples = _examples()
    assert len(examples) > 40


def test_every_event_and_control_type_has_an_example() -> None:
    shown = {_tag(message) for _, _, message in _examples()}
    wanted = {str(cls.__struct_config__.tag) for cls in (*EVENT_TYPES, *CONTROL_TYPES)}
    assert wanted - shown == set()


def test_the_forward_compatibility_example_is_an_unknown_event() -> None:
    unknown = [message for _, _, message in _examples() if isinstance(message, UnknownEvent)]
    assert unknown, "the document shows an unknown event type passing through"


def test_examples_are_compact_with_the_type_first() -> None:
    """Examples look like what the encoder writes, so people can grep logs for them."""
    for number, line, message in _examples():
        assert line.startswith('{"type":'), f"{DOC.name}:{number}"
        assert ", " not in line.split('"message":')[0], f"{DOC.name}:{number}: not compact"
        assert isinstance(message, Event | UnknownEvent | Control)
