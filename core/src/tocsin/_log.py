"""tocsin's own diagnostics: structlog events with every string redacted.

tocsin is a library: it never configures structlog, and it never writes to stdout (a script's
own output must stay clean). When the application configured structlog, tocsin's events follow
that configuration. When it did not, structlog's defaults would print to stdout, so tocsin
renders its events with structlog's default processors to **stderr** instead, through a logger
of its own (``structlog.wrap_logger``), leaving the global configuration untouched.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any

import structlog

from ._redact import redact

__all__ = ["alert_logger", "diagnostic"]


class _Stderr:
    """structlog's PrintLogger, but writing to whatever ``sys.stderr`` is at each event (a test
    harness or the application may replace it after tocsin was imported)."""

    __slots__ = ()

    def msg(self, message: str) -> None:
        stream = sys.stderr
        if stream is None:  # pythonw, or a daemon that closed it: nowhere to say it
            return
        with contextlib.suppress(Exception):
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = err = error = critical = exception = fatal = failure = msg


class _TocsinLogger:
    """A logger that asks, at each event, whether the application configured structlog.

    Configured: the event goes to ``structlog.get_logger(name)``, so the application's
    processors, filtering and output apply. Not configured: to stderr, rendered by structlog's
    default processors. The check is one attribute read per event.
    """

    __slots__ = ("_configured", "_fallback", "_lock", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._configured: Any = structlog.get_logger(name)  # a lazy proxy: follows later configure()
        self._fallback: Any = None
        self._lock = threading.Lock()

    def _target(self) -> Any:
        if structlog.is_configured():
            return self._configured
        fallback = self._fallback
        if fallback is None:
            with self._lock:
                if self._fallback is None:
                    defaults = structlog.get_config()  # not configured: these are structlog's defaults
                    self._fallback = structlog.wrap_logger(
                        _Stderr(), processors=list(defaults["processors"]),
                        wrapper_class=defaults["wrapper_class"], context_class=defaults["context_class"],
                    )
                fallback = self._fallback
        return fallback

    def __getattr__(self, method: str) -> Any:
        # info, warning, error, …: the bound method of whichever logger applies right now.
        return getattr(self._target(), method)


_diagnostics = _TocsinLogger("tocsin")
alert_logger: Any = _TocsinLogger("tocsin.alerts")
"""The logger of the alert events themselves (one per alert, always, before any sink)."""


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def diagnostic(level: str, event: str, **fields: Any) -> None:
    """Log one of tocsin's own events at ``level`` ("debug" … "critical"), secrets redacted.

    Never raises: a broken logging configuration must not break the caller of emit_alert.
    """
    with contextlib.suppress(Exception):
        getattr(_diagnostics, level)(event, **{k: _clean(v) for k, v in fields.items()})
