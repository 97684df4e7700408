"""The SQLite store behind the state sink: writing batches, reading the last alerts."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

# tocsin's own redacted diagnostics: not in tocsin's __all__ yet (asked of the lead), and this
# first-party plugin is released together with core.
from tocsin import Alert, diagnostic

__all__ = ["MESSAGE_LIMIT", "StateStore", "retry_locked"]

_T = TypeVar("_T")

MESSAGE_LIMIT: Final = 400  # the seed's cut for the dashboard value

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,          -- {project}/alert/last_{severity}
    project TEXT NOT NULL,
    severity TEXT NOT NULL,
    value TEXT NOT NULL,           -- JSON: title, message, timestamp, id, context
    updated_at TEXT NOT NULL       -- ISO 8601 with microseconds: sorts as time does
);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    project TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    context TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',  -- added after 0.1.0, like the two below: _migrate() adds them
    status TEXT NOT NULL DEFAULT 'firing',   -- 'resolved' for tocsin.resolve_alert
    repeats INTEGER NOT NULL DEFAULT 0       -- alerts of its group held back before it
);
"""
# Columns added after the first release: a store created before gets them (additive only).
_MIGRATIONS: Final = (
    ("history", "host", "ALTER TABLE history ADD COLUMN host TEXT NOT NULL DEFAULT ''"),
    ("history", "status", "ALTER TABLE history ADD COLUMN status TEXT NOT NULL DEFAULT 'firing'"),
    ("history", "repeats", "ALTER TABLE history ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0"),
)

# A later alert may reach the store first (another process, another writer's batch): the
# newest timestamp wins, whatever the order of arrival.
_UPSERT: Final = """
INSERT INTO state (key, project, severity, value, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
WHERE excluded.updated_at >= state.updated_at
"""


# 100 rows x 10 columns = 1000 parameters is over the 999 that SQLite before 3.32 allows: 99 rows.
_ROWS_PER_INSERT: Final = 99


@functools.lru_cache(maxsize=8)
def _insert_history(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return ("INSERT INTO history (id, project, severity, title, message, timestamp, context, host, status, repeats)"  # noqa: S608 - placeholders only
            f" VALUES {values}")


def retry_locked(action: Callable[[], _T], attempts: int = 8, first_wait: float = 0.05) -> _T:
    """Run ``action``, again after a growing wait (up to ~6 s in all) while SQLite answers that
    the database is locked or busy; any other error, or the last one, is raised."""
    wait = first_wait
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if attempt == attempts - 1 or not any(w in str(exc) for w in ("locked", "busy")):
                raise
            time.sleep(wait)
            wait = min(wait * 2, 2.0)
    raise AssertionError("unreachable")  # pragma: no cover


def state_key(project: str, severity: str) -> str:
    """The seed's key: ``{project}/alert/last_{severity}``."""
    return f"{project}/alert/last_{severity}"


class StateStore:
    """One connection to the store at ``path``. Not thread-safe: the sink serialises access."""

    def __init__(self, path: Path, *, history: int = 1000, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.history = history
        self._busy_timeout = busy_timeout
        self.recreated = 0
        """How many times the database was found deleted or replaced, and opened afresh."""
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=self._busy_timeout, check_same_thread=False,
                                   isolation_level=None)
        # Several processes opening a new store at once: "CREATE TABLE IF NOT EXISTS" reads the
        # schema, then writes. When another process committed in between, SQLite answers
        # "database is locked" (SQLITE_BUSY_SNAPSHOT) at once, without calling the busy handler,
        # since waiting could not help that read snapshot. Seen in CI as a whole lost batch.
        retry_locked(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
        # NORMAL in WAL mode: durable across process crashes; a power cut may lose the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        retry_locked(lambda: self._db.executescript(_SCHEMA))
        retry_locked(self._migrate)
        # The file this connection writes to, to notice when the path no longer names it.
        self._ident = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _moved(self) -> str | None:
        """Why the path no longer names the open database ("deleted", "replaced"), or None.

        An open SQLite connection keeps writing to its file after an ``rm`` or a ``mv`` over
        it, and every commit "succeeds" into a file nobody will read again. One ``stat`` per
        batch (not per alert) is what noticing costs.
        """
        now = self._identity()
        if now == self._ident:
            return None
        return "deleted" if now is None else "replaced"

    def _reopen(self, why: str) -> None:
        # Close first: the old connection's -wal/-shm files are named after the path, and a new
        # connection must not replay the old WAL into the new database.
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._open()  # when this fails, the batch fails: counted and logged by the caller
        self.recreated += 1
        diagnostic("warning", "tocsin.state_store_recreated", path=str(self.path), cause=why)

    def _ensure_current(self) -> None:
        why = self._moved()
        if why is not None:
            self._reopen(why)

    def _migrate(self) -> None:
        for table, column, statement in _MIGRATIONS:
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                try:
                    self._db.execute(statement)
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

    def write(self, project: str, alerts: Sequence[Alert]) -> None:
        """Record ``alerts`` in one transaction."""
        # Only the newest alert of each severity in the batch can become the "last" one: build
        # its row alone (this runs on the writer thread, whose Python work competes with the
        # emitting threads for the GIL).
        newest: dict[str, Alert] = {}
        history_rows = []
        for alert in alerts:
            severity = alert.severity.value
            if severity not in newest or alert.timestamp >= newest[severity].timestamp:
                newest[severity] = alert
            if self.history:
                history_rows.append((alert.id, project, severity, alert.title, alert.message[:4000],
                                     alert.timestamp.isoformat(), alert.context_json, alert.host, alert.status,
                                     alert.repeats))
        state_rows = []
        for severity, alert in newest.items():
            fields: dict[str, Any] = {"title": alert.title, "message": alert.message[:MESSAGE_LIMIT],
                                      "timestamp": alert.timestamp_text, "id": alert.id}
            # The seed's keys for a firing alert; a resolve or a count says so, additively.
            if alert.resolved:
                fields["status"] = alert.status
            if alert.repeats:
                fields["repeats"] = alert.repeats
            head = json.dumps(fields, ensure_ascii=False)
            value = f'{head[:-1]}, "context": {alert.context_json}}}'
            state_rows.append((state_key(project, severity), project, severity, value, alert.timestamp.isoformat()))
        self._ensure_current()
        retry_locked(lambda: self._commit(state_rows, history_rows))
        why = self._moved()
        if why is not None:
            # Deleted or replaced while this batch was committed: it went to the old file.
            # Write it again where the path points now; if that fails too, the caller counts
            # the batch as failed (never as written).
            self._reopen(why)
            retry_locked(lambda: self._commit(state_rows, history_rows))
            if self._moved() is not None:
                raise sqlite3.OperationalError(f"{self.path} keeps being deleted or replaced: batch not stored")

    def _commit(self, state_rows: Sequence[tuple[str, ...]], history_rows: Sequence[tuple[object, ...]]) -> None:
        with self._transaction():
            self._db.executemany(_UPSERT, state_rows)
            # One multi-row INSERT per chunk rather than executemany: each statement step
            # releases and retakes the GIL, and a step per row made the writer thread trade
            # the GIL with emitting threads thousands of times per batch (bench/emit_latency.py).
            for start in range(0, len(history_rows), _ROWS_PER_INSERT):
                chunk = history_rows[start : start + _ROWS_PER_INSERT]
                self._db.execute(_insert_history(len(chunk)), [v for row in chunk for v in row])
            if history_rows:
                self._db.execute(
                    "DELETE FROM history WHERE seq <= (SELECT MAX(seq) FROM history) - ?", (self.history,)
                )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock up front, so that busy_timeout applies to it
        # rather than failing at commit time when another process writes too.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def last(self, project: str) -> dict[str, dict[str, Any]]:
        """The last alert of each severity, keyed by severity: title, message, timestamp, id, context."""
        self._ensure_current()
        rows = self._db.execute("SELECT severity, value FROM state WHERE project = ?", (project,)).fetchall()
        return {severity: json.loads(value) for severity, value in rows}

    def recent(self, project: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest ``limit`` alerts of the history, newest first."""
        self._ensure_current()
        rows = self._db.execute(
            "SELECT id, severity, title, message, timestamp, context, status, repeats FROM history"
            " WHERE project = ? ORDER BY seq DESC LIMIT ?",
            (project, limit),
        ).fetchall()
        keys = ("id", "severity", "title", "message", "timestamp", "context", "status", "repeats")
        return [dict(zip(keys, (*row[:5], json.loads(row[5]), *row[6:]), strict=True)) for row in rows]

    def count_history(self) -> int:
        """How many alerts the history holds."""
        return int(self._db.execute("SELECT COUNT(*) FROM history").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
