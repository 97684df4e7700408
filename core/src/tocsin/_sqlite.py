"""Opening tocsin's own SQLite files (the repeats store, the spool), once for both.

Several processes may open a new file at once. ``CREATE TABLE IF NOT EXISTS`` reads the schema,
then writes; when another process committed in between, SQLite answers "database is locked"
(SQLITE_BUSY_SNAPSHOT) at once, without calling the busy handler. So the WAL switch and the
schema are retried briefly on "locked"/"busy"; any other error is raised. ``sqlite3`` is
imported only when a file is opened: ``import tocsin`` does not pay for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import sqlite3

__all__ = ["open_wal", "retry_locked"]

_T = TypeVar("_T")


def retry_locked(action: Callable[[], _T], attempts: int = 20, first_wait: float = 0.01) -> _T:
    """Run ``action``, again after a growing wait (about 2 s in all by default) while SQLite
    answers that the database is locked or busy; any other error, or the last one, is raised."""
    import sqlite3

    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if attempt == attempts - 1 or not any(w in str(exc) for w in ("locked", "busy")):
                raise
            time.sleep(first_wait * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def open_wal(path: Path, schema: str, *, timeout: float, dir_mode: int = 0o777) -> sqlite3.Connection:
    """A connection to ``path`` (its directory created with ``dir_mode``) in WAL mode with
    ``synchronous=NORMAL`` (a commit survives the process being killed; a power cut may take
    the last ones), ``schema`` applied, transactions explicit (``isolation_level=None``),
    usable from any thread (the caller serialises access)."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    db = sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)
    try:
        retry_locked(lambda: db.execute("PRAGMA journal_mode=WAL"))
        db.execute("PRAGMA synchronous=NORMAL")
        retry_locked(lambda: db.executescript(schema))
    except BaseException:
        db.close()
        raise
    return db
