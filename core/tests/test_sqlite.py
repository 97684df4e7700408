"""tocsin._sqlite: the one opener of tocsin's own SQLite files (repeats store, spool)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tocsin._sqlite import open_wal, retry_locked


def test_locked_and_busy_are_retried_then_the_result_returned() -> None:
    answers = [sqlite3.OperationalError("database is locked"), sqlite3.OperationalError("database is busy")]

    def action() -> str:
        if answers:
            raise answers.pop(0)
        return "done"

    assert retry_locked(action, first_wait=0.001) == "done"
    assert answers == []


def test_other_errors_and_the_last_lock_are_raised() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("no such table: x")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_locked(broken)
    assert calls == [1]  # not retried

    def always_locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        retry_locked(always_locked, attempts=3, first_wait=0.001)


def test_open_wal_creates_the_directory_and_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.db"
    db = open_wal(path, "CREATE TABLE IF NOT EXISTS t (v INTEGER);", timeout=1.0)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute("INSERT INTO t VALUES (1)")  # autocommit: isolation_level=None
    finally:
        db.close()
    again = open_wal(path, "CREATE TABLE IF NOT EXISTS t (v INTEGER);", timeout=1.0)
    try:
        assert again.execute("SELECT v FROM t").fetchall() == [(1,)]
    finally:
        again.close()
