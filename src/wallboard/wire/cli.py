"""``wallboard watch HOST:PORT``: subscribe to a wire server and print its events as they come.

Events go to standard output, one a line: readable by default, the wire's own JSON with
``--json``. What is not an event goes to standard error (the log): the subscription, and, when
the connection ends, why (the server's error code and message). Heartbeats keep the connection
alive both ways; a connection that ends is not retried: this is a tool to look, not a consumer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from typing import Annotated, Final

import msgspec
import typer

from wallboard.core.codec import encode
from wallboard.core.errors import ConfigError, WallboardError
from wallboard.core.events import AnyEvent, UnknownEvent
from wallboard.ops.logging import configure_logging
from wallboard.ops.signals import cancel_on_signals
from wallboard.settings import Settings
from wallboard.wire.client import WireClient
from wallboard.wire.options import CaOption, TlsOption, TokenOption, tls_context

EXIT_BAD_INPUT: Final = 2
EXIT_CLOSED: Final = 1

ENVELOPE: Final = frozenset({"type", "v", "tenant", "source", "seq", "id", "ts"})


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8000`` for IPv6) as a host and a port; ValueError naming why."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, as [::1]:8000")
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port is a number from 1 to 65535")
    return host, int(port_text)


def _when(ts: int) -> str:
    moment = dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts % 1000:03d}Z"


def _value(value: object) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() or c == "=" for c in value) else repr(value)
    return msgspec.json.encode(value).decode()


def format_event(event: AnyEvent) -> str:
    """One readable line: time (UTC), tenant, source#seq, type, then the type's own fields."""
    if isinstance(event, UnknownEvent):
        fields: dict[str, object] = msgspec.json.decode(event.raw)
    else:
        fields = msgspec.to_builtins(event)
    rest = " ".join(
        f"{key}={_value(value)}" for key, value in fields.items() if key not in ENVELOPE
    )
    head = f"{_when(event.ts)} {event.tenant} {event.source}#{event.seq} {event.type}"
    return f"{head} {rest}" if rest else head


async def _watch(client: WireClient, as_json: bool) -> None:
    async with client:
        async for event in client:
            line = encode(event).decode() if as_json else format_event(event) + "\n"
            sys.stdout.write(line)
            sys.stdout.flush()


def watch(
    address: Annotated[str, typer.Argument(help="The wire server, as HOST:PORT.")],
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="Only this tenant's events (repeat for more)."),
    ] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Only events whose type starts with this (agent., call.queued); repeat for more.",
        ),
    ] = None,
    obj: Annotated[
        list[str] | None,
        typer.Option("--object", help="Only events naming this agent, queue, call… id."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each event as the wire's JSON line.")
    ] = False,
    resume_from: Annotated[
        int | None,
        typer.Option(
            "--resume-from", min=0, help="Start after this sequence number (replayed if held)."
        ),
    ] = None,
    token: TokenOption = None,
    tls: TlsOption = False,
    ca: CaOption = None,
) -> None:
    """Print a wire server's live events (with heartbeats); say why when the connection ends."""
    try:
        settings = Settings.from_env()
        host, port = parse_address(address)
        context = tls_context(tls, ca)
    except (ConfigError, ValueError) as error:
        message = error.message if isinstance(error, ConfigError) else str(error)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    configure_logging(settings)
    client = WireClient(
        host,
        port,
        client="wallboard-watch",
        tenants=tenant or None,
        objects=obj or None,
        types=event_type or None,
        resume_from=resume_from,
        settings=settings,
        token=token,
        tls=context,
        reconnect=False,
    )

    async def main() -> None:
        cancel_on_signals()
        await _watch(client, as_json)

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return
    except BrokenPipeError:
        # The reader of standard output went away (`| head`): nothing left to do.
        sys.stderr.close()
        return
    except WallboardError as error:
        typer.echo(f"error: {_ended(error)}", err=True)
        raise typer.Exit(EXIT_CLOSED) from None


def _ended(error: WallboardError) -> str:
    if error.code == "disconnected":
        return error.message
    return f"the server refused: {error.code}: {error.message}"
