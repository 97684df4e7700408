"""Durations as operators write them in Alertmanager and Prometheus configuration: ``30s``, ``5m``.

tocsin core has no duration parser yet (its settings are plain seconds); this small one lives here
until one does.
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> float | None:
    """Seconds in ``value``: a number of seconds, or text such as ``"30s"``, ``"10m"``, ``"1h30m"``,
    ``"2d"`` or ``"45"`` (seconds). None when it is not a finite, positive duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            pos, seconds = 0, 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    return None
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos == 0 or pos != len(text):
                return None
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None
