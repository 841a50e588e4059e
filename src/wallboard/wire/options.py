"""The command-line options of a wire client, shared by every command that connects to a wire
server (``wallboard watch``, ``wallboard serve fanout``): a token, TLS, a CA certificate."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Final

import typer

from wallboard.wire.security import client_tls

TOKEN_VARIABLE: Final = "WIRE_TOKEN"

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=TOKEN_VARIABLE,
        show_default=False,
        help=f"Token for a wire server that asks for one; better given in {TOKEN_VARIABLE}.",
    ),
]
TlsOption = Annotated[bool, typer.Option("--tls", help="Connect to the wire server over TLS.")]
CaOption = Annotated[
    Path | None,
    typer.Option(
        "--ca",
        dir_okay=False,
        help="CA certificate (PEM) the wire server's certificate must chain to; implies --tls. "
        "Default: the system's CAs.",
    ),
]


def tls_context(tls: bool, ca: Path | None) -> ssl.SSLContext | None:
    """The TLS context of ``--tls``/``--ca`` (None: plain TCP); ConfigError naming a bad CA."""
    return client_tls(ca) if tls or ca is not None else None
