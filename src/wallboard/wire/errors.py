"""Errors the wire layer sends that have no place in ``wallboard.core.errors`` yet."""

from __future__ import annotations

from wallboard.core.errors import Unavailable


class SlowConsumer(Unavailable):
    """The client did not read fast enough and its bounded send queue filled: it is dropped.

    The client should reconnect and resume from the last sequence number it saw; nothing is
    lost while the server still holds the events it missed.
    """

    code = "slow_consumer"


class DeadPeer(Unavailable):
    """The client sent nothing (not even a heartbeat) for three heartbeat intervals: closed."""

    code = "dead_peer"


class ServerFull(Unavailable):
    """The server already serves its maximum number of clients: try again later (or another)."""

    code = "server_full"


class Disconnected(Unavailable):
    """Client side: the connection ended. ``detail`` holds the server's ``code`` when it said
    why (a fatal ``error``), nothing when it just closed or could not be reached."""

    code = "disconnected"
