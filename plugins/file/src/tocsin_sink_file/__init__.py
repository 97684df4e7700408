"""tocsin-sink-file: the append-only alert log.

One line per alert, in the seed's format::

    [2026-11-29T13:18:42Z] [WARNING] title: message {"context": "json"}

or, with ``format = "jsonl"``, one JSON object per line. Settings (``[sinks.file]``):
``path`` (default ``$ATOCORE_ALERT_LOG``, else ``$XDG_STATE_HOME/tocsin/alerts.log``),
``format`` ("text" or "jsonl"), ``min_severity``.
"""

from __future__ import annotations

from ._format import format_jsonl, format_text
from ._sink import FileSink

__all__ = ["FileSink", "format_jsonl", "format_text"]
