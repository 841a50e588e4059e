"""Prometheus metrics of the wire protocol, registered once per registry."""

from __future__ import annotations

import threading
import weakref
from typing import ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge


class WireMetrics:
    """Every wire counter and gauge, on one registry.

    A registry refuses a metric name twice, and one process may run several wire servers and
    clients (the fanout runs both), so they share the instance ``for_registry`` returns.
    ``side`` is ``server`` or ``client``; no label ever holds an agent, call or client id.
    """

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, WireMetrics]] = (
        weakref.WeakKeyDictionary()
    )
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"wallboard_wire_{name}", doc, labels, registry=registry)

        self.malformed_messages = counter(
            "malformed_messages_total",
            "Lines received that could not be decoded, by side and reason.",
            ("side", "reason"),
        )
        self.unknown_events = counter(
            "unknown_events_total",
            "Events of a type this version does not know, passed through unchanged.",
            ("side",),
        )
        self.protocol_errors = counter(
            "protocol_errors_total",
            "Peers that broke the protocol (wrong version, wrong order of messages).",
            ("side",),
        )
        self.resume_gaps = counter(
            "resume_gaps_total",
            "Resumes refused (server) or received (client) because the events were gone.",
            ("side",),
        )
        self.heartbeats_sent = counter(
            "heartbeats_sent_total", "Heartbeats sent after a silence.", ("side",)
        )
        self.dead_peers = counter(
            "dead_peers_total",
            "Connections closed because the peer was silent for three heartbeat intervals.",
            ("side",),
        )
        self.internal_errors = counter(
            "internal_errors_total",
            "Unexpected exceptions caught in a connection loop (bugs; logged with a traceback).",
            ("side",),
        )
        self.clients_dropped = counter(
            "clients_dropped_total",
            "Clients the server disconnected, by reason (slow_consumer, dead_peer, write_timeout).",
            ("reason",),
        )
        self.clients_refused = counter(
            "clients_refused_total",
            "Connections the server refused, by reason (server_full, unauthenticated, forbidden, "
            "origin).",
            ("reason",),
        )
        self.connected_clients = Gauge(
            "wallboard_wire_connected_clients",
            "Clients connected to a wire server right now.",
            registry=registry,
        )
        self.events_published = counter(
            "events_published_total", "Events handed to a wire server by its source."
        )
        self.events_rejected = counter(
            "events_rejected_total",
            "Events a wire server refused to publish (stale sequence number, wrong source).",
            ("reason",),
        )
        self.events_sent = counter(
            "events_sent_total", "Event messages written to clients (one per event per client)."
        )
        self.events_received = counter(
            "events_received_total", "Events a wire client delivered to its consumer."
        )
        self.duplicate_events = counter(
            "duplicate_events_total", "Events a wire client dropped as already seen (by seq)."
        )
        self.sequence_gaps = counter(
            "sequence_gaps_total", "Jumps in the sequence numbers of an unfiltered subscription."
        )
        self.reconnects = counter(
            "reconnects_total", "Connection attempts a wire client made after the first."
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> WireMetrics:
        """The metrics on ``registry`` (the global one by default), created on first use."""
        target = REGISTRY if registry is None else registry
        with cls._lock:
            metrics = cls._by_registry.get(target)
            if metrics is None:
                metrics = cls(target)
                cls._by_registry[target] = metrics
            return metrics
