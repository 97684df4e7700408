"""The exceptions tocsin raises: one hierarchy, all under :class:`TocsinError`.

``emit_alert`` and ``flush`` never raise any of them; they are for the instance API,
the CLI and sink authors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._config import ConfigProblem

__all__ = ["ConfigError", "DeliveryError", "TocsinError", "TransportError"]


class TocsinError(Exception):
    """Base class of every exception tocsin raises."""


class ConfigError(TocsinError):
    """The configuration has errors; ``problems`` lists each with its file, key and cause."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or "invalid configuration")


class DeliveryError(TocsinError):
    """A network sink could not hand an alert over. Logged and counted, never raised into
    ``emit_alert``; the message never holds a credential."""


class TransportError(DeliveryError):
    """No answer from the receiver: connection refused or reset, timeout, TLS failure."""
