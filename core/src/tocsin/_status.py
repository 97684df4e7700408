"""SinkStatus: what a sink says of itself, with every key that tocsin reads."""

from __future__ import annotations

from typing import TypedDict

__all__ = ["SinkStatus"]


class SinkStatus(TypedDict, total=False):
    """A sink's ``sink_status`` answer: a small JSON-safe mapping. Every key is optional.

    tocsin reads these keys (``tocsin sinks``, ``tocsin test``, ``Emitter.stats()``); a sink may
    add keys of its own, which are shown as they are.
    """

    configured: bool
    """False for a sink with nothing to do (a webhook sink without a URL): reported as such."""
    target: str
    """Where alerts go, credentials redacted (:func:`tocsin.redact_url`)."""
    pending: int
    """Alerts accepted but not yet handed over."""
    dropped: int
    """Alerts dropped because a queue was full."""
    delivered: int
    """Alerts handed over (written, or accepted by the service)."""
    failed: int
    """Alerts that could not be handed over (rejected, retries exhausted, write errors)."""
    gone: bool
    """The destination no longer exists (a deleted webhook): nothing more is sent to it."""
    last_error: str | None
    """The most recent failure, redacted; None when there was none."""
