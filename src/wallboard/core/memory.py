"""Pausing Python's cyclic garbage collector around bulk work.

Building or decoding millions of objects that form no cycles (a simulation's events, an
engine's statistics restored from a snapshot) triggers a collection every few hundred
allocations, each walking the growing heap: a third of the time or more. Such work runs with
the collector paused.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (if it was running); restart it after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
