"""Durations, in configuration and on the command line: ``"30s"``, ``"10m"``, ``"1h"``, ``"2d"``,
``"1w"``, ``"1h30m"``, ``"5 minutes"`` or plain seconds. The one duration parser of tocsin."""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["parse_duration"]

_UNITS: Final = {
    "ms": 0.001,
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
    **dict.fromkeys(("w", "week", "weeks"), 604800.0),
}
# Longest unit first, so that "10min" is not read as "10m" followed by "in".
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + ")")


def parse_duration(value: object) -> float | None:
    """Seconds in ``value``: a number (seconds) or a string of number+unit parts (``ms``, ``s``,
    ``m``, ``h``, ``d``, ``w``, or spelt out: ``min``, ``minutes``, ``hours``, ``days`` …;
    ``"1h30m"``, ``"5 minutes"``; a bare number string is seconds). None when it is not a
    finite duration >= 0 (booleans, negative numbers, NaN, garbage). Never raises."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            if not text or _PART.sub("", text):  # something that is not number+unit
                return None
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
