"""Serving the operations endpoints from a process that has no HTTP server of its own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Generator, Mapping

import uvicorn
from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.core.errors import Unavailable
from wallboard.ops.health import ReadinessCheck, StatusReport, ops_app

START_TIMEOUT_SECONDS = 10.0


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(host: str, port: int, what: str) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn's ``serve(sockets=...)``.

    Bound here rather than in uvicorn, which answers a taken port with sys.exit(): failing
    raises :class:`Unavailable` naming the address and what was to be served there.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Unavailable(
            f"cannot serve {what} on {host}:{port}: {exc.strerror}", host=host, port=port
        ) from None
    return sock


@contextlib.asynccontextmanager
async def serve_ops(
    host: str,
    port: int,
    checks: Mapping[str, ReadinessCheck] | None = None,
    registry: CollectorRegistry = REGISTRY,
    status: StatusReport | None = None,
    role: Callable[[], str] | None = None,
) -> AsyncIterator[int]:
    """Serve ``/healthz``, ``/readyz``, ``/metrics`` (and ``/status`` given ``status``) while the block runs; yields the port
    (useful with port 0). Failing to listen raises :class:`Unavailable` naming the address.
    ``role``: what the process is doing now, shown on ``/readyz``."""
    sock = bind_socket(host, port, "metrics")
    config = uvicorn.Config(
        ops_app(checks, registry, status, role),
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            # uvicorn exposes only a flag for "listening", no event to wait on.
            while not server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        if not server.started:
            task.result()  # re-raise why it stopped
            raise Unavailable(f"metrics server on {host}:{port} did not start")
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
