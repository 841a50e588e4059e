"""Prometheus metrics named one way: ``wallboard_<service>_<noun>_<unit>[_total]``.

Metrics are created on a registry passed in, so a test can use a fresh registry and read exact
counts. Creating the same metric twice on one registry returns the first one instead of failing,
so a component can be constructed several times in one process (tests, the demo).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_UNITS = frozenset({"seconds", "bytes", "events", "messages", "connections", "clients", "ratio"})

_M = TypeVar("_M", Counter, Gauge, Histogram)
_lock = threading.Lock()
# Per registry (weakly, so a test's registry and its metrics go away together): name -> metric.
_made: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Counter | Gauge | Histogram]] = (
    weakref.WeakKeyDictionary()
)


def metric_name(service: str, noun: str, unit: str = "") -> str:
    """Build a metric name, refusing names that break the convention."""
    parts = ["wallboard", service, noun] + ([unit] if unit else [])
    name = "_".join(parts)
    if not _NAME.match(name):
        raise ValueError(f"metric name {name!r} is not lower_snake_case")
    if unit and unit not in _UNITS:
        raise ValueError(f"unit {unit!r} is not a base unit ({', '.join(sorted(_UNITS))})")
    return name


def _make(
    kind: type[_M],
    name: str,
    doc: str,
    labels: Sequence[str],
    registry: CollectorRegistry,
    **kw: object,
) -> _M:
    with _lock:
        made = _made.setdefault(registry, {})
        existing = made.get(name)
        if existing is not None:
            if not isinstance(existing, kind):
                raise ValueError(f"metric {name} already exists as a {type(existing).__name__}")
            return existing
        metric = kind(name, doc, labelnames=tuple(labels), registry=registry, **kw)  # type: ignore[arg-type]
        made[name] = metric
        return metric


def counter(
    service: str,
    noun: str,
    doc: str,
    unit: str = "",
    labels: Sequence[str] = (),
    registry: CollectorRegistry = REGISTRY,
) -> Counter:
    """A counter; prometheus_client appends ``_total`` to the exposed name."""
    return _make(Counter, metric_name(service, noun, unit), doc, labels, registry)


def gauge(
    service: str,
    noun: str,
    doc: str,
    unit: str = "",
    labels: Sequence[str] = (),
    registry: CollectorRegistry = REGISTRY,
) -> Gauge:
    return _make(Gauge, metric_name(service, noun, unit), doc, labels, registry)


def histogram(
    service: str,
    noun: str,
    doc: str,
    unit: str = "seconds",
    labels: Sequence[str] = (),
    registry: CollectorRegistry = REGISTRY,
    buckets: Sequence[float] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
) -> Histogram:
    return _make(
        Histogram, metric_name(service, noun, unit), doc, labels, registry, buckets=tuple(buckets)
    )
