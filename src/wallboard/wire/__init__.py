"""The wire protocol's async I/O: a server that fans one source's events out, and a client.

``docs/protocol.md`` is the specification; the message types and the codec live in
``wallboard.core`` so that everything speaking the protocol shares them.
"""

from __future__ import annotations

from wallboard.wire.client import WireClient
from wallboard.wire.errors import SlowConsumer
from wallboard.wire.metrics import WireMetrics
from wallboard.wire.server import WireServer
from wallboard.wire.subscription import SubscriptionFilter
from wallboard.wire.transport import TcpTransport, Transport, WebSocketTransport
from wallboard.wire.websocket import websocket_endpoint

__all__ = [
    "SlowConsumer",
    "SubscriptionFilter",
    "TcpTransport",
    "Transport",
    "WebSocketTransport",
    "WireClient",
    "WireMetrics",
    "WireServer",
    "websocket_endpoint",
]
