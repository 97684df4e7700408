"""Reading ``--since`` values: a duration ago ("30s", "10m", "1h30m", "2d", "90") or a time.

Local to the state plugin: core has no duration parser, and history is the only reader of one.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Final

__all__ = ["parse_since"]

_UNITS: Final = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
                 "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400,
                 "w": 604800, "week": 604800, "weeks": 604800}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")
_WHOLE: Final = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]*\s*)+")
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
        text = str(value).strip().lower()
        parsed = _duration(text) if text and _WHOLE.fullmatch(text) else None
        if parsed is None:
            try:
                when = _dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"since: {str(value)[:40]!r} is neither a duration (30s, 10m, 1h, 2d, 1w, 1h30m) "
                    "nor a time (2026-11-29T10:00:00Z)"
                ) from None
            return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)
        delta = parsed
    if delta < _dt.timedelta(0) or delta > _LONGEST:
        raise ValueError(f"since: {str(value)[:40]!r} must be between 0 s and 100 years")
    return now - delta


def _duration(text: str) -> _dt.timedelta | None:
    seconds = 0.0
    for number, unit in _PART.findall(text):
        if unit and unit not in _UNITS:
            return None
        value = float(number) * _UNITS.get(unit or "s", 1)
        if value > _LONGEST.total_seconds():
            raise ValueError(f"since: {text[:40]!r} must be between 0 s and 100 years")
        seconds += value
    return _dt.timedelta(seconds=seconds)
