"""The Alert value: what every sink receives, already normalised and immutable."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import json
import os
from collections.abc import Mapping
from typing import Any, Final

from ._normalise import MAX_MESSAGE_CHARS, MAX_TITLE_CHARS, normalise_context, to_text
from ._severity import Severity, parse_severity

__all__ = ["FIRING", "RESOLVED", "Alert", "make_alert"]

FIRING: Final = "firing"
"""``Alert.status`` of an alert raised by :func:`tocsin.emit_alert`."""
RESOLVED: Final = "resolved"
"""``Alert.status`` of an alert raised by :func:`tocsin.resolve_alert`."""


@dataclasses.dataclass(frozen=True, eq=False)
class Alert:
    """One alert, as every sink sees it. Immutable; built by :func:`tocsin.emit_alert`.

    Guarantees a sink can rely on:

    * ``id`` is unique (32 hex digits) and stays the same for every delivery attempt;
    * ``severity`` is a :class:`Severity` (and so also the plain string ``"info"``, ...);
    * ``title`` and ``message`` are ``str`` that encode as UTF-8 (no lone surrogates),
      at most 1 000 and 100 000 characters; they may contain any other character,
      control characters included: each sink escapes for its own medium;
    * ``context`` is a read-only mapping with ``str`` keys and JSON-safe values (None, bool,
      int, finite float, str, tuples and read-only mappings of the same), ready for
      ``json.dumps``;
    * ``timestamp`` is an aware UTC datetime; ``host`` and ``pid`` name where it was raised;
    * ``status`` is ``"firing"``, or ``"resolved"`` for :func:`tocsin.resolve_alert`;
    * ``repeats`` is how many alerts of the same group the sink's instance did not receive
      (``repeat_interval``) since ``repeats_since``, the time its last one was sent: 0 and None
      unless repeat suppression held some back.
    """

    id: str
    severity: Severity
    title: str
    message: str
    context: Mapping[str, Any]
    timestamp: _dt.datetime
    host: str
    pid: int
    # Defaults, so that every Alert(...) written before they existed still works.
    status: str = "firing"
    repeats: int = 0
    repeats_since: _dt.datetime | None = None

    @property
    def resolved(self) -> bool:
        """True for an alert raised by :func:`tocsin.resolve_alert`."""
        return self.status == RESOLVED

    def repeats_text(self) -> str:
        """``"repeated 59 times since 2026-11-29T13:18:42Z"``, or ``""`` when nothing was held back."""
        if not self.repeats:
            return ""
        since = f" since {self.repeats_since.strftime('%Y-%m-%dT%H:%M:%SZ')}" if self.repeats_since else ""
        return f"repeated {self.repeats} time{'s' if self.repeats != 1 else ''}{since}"

    @functools.cached_property
    def context_json(self) -> str:
        """``context`` as JSON text (ASCII only, ``json.dumps`` defaults), computed once per alert
        and shared by every sink that needs it."""
        return json.dumps(self.context, ensure_ascii=True)

    @functools.cached_property
    def timestamp_text(self) -> str:
        """The timestamp as the seed wrote it: ``2026-11-29T13:18:42Z`` (UTC, seconds)."""
        return self.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the seed's keys (severity, title, message, context, timestamp)
        plus id, host, pid, status and repeats (and ``repeats_since`` when repeats is not 0);
        timestamps in ISO 8601 with microseconds."""
        out: dict[str, Any] = {
            "id": self.id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "context": self.context,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "host": self.host,
            "pid": self.pid,
            "status": self.status,
            "repeats": self.repeats,
        }
        if self.repeats_since is not None:
            out["repeats_since"] = self.repeats_since.isoformat().replace("+00:00", "Z")
        return out


_HOST: str | None = None


def _host() -> str:
    global _HOST
    if _HOST is None:
        try:
            import socket  # on the first alert, not at `import tocsin`

            _HOST = to_text(socket.gethostname(), 255)
        except Exception:
            _HOST = "unknown"
    return _HOST


def make_alert(
    severity: object, title: object, message: object, context: object = None, *, status: str = FIRING
) -> Alert:
    """Build an :class:`Alert` from anything a caller may pass; never raises.

    Severity is matched without regard to case, and anything unknown or missing becomes
    ``info``, as the seed did. ``status`` is "firing" or "resolved" (anything else: firing).
    """
    return Alert(
        id=os.urandom(16).hex(),  # 128 random bits, as uuid4().hex, at a quarter of its cost
        severity=parse_severity(severity) or Severity.INFO,
        title=to_text(title, MAX_TITLE_CHARS),
        message=to_text(message, MAX_MESSAGE_CHARS),
        context=normalise_context(context),
        timestamp=_dt.datetime.now(_dt.timezone.utc),
        host=_host(),
        pid=os.getpid(),
        status=RESOLVED if status == RESOLVED else FIRING,
    )
