"""tocsin-sink-state: the last alert of each severity, for dashboards, in embedded SQLite.

For each severity the key ``{project}/alert/last_{severity}`` holds the newest alert's title,
message (at most 400 characters, as the seed), timestamp, id and context; a bounded history
keeps the newest alerts too. Many processes may share one store (SQLite in WAL mode).

Settings (``[sinks.state]``): ``path`` (default ``$XDG_STATE_HOME/tocsin/state.db``),
``history`` (alerts kept, default 1000; 0 keeps none), ``write`` ("background", the default:
a writer thread flushed by ``tocsin.flush()`` and at exit; or "inline": written before
``emit_alert`` returns), ``queue_size`` (default 10 000), ``min_severity``.

Reading it back, read-only (a missing store is never created): :func:`history` (also
``tocsin history``), :func:`count_history`, :func:`severity_counts` and :func:`last`.
"""

from __future__ import annotations

from ._duration import parse_since
from ._history import MAX_LIMIT, StoreError, count_history, history, last, severity_counts, store_location
from ._sink import StateSink
from ._store import StateStore

__all__ = [
    "MAX_LIMIT",
    "StateSink",
    "StateStore",
    "StoreError",
    "count_history",
    "history",
    "last",
    "parse_since",
    "severity_counts",
    "store_location",
]
