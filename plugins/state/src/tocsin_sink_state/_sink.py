"""The state sink: alerts queued on the caller's thread, written to SQLite in batches."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tocsin import Alert, BatchWorker, SinkSettings, hookimpl

from ._store import StateStore

__all__ = ["StateSink", "store_path"]


def store_path(settings: SinkSettings) -> Path:
    """Where the store of these settings is: ``path``, by default ``$XDG_STATE_HOME/tocsin/state.db``."""
    return settings.get_path("path", settings.state_dir() / "state.db")


class StateSink:
    """Keeps the last alert of each severity and a bounded history; see the package docstring.

    By default ``alert_emitted`` only queues the alert: one writer thread commits everything
    pending in one transaction (bench/emit_latency.py measures why: an inline SQLite commit
    costs the caller far more than the 100 µs budget once several threads emit).
    """

    def __init__(self, settings: SinkSettings) -> None:
        self.path = store_path(settings)
        self.project = settings.project
        self.history = settings.get_int("history", 1000, minimum=0)
        mode = settings.get_str("write", "background")
        if mode not in ("background", "inline"):
            settings.problem("write", f"expected 'background' or 'inline', got {mode!r}")
            mode = "background"
        self.mode = mode
        capacity = settings.get_int("queue_size", 10_000, minimum=1)
        self._store: StateStore | None = None
        self._store_lock = threading.Lock()
        self._worker: BatchWorker[Alert] = BatchWorker(
            "state", self._write, capacity=capacity, linger=0.1
        )
        self.written = 0
        self.failed = 0
        self.last_error: str | None = None

    def store(self) -> StateStore:
        """The open store (opened on first use)."""
        if self._store is None:
            self._store = StateStore(self.path, history=self.history)
        return self._store

    def _write(self, alerts: list[Alert]) -> None:
        try:
            with self._store_lock:
                self.store().write(self.project, alerts)
            self.written += len(alerts)
        except Exception as exc:
            # Locks were already waited out (retry_locked): these alerts are lost, and counted.
            self.failed += len(alerts)
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise

    @hookimpl
    def alert_emitted(self, alert: Alert) -> None:
        if self.mode == "inline":
            self._write([alert])
        else:
            self._worker.put(alert)

    @hookimpl
    def sink_flush(self, timeout: float) -> bool:
        return self._worker.flush(timeout)

    @hookimpl
    def sink_close(self) -> None:
        self._worker.close()
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @hookimpl
    def sink_status(self) -> dict[str, object]:
        return {
            "target": str(self.path),
            "write": self.mode,
            "written": self.written,
            "pending": self._worker.pending,
            "dropped": self._worker.dropped,
            "failed": self.failed,
            "last_error": self.last_error,
        }

    def last_alerts(self) -> dict[str, dict[str, Any]]:
        """The last alert of each severity for this project (what ``tocsin last`` shows)."""
        with self._store_lock:
            return self.store().last(self.project)
