"""Who may connect to a wire server and what they see: TLS, tokens bound to tenants, origins.

The settings name the files (``WALLBOARD_WIRE_TLS_CERT``/``_KEY``, ``WALLBOARD_WIRE_TOKENS_FILE``)
and the web origins allowed (``WALLBOARD_WIRE_ORIGINS``); a wrong file stops start-up with a
:class:`~wallboard.core.errors.ConfigError` naming it. See "Security" in ``docs/operations.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import ssl
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from wallboard.core.errors import ConfigError
from wallboard.settings import Settings

ALL_TENANTS: Final = "*"
HASHED_PREFIX: Final = "sha256:"
"""A token in the tokens file may be written as ``sha256:<hex digest>`` so the file holds no
secret; clients still send the token itself."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """What one token allows: the tenants it reads (``None``: every tenant)."""

    name: str
    tenants: frozenset[str] | None


class TokenTable:
    """The tokens a wire server accepts, each bound to the tenants it may read.

    Tokens are kept and looked up by their SHA-256 digest: the lookup time says nothing about
    how much of a guessed token was right, and a memory dump holds no token.
    """

    def __init__(self, grants: dict[bytes, Grant]) -> None:
        self._grants = grants

    @classmethod
    def load(cls, path: Path) -> TokenTable:
        """Read ``TOKEN TENANT[,TENANT...]`` or ``TOKEN *`` lines (``#`` starts a comment)."""
        where = f"wire tokens file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"cannot read the {where}: {reason}", path=str(path)) from None
        grants: dict[bytes, Grant] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ConfigError(
                    f"{where}, line {number}: expected `TOKEN TENANT[,TENANT...]` or `TOKEN *`",
                    path=str(path),
                    line=number,
                )
            token, tenant_list = parts
            if token.startswith(HASHED_PREFIX):
                try:
                    digest = bytes.fromhex(token.removeprefix(HASHED_PREFIX))
                except ValueError:
                    digest = b""
                if len(digest) != hashlib.sha256().digest_size:
                    raise ConfigError(
                        f"{where}, line {number}: a sha256: token is 64 hexadecimal digits",
                        path=str(path),
                        line=number,
                    )
            else:
                digest = _digest(token)
            if digest in grants:
                raise ConfigError(
                    f"{where}, line {number}: the same token is listed twice",
                    path=str(path),
                    line=number,
                )
            tenants = [t for t in tenant_list.split(",") if t]
            if not tenants:
                raise ConfigError(f"{where}, line {number}: no tenant", path=str(path), line=number)
            grants[digest] = Grant(
                name=f"line {number}",
                tenants=None if ALL_TENANTS in tenants else frozenset(tenants),
            )
        if not grants:
            raise ConfigError(f"the {where} lists no token", path=str(path))
        return cls(grants)

    def check(self, token: str | None) -> Grant | None:
        """The grant of ``token``; ``None`` when it is missing or unknown."""
        if token is None:
            return None
        return self._grants.get(_digest(token))


def load_tokens(settings: Settings) -> TokenTable | None:
    """The tokens of ``WALLBOARD_WIRE_TOKENS_FILE``; ``None`` when authentication is off."""
    if not settings.wire_tokens_file:
        return None
    return TokenTable.load(Path(settings.wire_tokens_file))


def server_tls(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of ``WALLBOARD_WIRE_TLS_CERT``/``_KEY``; ``None`` when TLS is off."""
    cert, key = settings.wire_tls_cert, settings.wire_tls_key
    if not cert and not key:
        return None
    if not cert or not key:
        missing = "WALLBOARD_WIRE_TLS_KEY" if cert else "WALLBOARD_WIRE_TLS_CERT"
        raise ConfigError(f"TLS needs both a certificate and a key: {missing} is empty")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot load the wire TLS certificate {cert} and key {key}: {reason}",
            cert=cert,
            key=key,
        ) from None
    return context


def client_tls(ca_file: Path | None = None) -> ssl.SSLContext:
    """A client TLS context checking the server against ``ca_file`` (else the system's CAs)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"cannot load the CA file {ca_file}: {reason}", path=str(ca_file)
            ) from None
    return context


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name (or "" for every address): it may resolve beyond loopback


def parse_origins(text: str) -> frozenset[str] | None:
    """``WALLBOARD_WIRE_ORIGINS`` as normalised origins; ``None`` when ``*`` allows any."""
    origins = {o.strip().rstrip("/").lower() for o in text.split(",") if o.strip()}
    return None if ALL_TENANTS in origins else frozenset(origins)


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str] | None) -> bool:
    """Whether a WebSocket opened from a page of ``origin`` may connect.

    No ``Origin`` header: not a browser, nothing to check (the token does the work). A page
    of the server's own host is allowed; any other origin must be listed.
    """
    if origin is None or allowed is None:
        return True
    normal = origin.strip().rstrip("/").lower()
    if normal in allowed:
        return True
    return host is not None and urlsplit(normal).netloc == host.strip().lower()
