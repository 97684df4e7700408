"""A sink that records what it receives: the "captured alerts" of tests."""

from __future__ import annotations

import threading

from .._alert import Alert
from .._config import SinkSettings
from .._hookspecs import hookimpl

__all__ = ["RecordingSink"]


class RecordingSink:
    """Keeps every alert it receives in :attr:`alerts`, in arrival order. Thread-safe.

    Give the class itself as a sink (``Emitter(sinks={"rec": RecordingSink})``) and tocsin builds
    it with its settings, or give an instance (``RecordingSink()``).
    """

    def __init__(self, settings: SinkSettings | None = None) -> None:
        self.settings = settings
        self.alerts: list[Alert] = []
        self._lock = threading.Lock()

    @hookimpl
    def alert_emitted(self, alert: Alert) -> None:
        with self._lock:
            self.alerts.append(alert)

    @property
    def titles(self) -> list[str]:
        """The titles received, in order."""
        return [a.title for a in self.alerts]
