"""How a tocsin alert looks to Alertmanager: labels (its identity), annotations, times."""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable
from typing import Any, Final

from tocsin import Alert

__all__ = ["BUILTIN_LABELS", "alert_payload", "is_resolved", "label_name", "rfc3339"]

BUILTIN_LABELS: Final = ("alertname", "severity", "host", "project")
"""The labels every alert carries; a context key promoted to a label never replaces them."""

_INVALID: Final = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """``key`` as a valid Alertmanager label name (``[a-zA-Z_][a-zA-Z0-9_]*``): every other
    character becomes ``_``, and a leading digit (or nothing at all) gets a ``_`` in front."""
    name = _INVALID.sub("_", key)
    return name if name and not name[0].isdigit() else "_" + name


def rfc3339(when: _dt.datetime) -> str:
    """``when`` in UTC as RFC 3339 with milliseconds: ``2026-11-29T13:18:42.123Z``."""
    return when.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_resolved(alert: Alert) -> bool:
    """Whether ``alert`` says its problem is over (``Alert.status == "resolved"``; alerts from a
    tocsin without resolve are always firing)."""
    return getattr(alert, "status", "firing") == "resolved"


def _label_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def alert_payload(
    alert: Alert,
    *,
    project: str,
    label_keys: Iterable[str] = (),
    resolve_after: float = 300.0,
    generator_url: str = "",
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """One element of the JSON array POSTed to ``/api/v2/alerts``.

    Labels — the alert's identity, the same from every process and host that raises it, so
    that the cluster deduplicates — are ``alertname`` (the title), ``severity``, ``host``,
    ``project`` and the context keys in ``label_keys`` that the alert has. ``startsAt`` is the
    alert's timestamp; ``endsAt`` is ``resolve_after`` seconds later for a firing alert (an
    alert not raised again by then resolves itself), or ``now`` for a resolved one.
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    labels = {
        "alertname": alert.title or "untitled",  # Alertmanager drops empty labels; keep a name
        "severity": alert.severity.value,
        "host": alert.host,
        "project": project,
    }
    for key in label_keys:
        name = label_name(key)
        if key in alert.context and name not in labels:
            value = _label_value(alert.context[key])
            if value:
                labels[name] = value
    starts = min(alert.timestamp, now)  # endsAt before startsAt is a validation error
    ends = now if is_resolved(alert) else alert.timestamp + _dt.timedelta(seconds=resolve_after)
    payload: dict[str, Any] = {
        "labels": labels,
        "annotations": {"summary": alert.title, "description": alert.message, "context": alert.context_json},
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(max(ends, starts)),
    }
    if generator_url:
        payload["generatorURL"] = generator_url
    return payload
