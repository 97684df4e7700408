"""The spool: alerts a destination could not deliver before its process ended, on disk (SQLite).

One SQLite file (WAL) per machine user, shared by every process and destination. A row is one
alert for one destination, keyed by the destination's identity (the sink's name and a hash of
its URL: the URL itself is never stored, only its redacted form for listings). Rows are claimed
with a lease (``owner``, ``lease_until``) in one transaction, so that several processes draining
the spool at once never take the same row; a row is deleted once delivered (or given up). The
lease of a process that died on this host is released at once; elsewhere it expires.

Delivery from the spool is at least once: a process killed between the answer and the delete
sends that alert again, with the same id, so that a receiver can drop the duplicate.
``sqlite3`` is imported only when a spool is opened.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._alert import Alert
from .._log import diagnostic
from .._normalise import normalise_context
from .._severity import Severity, parse_severity
from .._sqlite import open_wal

if TYPE_CHECKING:
    import sqlite3

__all__ = ["LEASE_SECONDS", "Spool", "alert_from_dict", "destination_key", "open_spool"]

LEASE_SECONDS: Final = 60.0
"""How long a claimed row stays another process's; the owner renews it while it works."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    sink TEXT NOT NULL,
    target TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    alert TEXT NOT NULL,
    created REAL NOT NULL,
    owner TEXT,
    lease_until REAL,
    UNIQUE (destination, alert_id)
);
CREATE INDEX IF NOT EXISTS spool_by_owner ON spool (owner);
"""


def destination_key(sink: str, url: str) -> str:
    """A destination's identity in the spool: the sink's name and a hash of its URL."""
    return f"{sink}:{hashlib.sha256(url.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """Rebuild an :class:`Alert` from :meth:`Alert.to_dict`, keeping its id and timestamp."""
    stamp = str(data["timestamp"]).replace("Z", "+00:00")
    return Alert(
        id=str(data["id"]),
        severity=parse_severity(data.get("severity")) or Severity.INFO,
        title=str(data.get("title", "")),
        message=str(data.get("message", "")),
        context=normalise_context(data.get("context")),
        timestamp=_dt.datetime.fromisoformat(stamp),
        host=str(data.get("host", "")),
        pid=int(data.get("pid", 0)),
    )


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C there: wait for the lease instead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


class Spool:
    """One spool file; thread-safe (one connection behind a lock), reopened after ``fork()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._ident: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self.owner = ""

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _db(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid() and self._file_id() != self._ident:
            # Deleted or replaced under us (a tmp cleaner, rm -rf of the state folder): the
            # connection still writes to the unlinked inode, which no other process will read.
            # Carry its rows over to a fresh file, so that nothing spooled so far is lost.
            old, self._conn = self._conn, None
            rows: list[Any] = []
            with contextlib.suppress(Exception):
                rows = old.execute("SELECT destination, sink, target, alert_id, alert, created, owner, "
                                   "lease_until FROM spool").fetchall()
            with contextlib.suppress(Exception):
                old.close()
            owner = self.owner
            new = self._db()
            self.owner = owner  # the leases this process holds stay its own (renew() finds them)
            if rows:
                new.execute("BEGIN IMMEDIATE")
                new.executemany("INSERT OR IGNORE INTO spool (destination, sink, target, alert_id, alert, created, "
                                "owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                new.execute("COMMIT")
            return new
        if self._conn is None or self._pid != os.getpid():
            import sqlite3

            try:
                conn = self._connect()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise  # locked, read-only, out of space: not the file's fault
                # Not a database (a torn copy, a disk error): every exit would lose what it had to
                # spool. Keep the file for a post-mortem and start a fresh spool.
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                with contextlib.suppress(FileNotFoundError):  # another process set it aside first
                    os.replace(self.path, aside)
                for suffix in ("-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                diagnostic("error", "tocsin.spool_corrupt", spool=str(self.path), moved_to=str(aside), error=exc)
                conn = self._connect()
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)  # alerts may say more than the world should read
            self._conn = conn
            self._ident = self._file_id()
            self._pid = os.getpid()
            self.owner = f"{socket.gethostname()}\t{self._pid}\t{uuid.uuid4().hex[:8]}"
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        # Transactions are explicit (BEGIN IMMEDIATE for claims); synchronous=NORMAL, as fsync
        # per alert would cost each emit. Schema creation beside other processes that create
        # the same new spool is retried there (it failed a whole spool before).
        return open_wal(self.path, _SCHEMA, timeout=10.0, dir_mode=0o700)

    def exists(self) -> bool:
        """Whether the file exists (a process with nothing spooled never creates it)."""
        return self.path.exists()

    def add(self, key: str, sink: str, target: str, alerts: Iterable[Alert], *, owned: bool) -> int:
        """Spool ``alerts`` for destination ``key``: leased to this process (``owned``, for
        durable alerts it is about to send) or free for any process. An alert already in the
        spool is updated, not duplicated. Returns how many were written."""
        now = time.time()
        rows = [(key, sink, target, a.id, json.dumps(a.to_dict(), ensure_ascii=False), now) for a in alerts]
        if not rows:
            return 0
        with self._lock:
            db = self._db()
            owner = self.owner if owned else None
            lease = now + LEASE_SECONDS if owned else None
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO spool (destination, sink, target, alert_id, alert, created, owner, lease_until) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (destination, alert_id) DO UPDATE SET "
                    "owner = excluded.owner, lease_until = excluded.lease_until",
                    [(*r, owner, lease) for r in rows])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    def delete(self, key: str, alert_ids: Iterable[str]) -> None:
        """Forget delivered (or given-up) alerts."""
        ids = [(key, i) for i in alert_ids]
        if not ids:
            return
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("DELETE FROM spool WHERE destination = ? AND alert_id = ?", ids)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def claim(self, key: str, limit: int) -> list[Alert]:
        """Lease at most ``limit`` free rows of destination ``key`` to this process, oldest
        first, in one transaction: no other process can take the same rows."""
        now = time.time()
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                self._release_dead(db, key, now)
                rows = db.execute(
                    "SELECT id, alert FROM spool WHERE destination = ? AND (owner IS NULL OR lease_until < ?) "
                    "ORDER BY id LIMIT ?", (key, now, limit)).fetchall()
                db.executemany("UPDATE spool SET owner = ?, lease_until = ? WHERE id = ?",
                               [(self.owner, now + LEASE_SECONDS, r[0]) for r in rows])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        alerts = []
        broken = []
        for row_id, text in rows:
            try:
                alerts.append(alert_from_dict(json.loads(text)))
            except (ValueError, KeyError, TypeError):
                broken.append(row_id)
        if broken:  # unreadable rows would be claimed forever: drop them
            with self._lock:
                self._db().executemany("DELETE FROM spool WHERE id = ?", [(b,) for b in broken])
        return alerts

    def _release_dead(self, db: sqlite3.Connection, key: str, now: float) -> None:
        host = socket.gethostname()
        owners = db.execute("SELECT DISTINCT owner FROM spool WHERE destination = ? AND owner IS NOT NULL "
                            "AND lease_until >= ?", (key, now)).fetchall()
        for (owner,) in owners:
            parts = str(owner).split("\t")
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _alive(int(parts[1])):
                db.execute("UPDATE spool SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,))

    def renew(self) -> None:
        """Extend the leases this process holds (it is still working on them)."""
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                return
            self._conn.execute("UPDATE spool SET lease_until = ? WHERE owner = ?",
                               (time.time() + LEASE_SECONDS, self.owner))

    def summary(self) -> list[dict[str, Any]]:
        """Per destination: sink, redacted target, rows, rows leased now, oldest row's age (s)."""
        if not self.exists():
            return []
        now = time.time()
        with self._lock:
            rows = self._db().execute(
                "SELECT destination, sink, target, COUNT(*), SUM(owner IS NOT NULL AND lease_until >= ?), "
                "MIN(created) FROM spool GROUP BY destination ORDER BY sink, destination", (now,)).fetchall()
        return [{"destination": d, "sink": s, "target": t, "alerts": n, "leased": int(leased or 0),
                 "oldest_s": round(now - oldest, 1)} for d, s, t, n, leased, oldest in rows]

    def count(self, key: str | None = None) -> int:
        """Rows waiting (for destination ``key``, or in all)."""
        if not self.exists():
            return 0
        with self._lock:
            db = self._db()
            if key is None:
                return int(db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])
            return int(db.execute("SELECT COUNT(*) FROM spool WHERE destination = ?", (key,)).fetchone()[0])


_spools: dict[Path, Spool] = {}
_spools_lock = threading.Lock()


def open_spool(path: Path) -> Spool:
    """The process's :class:`Spool` for ``path`` (one per file, shared by its destinations)."""
    resolved = path.expanduser().absolute()
    with _spools_lock:
        spool = _spools.get(resolved)
        if spool is None:
            spool = _spools[resolved] = Spool(resolved)
        return spool
