"""The wire protocol over WebSocket: one message per text frame, the same session as TCP."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.websockets import WebSocket

from wallboard.settings import Settings
from wallboard.wire.security import origin_allowed, parse_origins
from wallboard.wire.server import WireServer
from wallboard.wire.transport import WebSocketTransport

logger = logging.getLogger(__name__)

WS_MAX_QUEUE = 4
"""Frames the ASGI server holds for a client before it stops reading its socket: with the
frame size limit, what one client can make the server hold."""

POLICY_VIOLATION = 1008
"""The WebSocket close code (RFC 6455) of a refusal before the connection is accepted."""


def websocket_endpoint(server: WireServer) -> Callable[[WebSocket], Awaitable[None]]:
    """A handler serving ``server``'s stream to one WebSocket client.

    Mount it with ``app.add_api_websocket_route("/wire", websocket_endpoint(server))`` on
    FastAPI, or as a Starlette ``WebSocketRoute``, and serve the app with the
    :func:`websocket_config` settings, which make the ASGI server refuse a frame longer than
    ``WALLBOARD_WIRE_MAX_LINE`` before reading it. The handler must run on the event loop that
    calls :meth:`WireServer.publish`.

    A page of an origin not in ``WALLBOARD_WIRE_ORIGINS`` (nor of the server's own host) is
    refused before the connection is accepted (HTTP 403), so a page elsewhere cannot read the
    stream with the browser's credentials.
    """
    allowed = parse_origins(server.settings.wire_origins)

    async def endpoint(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        if not origin_allowed(origin, websocket.headers.get("host"), allowed):
            server.refuse_origin(origin or "")
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        transport = WebSocketTransport(
            websocket,
            max_line=server.settings.wire_max_line,
            write_timeout=server.write_timeout,
        )
        await server.serve(transport)

    return endpoint


def websocket_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """A uvicorn configuration serving ``app`` with the wire limits and TLS of ``settings``.

    The ASGI server, not the endpoint, reads frames: only its limit stops a 10 MiB frame
    before it is in memory. A longer frame closes the connection with code 1009 (message too
    big). ``options`` go to ``uvicorn.Config`` as they are.
    """
    if settings.wire_tls_cert and settings.wire_tls_key:
        options.setdefault("ssl_certfile", settings.wire_tls_cert)
        options.setdefault("ssl_keyfile", settings.wire_tls_key)
    # A trailing newline is tolerated in a frame, hence the one byte more.
    return uvicorn.Config(
        app, ws_max_size=settings.wire_max_line + 1, ws_max_queue=WS_MAX_QUEUE, **options
    )
