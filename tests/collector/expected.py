"""What the collector must write: an uninterrupted offline replay of the same events, each
tenant read at its newest event, in the form the value store keeps."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from wallboard.collector.tenant import since_statistics, store_value
from wallboard.core.codec import decode_event
from wallboard.core.events import Event
from wallboard.eventlog.interface import StreamName
from wallboard.stats import standard_library
from wallboard.stats.replay import replay

RANK = {stream.value: i for i, stream in enumerate(StreamName)}


def ordered_events(lines: Sequence[bytes]) -> list[Event]:
    """The events as the collector merges the streams: by time, same-instant records in stream
    order."""
    events = [e for e in map(decode_event, lines) if isinstance(e, Event)]
    events.sort(key=lambda e: (e.ts, RANK[e.source], e.seq))
    return events


def expected_values(lines: Sequence[bytes]) -> dict[str, object]:
    """As :func:`wallboard.collector.service.read_all_values` reads the store: plain data."""
    definitions = standard_library()
    since = since_statistics(definitions)
    events = ordered_events(lines)
    out: dict[str, object] = {}
    for tenant in sorted({e.tenant for e in events}):
        mine = [e for e in events if e.tenant == tenant]
        at = max(e.ts for e in mine)
        result, _ = replay(mine, definitions, at_ms=at)
        out[tenant] = {
            object_type: {
                object_id: {
                    k: store_value(v, since_at=at if k in since else None)
                    for k, v in values.items()
                    if v is not None
                }
                for object_id, values in by_id.items()
            }
            for object_type, by_id in result[tenant].items()
        }
    return msgspec.to_builtins(out)  # type: ignore[no-any-return]  # as read_all_values
