"""What the tests' Asterisk managers share: reading the next action a client sends."""

from __future__ import annotations

import asyncio

from wallboard.adapters.asterisk_ami import AmiMessage, AmiParser


async def next_action(
    reader: asyncio.StreamReader, parser: AmiParser, seen: list[str]
) -> AmiMessage:
    """The next action the client sends (its name noted in ``seen``); ConnectionError when the
    client hangs up first."""
    while True:
        data = await reader.read(4096)
        if not data:
            raise ConnectionError("hung up")
        for message in parser.feed(data):
            seen.append(message.name)
            return message
