"""The event log between sources and collectors: in memory (embedded) or NATS JetStream."""

from wallboard.eventlog.interface import EventLog, LogRecord, Published, StreamName
from wallboard.eventlog.memory import MemoryEventLog

__all__ = ["EventLog", "LogRecord", "MemoryEventLog", "Published", "StreamName"]
