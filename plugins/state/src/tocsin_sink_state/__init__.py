"""tocsin-sink-state: the last alert of each severity, for dashboards, in embedded SQLite.

For each severity the key ``{project}/alert/last_{severity}`` holds the newest alert's title,
message (at most 400 characters, as the seed), timestamp, id and context; a bounded history
keeps the newest alerts too. Many processes may share one store (SQLite in WAL mode).

Settings (``[sinks.state]``): ``path`` (default ``$XDG_STATE_HOME/tocsin/state.db``),
``history`` (alerts kept, default 1000; 0 keeps none), ``write`` ("background", the default:
a writer thread flushed by ``tocsin.flush()`` and at exit; or "inline": written before
``emit_alert`` returns), ``queue_size`` (default 10 000), ``min_severity``.
"""

from __future__ import annotations

from ._sink import StateSink
from ._store import StateStore

__all__ = ["StateSink", "StateStore"]
