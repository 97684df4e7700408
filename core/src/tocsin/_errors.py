"""The exceptions tocsin raises: one hierarchy, all under :class:`TocsinError`.

``emit_alert`` and ``flush`` never raise any of them; they are for the instance API,
the CLI and sink authors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._config import ConfigProblem

__all__ = ["ConfigError", "DeliveryError", "SinkError", "TocsinError", "TransportError"]


class TocsinError(Exception):
    """Base class of every exception tocsin raises."""


class ConfigError(TocsinError):
    """The configuration has errors; ``problems`` lists each with its file, key and cause.

    Raised by :meth:`tocsin.Config.check` and by an :class:`~tocsin.Emitter` built with
    ``strict=True``; ``emit_alert`` never raises it (it logs the problems and uses defaults).
    """

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or "invalid configuration")


class SinkError(TocsinError):
    """A plugin is not a valid sink: it implements no ``alert_emitted``, has a misspelt hook or
    a hook wrapper, or its constructor or ``sink_configure`` failed. ``sink`` names it.

    The registry records it as the sink's load error (``tocsin sinks`` shows it) and keeps
    going; :class:`~tocsin.Emitter` raises it only when built with ``strict=True``.
    """

    def __init__(self, sink: str, message: str) -> None:
        self.sink = sink
        self.detail = message
        """What is wrong, without the sink's name."""
        super().__init__(f"sink {sink!r}: {message}")


class DeliveryError(TocsinError):
    """A network sink could not hand an alert over. Logged and counted, never raised into
    ``emit_alert``; the message never holds a credential."""


class TransportError(DeliveryError):
    """No answer from the receiver: connection refused or reset, timeout, TLS failure."""
