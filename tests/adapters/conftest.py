"""Fixtures for the adapter tests: no test may leave a task running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves a task running (sockets left open fail as ResourceWarning)."""
    yield
    await asyncio.sleep(0)
    me = asyncio.current_task()
    leftover = [task for task in asyncio.all_tasks() if task is not me and not task.done()]
    for task in leftover:
        task.cancel()
    assert not leftover, f"tasks left running: {leftover}"
