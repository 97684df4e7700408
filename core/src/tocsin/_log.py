"""tocsin's own diagnostics: structlog events with every string redacted.

tocsin is a library: it asks structlog for a logger and never configures structlog itself.
Whatever the application configured (or structlog's defaults) decides where events go.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog

from ._redact import redact

__all__ = ["alert_logger", "diagnostic"]

_diagnostics = structlog.get_logger("tocsin")
alert_logger = structlog.get_logger("tocsin.alerts")
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
