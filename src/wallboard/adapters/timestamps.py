"""Platform timestamps → UTC milliseconds, with the unit and time-zone rules stated once.

- Epoch numbers: a value below 10^11 is seconds (10^11 s is the year 5138), below 10^14 is
  milliseconds, otherwise microseconds. A fraction (``1409169929.412068``) is seconds.
- Date-times without an offset (``2024-03-01 12:00:00``, as a realtime queue_log table stores
  them) are read in the time zone the caller names (UTC unless told otherwise); date-times with
  an offset or ``Z`` (Amazon Connect, ISO 8601) use their own offset.
- Fractions of a millisecond are cut, never rounded (``08:59:59.999999`` is 08:59:59.999, in
  the 08:00 hour), as the epoch fractions are.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wallboard.adapters.base import BadRecord
from wallboard.core.errors import ConfigError

_EPOCH: Final = re.compile(r"^\d{1,17}(\.\d{1,9})?$")
_SECONDS_BELOW: Final = 10**11
_MILLIS_BELOW: Final = 10**14

UTC: Final = dt.UTC
_UNIX_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = dt.timedelta(milliseconds=1)


def zone(name: str) -> dt.tzinfo:
    """A time zone by IANA name (``Europe/Paris``) or ``UTC``; a wrong name is a config error."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}", field="timezone", value=name) from None


def epoch_to_ms(text: str, field: str = "timestamp") -> int:
    """An epoch number in seconds, milliseconds or microseconds (see module doc) → ms."""
    value = text.strip()
    if not _EPOCH.match(value):
        raise BadRecord(
            f"{field} is not an epoch number: {value[:40]!r}", reason="bad_timestamp", field=field
        )
    if "." in value:
        whole, fraction = value.split(".", 1)
        return int(whole) * 1000 + int((fraction + "000")[:3])
    number = int(value)
    if number < _SECONDS_BELOW:
        return number * 1000
    if number < _MILLIS_BELOW:
        return number
    return number // 1000


def datetime_to_ms(text: str, tz: dt.tzinfo = UTC, field: str = "timestamp") -> int:
    """An ISO 8601 date-time (``T`` or space separated) → ms; naive values are in ``tz``."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(
            f"{field} is not a date-time: {text[:40]!r}", reason="bad_timestamp", field=field
        ) from None
    return moment_to_ms(moment, tz)


def moment_to_ms(moment: dt.datetime, tz: dt.tzinfo = UTC) -> int:
    """A date-time (naive values are in ``tz``) → ms since the epoch, the microseconds cut
    (exact integer arithmetic: a float would round 08:59:59.999999 up to 09:00)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return (moment - _UNIX_EPOCH) // _ONE_MS


def any_to_ms(text: str, tz: dt.tzinfo = UTC, field: str = "timestamp") -> int:
    """An epoch number or a date-time, whichever ``text`` is."""
    if _EPOCH.match(text.strip()):
        return epoch_to_ms(text, field)
    return datetime_to_ms(text, tz, field)
