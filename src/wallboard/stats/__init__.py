"""The statistics engine: pure, synchronous, deterministic — no I/O, no logging.

Public surface: :class:`StatisticsEngine` (apply events, open/close statistics, read values,
snapshot/restore), definitions as data (:func:`decode_definitions`,
:func:`load_definitions_text`), the :func:`standard_library` and the offline :func:`replay`.
"""

import warnings

from wallboard.stats import compiled
from wallboard.stats.definitions import (
    DefinitionSet,
    StatisticDefinition,
    decode_definitions,
    load_definitions_text,
)
from wallboard.stats.engine import AgentStatusValue, Reading, StatisticsEngine, Value
from wallboard.stats.library import standard_library
from wallboard.stats.replay import replay
from wallboard.stats.state import GroupConfig, ObjectConfig, QueueConfig, QueueGroupConfig

if _stale := compiled.stale():
    warnings.warn(
        f"compiled wallboard.stats modules older than their source: {', '.join(_stale)}; "
        "they run the old code until rebuilt with `make compile`",
        RuntimeWarning,
        stacklevel=2,
    )

__all__ = [
    "AgentStatusValue",
    "DefinitionSet",
    "GroupConfig",
    "ObjectConfig",
    "QueueConfig",
    "QueueGroupConfig",
    "Reading",
    "StatisticDefinition",
    "StatisticsEngine",
    "Value",
    "decode_definitions",
    "load_definitions_text",
    "replay",
    "standard_library",
]
