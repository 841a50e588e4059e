"""Fixtures of the fanout tests: processes killed at the end, a stream prefix of the test's own,
a NATS server of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fanout_helpers import NatsServer, Processes, Site


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


async def _site(nats_url: str, processes: Processes) -> AsyncIterator[Site]:
    site = Site(nats_url, processes)
    yield site
    processes.stop_all()
    # A test that failed with its own NATS stopped must not hang here (connecting waits); its
    # streams are in the test's temporary directory then.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            log = await site.log()
            try:
                await log.delete_streams()
            finally:
                await log.close()


@pytest.fixture
async def site(nats_url: str, processes: Processes) -> AsyncIterator[Site]:
    """On the shared NATS server."""
    async for made in _site(nats_url, processes):
        yield made


@pytest.fixture
async def own_site(own_nats: NatsServer, processes: Processes) -> AsyncIterator[Site]:
    """On a NATS server of the test's own (``own_nats``), which it may stop and restart."""
    async for made in _site(own_nats.url, processes):
        yield made


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
