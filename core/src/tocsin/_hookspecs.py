"""The sink contract: the hooks a sink implements, as pluggy hook specifications.

A sink is a plugin object (an instance, a module, ...) with ``@tocsin.hookimpl`` functions.
Only :meth:`SinkSpec.alert_emitted` is required. tocsin calls every hook itself, one sink
at a time, each in its own ``try``: one sink that raises never keeps another from running.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._alert import Alert
    from ._config import SinkSettings

__all__ = ["PROJECT_NAME", "SinkSpec", "hookimpl", "hookspec"]

PROJECT_NAME = "tocsin"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks the hook specifications in :class:`SinkSpec` (for tocsin itself, not sinks)."""
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a sink's hook implementations: ``@tocsin.hookimpl`` or ``@tocsin.hookimpl(tryfirst=True)``."""


class SinkSpec:
    """The hooks of a sink. Implement them as ``@tocsin.hookimpl`` methods or functions."""

    @hookspec
    def alert_emitted(self, alert: Alert) -> None:
        """Take one alert. Required.

        Called for every alert at or above the sink's ``min_severity``, in pluggy's order
        (``tryfirst``/``trylast`` honoured, else the last registered first). It may be called
        from many threads at once and runs on the caller's thread: it must return quickly and
        never wait on the network — queue the alert (the delivery engine does this for you)
        and return. An exception it raises is logged with the sink's name, counted, and
        goes no further. The alert is immutable; do not try to change it.
        """

    @hookspec
    def sink_configure(self, settings: SinkSettings) -> None:
        """Receive the sink's settings (its ``[sinks.NAME]`` table) once, before any alert.

        For sinks that are modules or ready-made objects. A sink whose entry point names a
        class gets the same :class:`~tocsin.SinkSettings` as its constructor's only argument
        and need not implement this hook.
        """

    @hookspec
    def sink_flush(self, timeout: float) -> bool | None:
        """Hand over everything buffered, waiting at most ``timeout`` seconds.

        Return False when something is still pending at the deadline (True or None otherwise).
        Called by :func:`tocsin.flush` and at interpreter exit.
        """

    @hookspec
    def sink_close(self) -> None:
        """Release files, connections and threads. Called once, after a last flush."""

    @hookspec
    def sink_status(self) -> Mapping[str, object] | None:
        """Describe the sink for ``tocsin sinks``: a small JSON-safe mapping.

        Well-known keys: ``configured`` (False for a sink with nothing to do, such as a
        webhook without a URL), ``target`` (where alerts go; redact credentials with
        :func:`tocsin.redact_url`), ``pending``, ``dropped``, ``last_error``.
        """
