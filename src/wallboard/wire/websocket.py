"""The wire protocol over WebSocket: one message per text frame, the same session as TCP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket

from wallboard.wire.server import WireServer
from wallboard.wire.transport import WebSocketTransport


def websocket_endpoint(server: WireServer) -> Callable[[WebSocket], Awaitable[None]]:
    """A handler serving ``server``'s stream to one WebSocket client.

    Mount it with ``app.add_api_websocket_route("/wire", websocket_endpoint(server))`` on
    FastAPI, or as a Starlette ``WebSocketRoute``. The handler must run on the event loop that
    calls :meth:`WireServer.publish`.
    """

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        transport = WebSocketTransport(
            websocket,
            max_line=server.settings.wire_max_line,
            write_timeout=server.write_timeout,
        )
        await server.serve(transport)

    return endpoint
