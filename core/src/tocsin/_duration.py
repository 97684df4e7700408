"""Durations in configuration: ``"30s"``, ``"10m"``, ``"1h"``, ``"2d"``, ``"1w"``, ``"1h30m"`` or plain seconds."""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> float | None:
    """Seconds in ``value``: a number (seconds) or a string of number+unit parts (``ms``, ``s``,
    ``m``, ``h``, ``d``; ``"1h30m"``; a bare number string is seconds). None when it is not a
    finite duration >= 0 (booleans, negative numbers, NaN, garbage)."""
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
