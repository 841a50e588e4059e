"""The value types every store speaks: statistic values, changes, batches, snapshots, intervals.

A statistic value is keyed by (tenant, object type, object id, statistic id) and is JSON:
``None``, ``bool``, ``int``, ``float``, ``str``, lists and string-keyed dicts of those, or
:class:`Since` — the start of a duration that grows with the clock (time in state, longest
wait), which the browser ticks locally. On the wire and in storage a ``Since`` is the object
``{"since": <UTC ms>}``; a dict of exactly that shape is therefore always read back as ``Since``.

A :class:`Change` whose value is ``None`` removes the statistic value: to readers, absent and
``null`` are the same, so a snapshot never holds ``None`` at its leaves.

Both stores normalise every value through its JSON encoding before keeping it (tuples become
lists, a ``Since`` stays a ``Since``), so the in-memory and the Redis store answer alike.

Names are checked here once, for every store: tenant ids, object types, statistic ids and
checkpoint names become parts of Redis keys (see ``store/redis.py``), so they must not carry
the characters that delimit keys or Redis Cluster hash tags.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeAlias

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.ids import TenantId


class Since(msgspec.Struct, frozen=True, rename={"since_ms": "since"}):
    """A duration that grows with the clock, sent as its start (UTC ms); encodes as ``{"since": ms}``."""

    since_ms: int


Value: TypeAlias = "bool | int | float | str | Since | list[Value] | dict[str, Value] | None"
"""A statistic value: JSON, or :class:`Since`. ``None`` in a change means "remove"."""

ObjectValues: TypeAlias = dict[str, Value]
"""One object's values: statistic id → value."""

TenantValues: TypeAlias = dict[str, dict[str, ObjectValues]]
"""All values of a tenant: object type → object id → statistic id → value."""


class Change(msgspec.Struct, frozen=True, array_like=True):
    """Set one statistic value of one object; ``value=None`` removes it.

    Array-like so a batch of thousands of changes stays compact in the change stream.
    """

    object_type: str
    object_id: str
    statistic: str
    value: Value = None


class ChangeBatch(msgspec.Struct, frozen=True):
    """The changes applied together under one version.

    ``version`` is the tenant's version after this batch; versions of one tenant are gapless.
    ``written_ms`` is the store's clock when the batch was applied, so readers can measure how
    fresh what they show is.
    """

    version: int
    written_ms: int
    changes: tuple[Change, ...]


class Snapshot(msgspec.Struct, frozen=True):
    """All values of a tenant and the version they are at least as new as.

    Applying every batch after ``version`` (from ``changes_since``) to ``values`` in order gives
    the current values. A snapshot may already contain some effects of later batches (the Redis
    store does not freeze the tenant while reading); replaying them is harmless because a change
    sets or removes a value outright, so the last change of each key wins either way.
    """

    version: int
    values: TenantValues


class IntervalValue(msgspec.Struct, frozen=True):
    """The value of one statistic of one object over the interval starting at ``start_ms``.

    ``value=None`` removes the interval's value.
    """

    statistic: str
    object_type: str
    object_id: str
    start_ms: int
    value: Value


class Checkpoint(msgspec.Struct, frozen=True):
    """An opaque blob to keep under a name (engine state, last applied source sequences)."""

    name: str
    blob: bytes


class StoredCheckpoint(msgspec.Struct, frozen=True):
    """A checkpoint as read back: its blob and the tenant version it was written at.

    A checkpoint written together with a batch carries that batch's version: the values in the
    store are exactly those the checkpointed state produced, up to that version.
    """

    blob: bytes
    version: int


# --- names -----------------------------------------------------------------------------------

MAX_TENANT_LENGTH: Final = 64
MAX_NAME_LENGTH: Final = 128
MAX_OBJECT_ID_LENGTH: Final = 256

_TENANT = re.compile(r"[^\s{}:*?\[\]\\]+")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def check_tenant_id(tenant: str) -> TenantId:
    """Return ``tenant`` if it can scope store keys, else raise InvalidInput naming the problem.

    A tenant id becomes the Redis Cluster hash tag ``{tenant}``: braces would move the tag,
    ``:`` would blur key boundaries, glob characters would leak into key scans.
    """
    if not isinstance(tenant, str) or not tenant:
        raise InvalidInput("tenant id is empty", field="tenant", value=tenant)
    if len(tenant) > MAX_TENANT_LENGTH:
        raise InvalidInput(
            f"tenant id is longer than {MAX_TENANT_LENGTH} characters",
            field="tenant",
            value=tenant[:MAX_TENANT_LENGTH],
        )
    if not _TENANT.fullmatch(tenant) or not tenant.isprintable():
        raise InvalidInput(
            f"tenant id {tenant!r} contains whitespace, a control character or one of "
            "{ } : * ? [ ] \\",
            field="tenant",
            value=tenant,
        )
    return TenantId(tenant)


_GOOD_NAMES: set[str] = set()
"""Names already found good: a collector writes the same few hundred again and again."""


def check_name(name: str, field: str) -> str:
    """Check an object type, statistic id or checkpoint name: 1 to 128 of ``A-Z a-z 0-9 _ . -``."""
    if type(name) is str and name in _GOOD_NAMES:
        return name
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput(
            f"{field} must be 1 to {MAX_NAME_LENGTH} characters", field=field, value=name
        )
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{field} {name!r} may contain only letters, digits, '_', '.' and '-'",
            field=field,
            value=name,
        )
    if len(_GOOD_NAMES) < 100_000:
        _GOOD_NAMES.add(name)
    return name


def check_object_id(object_id: str) -> str:
    """Check an object id: any text of 1 to 256 characters (it is always the last part of a key)."""
    if not isinstance(object_id, str) or not 0 < len(object_id) <= MAX_OBJECT_ID_LENGTH:
        raise InvalidInput(
            f"object id must be 1 to {MAX_OBJECT_ID_LENGTH} characters",
            field="object_id",
            value=object_id if isinstance(object_id, str) else repr(object_id),
        )
    try:
        object_id.encode()
    except UnicodeEncodeError:
        raise InvalidInput(
            "object id is not valid Unicode (a lone surrogate)",
            field="object_id",
            value=repr(object_id),
        ) from None
    return object_id


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInput("limit must be a whole number above 0", field="limit", value=limit)
    return limit


# --- encoding --------------------------------------------------------------------------------

_encoder: Final = msgspec.json.Encoder()


def encode_value(value: Value, where: str) -> bytes:
    """JSON bytes of a value, or InvalidInput naming ``where`` if it is not a storable value."""
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or infinity; msgspec would silently write null.
        raise InvalidInput(
            f"{where}: {value} is not a finite number", field=where, value=repr(value)
        )
    try:
        return _encoder.encode(value)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        # TypeError: not JSON; ValueError: a string that is not valid Unicode.
        raise InvalidInput(
            f"{where}: value of type {type(value).__name__} cannot be stored: {exc}",
            field=where,
            value=repr(value)[:80],
        ) from None


def revive_value(raw: Any) -> Value:
    """Turn decoded JSON back into a value: ``{"since": ms}`` becomes :class:`Since`."""
    if isinstance(raw, dict):
        if len(raw) == 1 and type(raw.get("since")) is int:
            return Since(raw["since"])
        return {key: revive_value(item) for key, item in raw.items()}
    if isinstance(raw, list):
        return [revive_value(item) for item in raw]
    return raw  # type: ignore[no-any-return]  # scalars: decoded JSON is None/bool/int/float/str


def decode_value(data: bytes) -> Value:
    return revive_value(msgspec.json.decode(data))


def check_change(change: Change) -> bytes | None:
    """Validate a change; return its value's JSON bytes, or None when it removes the value."""
    if not isinstance(change, Change):
        raise InvalidInput(
            f"a change must be a Change, not {type(change).__name__}", field="changes"
        )
    check_name(change.object_type, "object_type")
    check_object_id(change.object_id)
    check_name(change.statistic, "statistic")
    if change.value is None:
        return None
    where = f"{change.object_type}/{change.object_id}/{change.statistic}"
    return encode_value(change.value, where)


def normalise_changes(changes: Iterable[Change]) -> list[tuple[Change, bytes | None]]:
    """Validate every change before anything is written; pair each with its encoded value.

    The returned changes carry values as they will be read back (through JSON), so the
    in-memory store keeps exactly what the Redis store would.
    """
    checked: list[tuple[Change, bytes | None]] = []
    for change in changes:
        encoded = check_change(change)
        if encoded is not None:
            change = Change(
                change.object_type, change.object_id, change.statistic, decode_value(encoded)
            )
        checked.append((change, encoded))
    return checked


def check_checkpoint(checkpoint: Checkpoint) -> Checkpoint:
    if not isinstance(checkpoint, Checkpoint):
        raise InvalidInput(
            f"a checkpoint must be a Checkpoint, not {type(checkpoint).__name__}",
            field="checkpoint",
        )
    check_name(checkpoint.name, "checkpoint")
    if not isinstance(checkpoint.blob, bytes):
        raise InvalidInput(
            f"checkpoint {checkpoint.name!r}: the blob must be bytes, "
            f"not {type(checkpoint.blob).__name__}",
            field="checkpoint",
            value=checkpoint.name,
        )
    return checkpoint


def check_interval(point: IntervalValue) -> bytes | None:
    """Validate an interval value; return its JSON bytes, or None when it removes the value."""
    if not isinstance(point, IntervalValue):
        raise InvalidInput(
            f"an interval value must be an IntervalValue, not {type(point).__name__}",
            field="intervals",
        )
    check_name(point.statistic, "statistic")
    check_name(point.object_type, "object_type")
    check_object_id(point.object_id)
    if not isinstance(point.start_ms, int) or point.start_ms < 0:
        raise InvalidInput(
            "start_ms must be a whole number of ms, 0 or more",
            field="start_ms",
            value=point.start_ms,
        )
    if point.value is None:
        return None
    return encode_value(
        point.value, f"{point.statistic}/{point.object_type}/{point.object_id}@{point.start_ms}"
    )


# --- applying changes to a copy of the values ------------------------------------------------


def apply_changes(values: TenantValues, changes: Sequence[Change]) -> None:
    """Apply changes in order to ``values`` in place (what a reader does with each batch)."""
    for change in changes:
        objects = values.get(change.object_type)
        if change.value is None:
            if objects is None:
                continue
            stats = objects.get(change.object_id)
            if stats is None:
                continue
            stats.pop(change.statistic, None)
            if not stats:
                del objects[change.object_id]
                if not objects:
                    del values[change.object_type]
        else:
            if objects is None:
                objects = values[change.object_type] = {}
            stats = objects.get(change.object_id)
            if stats is None:
                stats = objects[change.object_id] = {}
            stats[change.statistic] = change.value
