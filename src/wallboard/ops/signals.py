"""Stopping a served process gracefully: SIGTERM and SIGINT cancel its main task.

A cancellation must never be lost on its way. asyncio forwards ``task.cancel()`` to whatever
the task awaits: a task awaiting another task cancels *that* one, and if that one swallows its
CancelledError (``with suppress(CancelledError): await child`` in a ``finally``, say) and goes
on, the cancel is gone and the process keeps running after SIGTERM. :func:`cancel_and_wait`
is the way to stop a child task without that hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any


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


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel ``tasks`` and wait until every one has ended. Their ends (CancelledError, or
    whatever else they raised while stopping) are not raised: the caller is stopping them. The
    caller's own cancellation is: if it is cancelled meanwhile (SIGTERM while it stops a
    child), CancelledError is raised once they have all ended, even when the cancel reached
    only a child that swallowed it."""
    current = asyncio.current_task()
    before = current.cancelling() if current is not None else 0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if current is not None and current.cancelling() > before:
        raise asyncio.CancelledError
