"""Severities: the three levels an alert can have, and how loose input maps onto them."""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["Severity", "parse_severity"]


class Severity(str, enum.Enum):
    """How urgent an alert is: ``INFO`` < ``WARNING`` < ``CRITICAL``.

    The members are strings (``Severity.CRITICAL == "critical"`` holds), so callers that
    compare with the seed's plain strings keep working, and they order by urgency rather
    than alphabetically (``Severity.INFO < Severity.CRITICAL``).
    """

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for critical."""
        return _RANK[self]

    def __str__(self) -> str:
        # ``str, Enum`` would otherwise render as "Severity.INFO" in f-strings.
        return self.value

    # ``str`` would order these alphabetically ("critical" < "info"): order by urgency.
    def __lt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return _RANK[self] < _RANK[other]
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return _RANK[self] <= _RANK[other]
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return _RANK[self] > _RANK[other]
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return _RANK[self] >= _RANK[other]
        return NotImplemented

    # Comparison overrides drop the inherited hash; keep str's so members stay dict keys
    # interchangeable with their plain-string values.
    __hash__ = str.__hash__


_RANK: Final = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_BY_NAME: Final = {s.value: s for s in Severity}


def parse_severity(value: object) -> Severity | None:
    """Return the severity named by ``value`` (any case, surrounding blanks ignored), or None.

    Accepts a :class:`Severity`, a ``str`` or ``bytes``; anything else is None.
    """
    if isinstance(value, Severity):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return _BY_NAME.get(value.strip().lower())
    return None
