"""Settings: every ``WALLBOARD_*`` environment variable, parsed once into one object.

The object is passed down to whatever needs it; nothing reads the environment elsewhere.
``.env.example`` is generated from the declarations below (``wallboard settings --example``),
and a test keeps the two in sync.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

from wallboard.core.errors import ConfigError

PREFIX = "WALLBOARD_"


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("a port is between 0 and 65535")
    return value


def _whole(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high``: a huge value is refused here, naming the
    variable, rather than failing later deep in a server."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low:,} to {high:,}")
        return value

    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    """A number of seconds above ``low``, at most ``high`` (not infinite, not NaN)."""

    def parse(text: str) -> float:
        value = float(text)
        if not low < value <= high:
            raise ValueError(f"must be a number above {low:g} and at most {high:g}")
        return value

    return parse


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _log_level(text: str) -> str:
    return _choice("debug", "info", "warning", "error")(text).upper()


def _text(text: str) -> str:
    return text.strip()


def _setting(default: Any, parse: Callable[[str], Any], doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"parse": parse, "doc": doc})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """The process configuration; field ``x_y`` is read from ``WALLBOARD_X_Y``."""

    log_format: str = _setting(
        "console",
        _choice("console", "json"),
        "Log output: console (human) or json (one object a line).",
    )
    log_level: str = _setting(
        "INFO", _log_level, "Lowest level logged: debug, info, warning, error."
    )
    database_url: str = _setting(
        "sqlite+aiosqlite:///wallboard.db",
        _text,
        "Metadata database (SQLAlchemy async URL). PostgreSQL in production: postgresql+asyncpg://user@host/db.",
    )
    redis_url: str = _setting(
        "",
        _text,
        "Redis for values, permissions and change streams (redis://host:6379/0). Empty: in-process memory store.",
    )
    redis_prefix: str = _setting(
        "wb", _text, "First part of every Redis key, so several installations can share a Redis."
    )
    metrics_port: int = _setting(
        9091,
        _port,
        "Port of /metrics, /healthz and /readyz for services without their own HTTP port.",
    )
    voice_port: int = _setting(8000, _port, "Port of the voice event source.")
    voice_vq_port: int = _setting(8001, _port, "Port of the voice virtual-queue event source.")
    interactions_port: int = _setting(
        7120, _port, "Port of the interactions (chat, email, work item) source."
    )
    interactions_vq_port: int = _setting(
        7122, _port, "Port of the interaction virtual-queue source."
    )
    wire_max_line: int = _setting(
        65536,
        _whole(1024, 16 * 1024 * 1024),
        "Longest wire message accepted, in bytes; longer lines are refused and counted.",
    )
    heartbeat_seconds: float = _setting(
        10.0,
        _seconds(0, 3600),
        "A wire connection silent this long gets a heartbeat; silent 3 times as long, it is closed.",
    )
    resume_buffer: int = _setting(
        100000,
        _whole(1, 10_000_000),
        "Events a wire server keeps so clients can resume after a reconnect.",
    )
    client_queue: int = _setting(
        10000,
        _whole(1, 1_000_000),
        "Messages queued for one slow wire or WebSocket client before it is dropped.",
    )
    wire_backlog: int = _setting(
        1024,
        _whole(1, 65_535),
        "Connections the kernel holds for a wire server before it accepts them (listen backlog; "
        "capped by net.core.somaxconn).",
    )
    wire_max_clients: int = _setting(
        1000,
        _whole(1, 1_000_000),
        "Clients one wire server serves at once; more are refused with a server_full error. "
        "The open-files limit is raised to match, up to the hard limit (ulimit -Hn).",
    )
    wire_tls_cert: str = _setting(
        "",
        _text,
        "Certificate chain (PEM file) of the wire servers; with WALLBOARD_WIRE_TLS_KEY they speak "
        "TLS only. Empty: plain TCP.",
    )
    wire_tls_key: str = _setting("", _text, "Private key (PEM file) of WALLBOARD_WIRE_TLS_CERT.")
    wire_tokens_file: str = _setting(
        "",
        _text,
        "File of wire client tokens, one `TOKEN TENANT[,TENANT...]` (or `TOKEN *`) a line: a "
        "client must send one in hello and receives only its tenants. Empty: no authentication.",
    )
    wire_origins: str = _setting(
        "",
        _text,
        "Web origins (https://board.example.com, comma-separated; * for any) whose pages may "
        "open the wire WebSocket. Empty: same-origin pages and non-browser clients only.",
    )

    nats_url: str = _setting(
        "nats://127.0.0.1:4222",
        _text,
        "NATS server with JetStream holding the event log between fanouts and collectors.",
    )
    log_prefix: str = _setting(
        "wallboard",
        _text,
        "Subject prefix of the event log (streams are named <PREFIX>_<source>), so several "
        "installations can share a NATS server.",
    )
    log_max_age_hours: float = _setting(
        168.0, _seconds(0, 87_600), "The event log drops records older than this, per stream."
    )
    log_max_bytes: int = _setting(
        1024**3,
        _whole(1, 2**40),
        "The event log drops its oldest records beyond this size, per stream (JetStream reserves it).",
    )
    log_replicas: int = _setting(
        1, _whole(1, 5), "Copies of each event log stream kept by a NATS cluster (1 to 5)."
    )
    collector_replicas: int = _setting(
        1,
        _whole(1, 10_000),
        "Collectors sharing the tenants; each takes the tenants of its ordinal.",
    )
    collector_ordinal: int = _setting(
        0,
        _non_negative_int,
        "This collector's ordinal, 0 to replicas-1 (a StatefulSet pod's index).",
    )
    collector_checkpoint_seconds: float = _setting(
        5.0,
        _seconds(0, 86_400),
        "A tenant's state is checkpointed at least this often while it changes.",
    )
    collector_checkpoint_events: int = _setting(
        50000,
        _whole(1, 100_000_000),
        "A tenant's state is checkpointed at least every this many of its events.",
    )
    collector_flush_ms: int = _setting(
        100, _whole(1, 3_600_000), "Changed values are written to the value store this often."
    )
    collector_clock: str = _setting(
        "wall",
        _choice("wall", "events"),
        "Time values are read at: wall (live) or events (the newest event's, for replays).",
    )
    collector_time_zone: str = _setting(
        "UTC", _text, "IANA time zone of the tenants' days (where 'today' resets at midnight)."
    )
    collector_definitions: str = _setting(
        "", _text, "YAML/JSON statistic definitions to compute; empty: the standard library."
    )
    collector_objects: str = _setting(
        "", _text, "YAML/JSON {tenant: {agent_groups, queue_groups, time_zone…}} configuration."
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the environment; a wrong value raises ConfigError naming the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = PREFIX + field.name.upper()
            raw = env.get(name)
            if raw is None or (raw == "" and field.default != ""):
                continue
            try:
                values[field.name] = field.metadata["parse"](raw)
            except ValueError as exc:
                raise ConfigError(
                    f"{name}={raw!r} is not valid: {exc}", variable=name, value=raw
                ) from None
        known = {PREFIX + f.name.upper() for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in known)
        unknown = [k for k in unknown if not k.startswith(PREFIX + "TEST_")]
        if unknown:
            raise ConfigError(
                f"unknown setting {unknown[0]} (a typo?); see .env.example", variable=unknown[0]
            )
        return cls(**values)


def render_env_example() -> str:
    """The text of ``.env.example``: every variable, its default and its meaning."""
    lines = [
        "# Every setting Wallboard reads, with its default. Generated by `wallboard settings --example`.",
        "# Variables named WALLBOARD_TEST_* are read only by the test suite (see docs/development.md).",
        "",
    ]
    for field in dataclasses.fields(Settings):
        lines.append(f"# {field.metadata['doc']}")
        lines.append(f"{PREFIX}{field.name.upper()}={field.default}")
        lines.append("")
    return "\n".join(lines)
