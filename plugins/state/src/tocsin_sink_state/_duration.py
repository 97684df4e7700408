"""Reading ``--since`` values: a duration ago ("30s", "10m", "1h30m", "2d", "90") or a time.

The duration part is core's :func:`tocsin.parse_duration`, the one grammar of durations in
tocsin; this module adds only times and the bounds of a look-back.
"""

from __future__ import annotations

import datetime as _dt
from typing import Final

from tocsin import parse_duration

__all__ = ["parse_since"]

_LONGEST: Final = _dt.timedelta(days=36500)


def parse_since(value: str | _dt.timedelta | _dt.datetime, now: _dt.datetime | None = None) -> _dt.datetime:
    """The aware UTC time that ``value`` names: a duration before ``now`` ("30s", "10m", "1h",
    "2d", "1w", "1h30m", a bare number of seconds, a :class:`~datetime.timedelta`) or a time
    (ISO 8601; without a zone, UTC).

    :raises ValueError: with a message saying what is accepted.
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, _dt.timedelta):
        delta = value
    else:
        seconds = parse_duration(str(value))
        if seconds is None:
            try:
                when = _dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"since: {str(value)[:40]!r} is neither a duration (30s, 10m, 1h, 2d, 1w, 1h30m) "
                    "nor a time (2026-11-29T10:00:00Z)"
                ) from None
            return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)
        if seconds > _LONGEST.total_seconds():  # checked first: timedelta() overflows on huge values
            raise ValueError(f"since: {str(value)[:40]!r} must be between 0 s and 100 years")
        delta = _dt.timedelta(seconds=seconds)
    if delta < _dt.timedelta(0) or delta > _LONGEST:
        raise ValueError(f"since: {str(value)[:40]!r} must be between 0 s and 100 years")
    return now - delta
