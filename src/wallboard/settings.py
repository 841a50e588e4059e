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

from wallboard.core.errors import ConfigError, InvalidInput

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


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError("must be true or false")
    return value in ("true", "1", "yes")


def _log_level(text: str) -> str:
    return _choice("debug", "info", "warning", "error")(text).upper()


def _text(text: str) -> str:
    return text.strip()


def _redis_url(text: str) -> str:
    """Empty, or a URL the Redis store can use: a wrong one stops start-up here, by name."""
    url = text.strip()
    if url:
        from wallboard.store.redis import check_redis_url  # redis-py only where Redis is used

        try:
            check_redis_url(url)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
    return url


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
        _redis_url,
        "Redis for values, permissions and change streams (redis://host:6379/0; a Redis Cluster: redis+cluster://host1:7000,host2:7000). Empty: in-process memory store.",
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
        "",
        _text,
        "YAML/JSON {tenant: {agent_groups, queue_groups, time_zone…}} configuration; the web "
        "tier reads it too (group widgets, object search). database: follow the configuration "
        "objects of WALLBOARD_DATABASE_URL live (docs/configuration.md); a tenant with none "
        "there keeps this file's.",
    )
    collector_lateness_ms: int = _setting(
        0,
        _whole(0, 3_600_000),
        "How late an event may come and still count: set it to the clock skew between the "
        "sources of one tenant (later events count as too_late); values wait that long.",
    )
    collector_in_use: str = _setting(
        "",
        _text,
        "YAML file of the statistics in use (always-on and layouts), followed as it changes; "
        "'database': the widgets of the metadata database; empty: every definition on every "
        "object.",
    )
    collector_history_minutes: int = _setting(
        15,
        _whole(0, 1440),
        "Length of the interval-history buckets for trend charts; 0 keeps no history.",
    )
    history_retention_hours: int = _setting(
        192, _whole(1, 24 * 400), "Interval history kept per series in the value store."
    )
    collector_standby: bool = _setting(
        False,
        _flag,
        "true: a standby collector, holding no ordinal, that takes over the ordinal of a failed "
        "collector (WALLBOARD_COLLECTOR_ORDINAL is then ignored; needs WALLBOARD_REDIS_URL).",
    )
    collector_lease_seconds: float = _setting(
        10.0,
        _seconds(0.25, 3600),
        "A collector holds its ordinal under a lease in Redis of this length, renewed every "
        "quarter of it; a failed collector's ordinal is free for a standby after this long.",
    )
    fanout_port: int = _setting(
        9000,
        _port,
        "Wire port a fanout serves its source's events on (one fanout per source: give each "
        "its own, or --port).",
    )
    fanout_batch: int = _setting(
        1000,
        _whole(1, 100_000),
        "Events a fanout writes to the event log in one batch at most.",
    )
    fanout_pending: int = _setting(
        100000,
        _whole(1, 10_000_000),
        "Events a fanout holds while the event log is slow or away before it pauses reading "
        "its upstream (at least WALLBOARD_FANOUT_BATCH).",
    )
    fanout_retry_max_seconds: float = _setting(
        5.0,
        _seconds(0, 3600),
        "Longest wait of a fanout between two attempts to reach its upstream or the event log.",
    )

    web_host: str = _setting(
        "127.0.0.1", _text, "Address `wallboard serve web` listens on (0.0.0.0: every interface)."
    )
    web_port: int = _setting(8080, _port, "Port of the web tier: REST API under /api/v1.")
    web_metrics_port: int = _setting(
        8090, _port, "Port of the web tier's /metrics, /healthz and /readyz."
    )
    web_max_body_bytes: int = _setting(
        1024 * 1024,
        _whole(1024, 64 * 1024 * 1024),
        "Largest request body the REST API accepts, in bytes; larger ones get 413.",
    )

    config_host: str = _setting(
        "127.0.0.1",
        _text,
        "Address `wallboard serve config` listens on (0.0.0.0: every interface).",
    )
    config_port: int = _setting(
        8888, _port, "Port of the configuration service: /api/v1/config (docs/configuration.md)."
    )
    config_metrics_port: int = _setting(
        8898, _port, "Port of the configuration service's /metrics, /healthz and /readyz."
    )
    web_policy: str = _setting(
        "secured",
        _choice("secured", "allow-all"),
        "Who may do what in the web tier: secured (users log in; roles, tenants and permissions "
        "enforced, docs/security.md) or allow-all (no login, everything open: tests only).",
    )
    auth_session_idle_minutes: int = _setting(
        30,
        _whole(1, 7 * 24 * 60),
        "A browser session of a user whose session expires (every role but wall-display) ends "
        "after this long without a request.",
    )
    auth_session_max_hours: int = _setting(
        12,
        _whole(1, 24 * 365),
        "A browser session of a user whose session expires ends this long after the login, "
        "however active.",
    )
    auth_token_days: int = _setting(
        90,
        _whole(1, 3650),
        "Longest life of an API token (a token asks for its own, up to this; the default too).",
    )
    auth_login_failures: int = _setting(
        5,
        _whole(1, 1000),
        "Failed logins of one username or one client address before further attempts wait "
        "(1 s, then doubling with each failure, up to WALLBOARD_AUTH_LOCKOUT_MAX_SECONDS).",
    )
    auth_lockout_max_seconds: int = _setting(
        900, _whole(1, 86_400), "Longest wait imposed on a throttled login."
    )
    oidc_issuer: str = _setting(
        "",
        _text,
        "OpenID Connect issuer URL (its /.well-known/openid-configuration is read); empty: no "
        "OpenID Connect login.",
    )
    oidc_client_id: str = _setting("", _text, "OpenID Connect client id of Wallboard.")
    oidc_client_secret: str = _setting("", _text, "OpenID Connect client secret of Wallboard.")
    oidc_username_claim: str = _setting(
        "preferred_username",
        _text,
        "The claim naming the local user an OpenID Connect login becomes (the user must exist).",
    )
    oidc_redirect_url: str = _setting(
        "",
        _text,
        "The callback URL registered at the provider (https://board.example.com/api/v1/auth/"
        "oidc/callback); empty: derived from the request.",
    )
    oidc_scopes: str = _setting(
        "openid profile email", _text, "Scopes asked of the OpenID Connect provider."
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
