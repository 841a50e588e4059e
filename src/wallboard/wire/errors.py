"""Errors the wire layer sends that have no place in ``wallboard.core.errors`` yet."""

from __future__ import annotations

from wallboard.core.errors import Unavailable


class SlowConsumer(Unavailable):
    """The client did not read fast enough and its bounded send queue filled: it is dropped.

    The client should reconnect and resume from the last sequence number it saw; nothing is
    lost while the server still holds the events it missed.
    """

    code = "slow_consumer"
