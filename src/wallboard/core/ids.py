"""Identifier types shared by every part of Wallboard."""

from __future__ import annotations

from typing import NewType

TenantId = NewType("TenantId", str)
SourceId = NewType("SourceId", str)
EventId = NewType("EventId", str)
AgentId = NewType("AgentId", str)
DnId = NewType("DnId", str)
QueueId = NewType("QueueId", str)
VirtualQueueId = NewType("VirtualQueueId", str)
CallId = NewType("CallId", str)
InteractionId = NewType("InteractionId", str)

__all__ = [
    "AgentId",
    "CallId",
    "DnId",
    "EventId",
    "InteractionId",
    "QueueId",
    "SourceId",
    "TenantId",
    "VirtualQueueId",
]
