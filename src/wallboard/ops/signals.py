"""Stopping a served process gracefully: SIGTERM and SIGINT cancel its main task."""

from __future__ import annotations

import asyncio
import contextlib
import signal


def cancel_on_signals() -> None:
    """Make SIGTERM and SIGINT cancel the running task (the process's ``main``), so its
    ``async with`` blocks close what they opened; no-op where the loop cannot add handlers."""
    task = asyncio.current_task()
    if task is None:
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
