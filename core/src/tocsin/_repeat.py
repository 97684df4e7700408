"""Repeat suppression across processes: ``repeat_interval`` and ``group_by`` of a sink instance.

The most common alert source, a cron job failing every minute, is a new process each time, so
the bookkeeping cannot live in memory: it is a small SQLite file beside the state store,
``$XDG_STATE_HOME/tocsin/repeats.db``, shared by every process on the host. For each
(instance, group key) it keeps when an alert was last sent and how many were held back since.

The store is consulted on the delivering side, never by ``emit_alert``: a network sink's
destination filters each batch on its own thread just before rendering it
(:meth:`RepeatFilter.filter`); a local sink with a ``repeat_interval`` is filtered on the
emitting thread (one SQLite transaction per alert, which is why the embedded sinks have none
by default).

Each batch is one ``BEGIN IMMEDIATE`` transaction (the write lock taken up front, waiting up to
the busy timeout), so the check-and-count of two processes never interleaves and no count is
lost. When the store cannot be used at all, alerts are sent as they are: bookkeeping never
costs an alert.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import os
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ._alert import RESOLVED, Alert
from ._config import tocsin_state_dir
from ._log import diagnostic
from ._matchers import label_value
from ._severity import Severity, parse_severity
from ._sqlite import open_wal

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "REPEATS_FILE",
    "RepeatFilter",
    "RepeatStore",
    "claim_installing_filter",
    "installing",
    "last_fired_severity",
    "repeat_store_path",
]

REPEATS_FILE: Final = "repeats.db"
TEST_ALERT_TITLE: Final = "tocsin test alert"  # Emitter.check_sinks's alert

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS repeats (
    instance TEXT NOT NULL,
    key TEXT NOT NULL,             -- the group_by labels other than severity, as a JSON list
    severity TEXT NOT NULL,        -- '' when group_by has no severity
    last_sent REAL NOT NULL,       -- epoch seconds of the alert last let through
    suppressed INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0, -- 1: let the next one through whatever the time (expire())
    PRIMARY KEY (instance, key, severity)
);
CREATE TABLE IF NOT EXISTS fired (
    project TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,        -- the severity the title last fired with: a resolve's severity
    at REAL NOT NULL,
    PRIMARY KEY (project, title)
);
"""
_KEEP_STALE: Final = 7 * 86400.0  # rows whose count nobody will report are kept this long


def repeat_store_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/tocsin/repeats.db`` (``~/.local/state`` when unset): beside the state store."""
    return tocsin_state_dir(environ) / REPEATS_FILE


def _epoch(alert: Alert) -> float:
    return alert.timestamp.timestamp()


def _is_test(alert: Alert) -> bool:
    return alert.title == TEST_ALERT_TITLE and alert.context.get("test") is True


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


class RepeatStore:
    """One process's connection to a repeats file, shared by every filter using that file.

    Thread-safe (one lock); reopened in a child after ``fork()``.
    """

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        ref = weakref.ref(self)

        def after_fork_in_child() -> None:  # the parent's connection and lock are not ours
            store = ref()
            if store is not None:
                store._db, store._lock = None, threading.Lock()

        os.register_at_fork(after_in_child=after_fork_in_child)

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_wal(self.path, _SCHEMA, timeout=self.busy_timeout)
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on error)."""
        with self._lock:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def expire(self, instance: str | None = None) -> int:
        """Make the next alert of every group (of ``instance``, or of all) be sent, with its
        count: for operators and tests. Returns how many groups were expired."""
        with self.transaction() as db:
            where, args = ("WHERE instance = ?", (instance,)) if instance is not None else ("", ())
            cursor = db.execute(f"UPDATE repeats SET expired = 1 {where}", args)  # noqa: S608 - fixed text
            return cursor.rowcount

    def counts(self, instance: str) -> dict[tuple[str, str], int]:
        """The suppressed count of each (key, severity) of ``instance`` (for ``tocsin sinks`` and tests)."""
        with self.transaction() as db:
            rows = db.execute("SELECT key, severity, suppressed FROM repeats WHERE instance = ?", (instance,))
            return {(k, s): n for k, s, n in rows.fetchall()}

    def close(self) -> None:
        """Close the connection (it is reopened on next use)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


_stores: dict[Path, RepeatStore] = {}
_stores_lock = threading.Lock()


def _fresh_lock_in_child() -> None:  # a lock held by another thread at fork() would stay held
    global _stores_lock
    _stores_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_in_child)


def _store(path: Path) -> RepeatStore:
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = RepeatStore(path)
        return store


@dataclasses.dataclass
class RepeatFilter:
    """The repeat suppression of one sink instance: ``filter(alerts)`` returns the alerts to send.

    An alert whose group key (the ``group_by`` labels) was sent to this instance less than
    ``interval`` seconds before it is held back and counted; the next one let through carries
    the count in ``repeats`` and the time of the previous one in ``repeats_since``. A resolved
    alert always passes, with the count, and forgets its group (whatever severity it fired
    with), so that the next firing is sent at once.
    """

    instance: str
    interval: float
    group_by: tuple[str, ...]
    path: Path
    project: str = ""
    claimed: bool = False
    """Set when a destination applies the filter itself (then the registry does not)."""
    _pruned: bool = dataclasses.field(default=False, repr=False)
    _failing: bool = dataclasses.field(default=False, repr=False)

    def key(self, alert: Alert, _cache: dict[tuple[str, ...], str] | None = None) -> tuple[str, str]:
        """The group key of ``alert``: (the labels other than severity as JSON, the severity or "")."""
        labels = tuple(label_value(alert, label, self.project) for label in self.group_by if label != "severity")
        severity = alert.severity.value if "severity" in self.group_by else ""
        if _cache is None:
            return json.dumps(labels), severity
        # A batch is mostly one group: its JSON is built once (this runs on the delivery thread,
        # whose Python work takes the GIL from the threads that emit).
        text = _cache.get(labels)
        if text is None:
            text = _cache[labels] = json.dumps(labels)
        return text, severity

    def filter(self, alerts: Sequence[Alert]) -> list[Alert]:
        """The alerts of ``alerts`` to send now, each with ``repeats``/``repeats_since`` set."""
        if self.interval <= 0 or not alerts:
            return list(alerts)
        if any(_is_test(a) for a in alerts):  # `tocsin test` checks delivery: never hold it back
            tests = [a for a in alerts if _is_test(a)]
            return tests + self.filter([a for a in alerts if not _is_test(a)])
        try:
            with _store(self.path).transaction() as db:
                sent = _Batch(self, db).run(alerts)
                if not self._pruned:
                    self._prune(db, _epoch(alerts[-1]))
        except Exception as exc:
            # Never lose an alert to bookkeeping: send them all, and say so once per run of failures.
            if not self._failing:
                diagnostic("error", "tocsin.repeat_store_failed", sink=self.instance, path=str(self.path),
                           error=f"{type(exc).__name__}: {exc}", note="alerts are sent without repeat suppression")
            self._failing = True
            return list(alerts)
        self._failing = False
        return sent

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        # Once per process and instance: groups whose interval is over and that hold no count
        # say nothing, and counts nobody reported within a week are dropped.
        db.execute("DELETE FROM repeats WHERE instance = ? AND ((suppressed = 0 AND last_sent < ?) OR last_sent < ?)",
                   (self.instance, now - self.interval, now - self.interval - _KEEP_STALE))
        self._pruned = True

    def for_destination(self, index: int) -> RepeatFilter:
        """The filter of the ``index``-th destination of the same instance (a sink posting to
        several URLs): each keeps its own groups, so that one's sending does not silence another."""
        if index == 0:
            return self
        return dataclasses.replace(self, instance=f"{self.instance}#{index}", claimed=True)


class _Batch:
    """One batch inside one transaction: each group's row is read once, updated in memory for
    every alert of the batch, and written back once. A flood of one alert (the case suppression
    exists for) costs a few statements per batch rather than several per alert; and since the
    transaction holds the write lock, writing the final values loses no other process's count."""

    def __init__(self, owner: RepeatFilter, db: sqlite3.Connection) -> None:
        self.owner = owner
        self.db = db
        # (key, severity) -> [last_sent, suppressed, expired], or None when there is no row
        self.rows: dict[tuple[str, str], list[float] | None] = {}
        self.dirty: set[tuple[str, str]] = set()
        self.fired: dict[str, tuple[str, float]] = {}
        self.keys: dict[tuple[str, ...], str] = {}

    def _row(self, group: tuple[str, str]) -> list[float] | None:
        if group not in self.rows:
            found = self.db.execute(
                "SELECT last_sent, suppressed, expired FROM repeats WHERE instance = ? AND key = ? AND severity = ?",
                (self.owner.instance, *group)).fetchone()
            self.rows[group] = list(found) if found is not None else None
        return self.rows[group]

    def _write(self, only_key: str | None = None) -> None:
        for group in [g for g in self.dirty if only_key is None or g[0] == only_key]:
            row = self.rows.pop(group)
            self.dirty.discard(group)
            if row is not None:
                self.db.execute(
                    "INSERT INTO repeats (instance, key, severity, last_sent, suppressed, expired)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(instance, key, severity) DO UPDATE SET"
                    " last_sent = excluded.last_sent, suppressed = excluded.suppressed, expired = excluded.expired",
                    (self.owner.instance, *group, row[0], int(row[1]), int(row[2])))

    def run(self, alerts: Sequence[Alert]) -> list[Alert]:
        sent = [a for a in map(self._one, alerts) if a is not None]
        self._write()
        for title, (severity, at) in self.fired.items():
            self.db.execute(
                "INSERT INTO fired (project, title, severity, at) VALUES (?, ?, ?, ?) ON CONFLICT(project, title)"
                " DO UPDATE SET severity = excluded.severity, at = excluded.at WHERE excluded.at >= fired.at",
                (self.owner.project, title, severity, at))
        return sent

    def _one(self, alert: Alert) -> Alert | None:
        key, severity = self.owner.key(alert, self.keys)
        at = _epoch(alert)
        if alert.status == RESOLVED:
            # A resolve names no severity of its own choosing: it ends the group at every one.
            self._write(key)
            for group in [g for g in self.rows if g[0] == key]:
                del self.rows[group]
            rows = self.db.execute("SELECT suppressed, last_sent FROM repeats WHERE instance = ? AND key = ?",
                                   (self.owner.instance, key)).fetchall()
            self.db.execute("DELETE FROM repeats WHERE instance = ? AND key = ?", (self.owner.instance, key))
            held = sum(r[0] for r in rows)
            if not held:
                return alert
            since = min(r[1] for r in rows if r[0])
            return dataclasses.replace(alert, repeats=held, repeats_since=_utc(since))
        previous = self.fired.get(alert.title)
        if previous is None or at >= previous[1]:
            self.fired[alert.title] = (severity or alert.severity.value, at)
        group = (key, severity)
        row = self._row(group)
        self.dirty.add(group)
        if row is not None and not row[2] and at - row[0] < self.owner.interval:
            # Also when `at` is older than last_sent (an older alert delivered later): the group
            # was just sent, so this one is a repeat.
            row[1] += 1
            return None
        self.rows[group] = [at, 0, 0]
        if row is None or not row[1]:
            return alert
        return dataclasses.replace(alert, repeats=int(row[1]), repeats_since=_utc(row[0]))


def last_fired_severity(environ: Mapping[str, str], project: str, title: str) -> Severity | None:
    """The severity ``title`` last fired with on this host, as the repeats store recorded it
    (instances with a ``repeat_interval`` record it); None when unknown. A read of at most a
    few milliseconds: a busy store is not waited for."""
    import sqlite3

    path = repeat_store_path(environ)
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.05)
        try:
            row = db.execute("SELECT severity FROM fired WHERE project = ? AND title = ?", (project, title)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return parse_severity(row[0]) if row else None


# -- handing an instance's filter to the destination its sink creates ----------------------

_installing: contextvars.ContextVar[tuple[RepeatFilter, list[int]] | None] = contextvars.ContextVar(
    "tocsin_installing_repeat_filter", default=None
)


@contextlib.contextmanager
def installing(repeat: RepeatFilter | None) -> Iterator[None]:
    """While a sink instance is constructed and configured: destinations it creates take
    ``repeat`` (:func:`claim_installing_filter`)."""
    token = _installing.set((repeat, [0]) if repeat is not None else None)
    try:
        yield
    finally:
        _installing.reset(token)


def claim_installing_filter() -> RepeatFilter | None:
    """For a destination being created: the repeat filter of the instance being installed (None
    when it has no ``repeat_interval``, or outside an install). Marks it claimed."""
    current = _installing.get()
    if current is None:
        return None
    repeat, count = current
    claimed = repeat.for_destination(count[0])
    count[0] += 1
    repeat.claimed = True
    return claimed
