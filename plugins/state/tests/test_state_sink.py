from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tocsin import Config, Emitter
from tocsin._alert import make_alert
from tocsin_sink_state import StateSink, StateStore


def emitter_for(path: Path, project: str = "atocore", **table: Any) -> Emitter:
    config = Config(environ={}, project=project, sinks={"state": {"path": str(path), **table}})
    return Emitter(config, sinks={"state": StateSink}, discover=False)


def test_last_alert_per_severity_under_the_seed_keys(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with emitter_for(db) as emitter:
        emitter.emit("info", "first info", "m")
        emitter.emit("warning", "w", "x" * 1000, {"k": 1})
        info = emitter.emit("info", "second info", "m")
        assert emitter.flush(5)
        last = emitter.sink("state").last_alerts()  # type: ignore[union-attr]
    assert set(last) == {"info", "warning"}
    assert last["info"]["title"] == "second info"
    assert last["info"]["id"] == info.id
    assert last["info"]["timestamp"] == info.timestamp_text
    assert len(last["warning"]["message"]) == 400
    assert last["warning"]["context"] == {"k": 1}
    keys = {row[0] for row in sqlite3.connect(db).execute("SELECT key FROM state")}
    assert keys == {"atocore/alert/last_info", "atocore/alert/last_warning"}


def test_projects_are_separate_namespaces(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with emitter_for(db, project="alpha") as a:
        a.emit("critical", "alpha down", "m")
    with emitter_for(db, project="beta") as b:
        b.emit("critical", "beta down", "m")
        b.flush(5)
        assert b.sink("state").last_alerts()["critical"]["title"] == "beta down"  # type: ignore[union-attr]
    keys = {row[0] for row in sqlite3.connect(db).execute("SELECT key FROM state")}
    assert keys == {"alpha/alert/last_critical", "beta/alert/last_critical"}


def test_newest_wins_whatever_order_it_arrives_in(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    older = make_alert("warning", "older", "m")
    newer = make_alert("warning", "newer", "m")
    store.write("p", [newer])
    store.write("p", [older])  # a slow process's batch landing late
    assert store.last("p")["warning"]["title"] == "newer"
    store.close()


def test_history_is_bounded(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with emitter_for(db, history=5) as emitter:
        for i in range(12):
            emitter.emit("info", f"a{i}", "m")
        emitter.flush(5)
        sink = emitter.sink("state")
        assert isinstance(sink, StateSink)
        recent = sink.store().recent("atocore", 50)
    assert [r["title"] for r in recent] == [f"a{i}" for i in range(11, 6, -1)]


def test_background_write_is_visible_after_flush_and_inline_at_once(tmp_path: Path) -> None:
    with emitter_for(tmp_path / "bg.db") as emitter:
        emitter.emit("info", "t", "m")
        sink = emitter.sink("state")
        assert isinstance(sink, StateSink)
        assert emitter.flush(5)
        assert sink.written == 1
        assert sink.sink_status()["pending"] == 0
    with emitter_for(tmp_path / "in.db", write="inline") as emitter:
        emitter.emit("info", "t", "m")
        sink = emitter.sink("state")
        assert isinstance(sink, StateSink)
        assert sink.written == 1
        assert sink.last_alerts()["info"]["title"] == "t"


def test_unflushed_alerts_are_written_at_interpreter_exit(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    script = textwrap.dedent(f"""
        from tocsin import Config, Emitter
        from tocsin_sink_state import StateSink
        e = Emitter(Config(environ={{}}, sinks={{"state": {{"path": {str(db)!r}}}}}),
                    sinks={{"state": StateSink}}, discover=False)
        for i in range(300):
            e.emit("warning", f"w{{i}}", "m")
        # no flush, no close: the exit hook must do it
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    store = StateStore(db)
    assert store.count_history() == 300
    assert store.last("atocore")["warning"]["title"] == "w299"


def _many(db: str, proc: int) -> None:
    with emitter_for(Path(db), history=10_000) as emitter:
        for i in range(250):
            emitter.emit(["info", "warning", "critical"][i % 3], f"p{proc}-{i}", "m")


def test_several_processes_share_one_store(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_many, args=(str(db), p)) for p in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = StateStore(db)
    assert store.count_history() == 1000
    assert set(store.last("atocore")) == {"info", "warning", "critical"}
    journal = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_retry_locked_waits_out_locks_but_not_other_errors() -> None:
    from tocsin_sink_state._store import retry_locked

    calls = []

    def locked_twice() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert retry_locked(locked_twice, first_wait=0.001) == "done"
    assert len(calls) == 3

    def broken() -> None:
        calls.append(2)
        raise sqlite3.OperationalError("no such table: nope")

    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_locked(broken, first_wait=0.001)
    assert calls == [2]  # not retried

    def always_busy() -> None:
        raise sqlite3.OperationalError("database is busy")

    with pytest.raises(sqlite3.OperationalError, match="busy"):
        retry_locked(always_busy, attempts=3, first_wait=0.001)


def test_sqlite_answers_a_snapshot_conflict_at_once_hence_retry_locked(tmp_path: Path) -> None:
    """Why retry_locked exists: a read snapshot that tries to write after another commit gets
    "locked" at once; the busy timeout does not apply (the CREATE TABLE IF NOT EXISTS race)."""
    db = tmp_path / "race.db"
    first = StateStore(db)
    reader = sqlite3.connect(db, isolation_level=None, timeout=0.1)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a read snapshot
    first.write("p", [make_alert("info", "moves the database on", "m")])
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        reader.execute("INSERT INTO history (id, project, severity, title, message, timestamp, context)"
                       " VALUES ('x', 'p', 'info', 't', 'm', 'ts', '{}')")  # the conflict, at once
    reader.execute("ROLLBACK")
    first.close()


# -- issue 9 item 4: the database deleted or replaced under a running process ---------------


def test_deleted_store_is_recreated_at_its_path(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.write("p", [make_alert("info", "before", "m")])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store.write("p", [make_alert("info", "after", "m")])
    assert store.recreated == 1
    titles = [t for (t,) in sqlite3.connect(db).execute("SELECT title FROM history")]
    assert titles == ["after"]
    store.close()


def test_store_that_cannot_be_recreated_counts_the_batch_failed_not_written(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with emitter_for(db, write="inline") as emitter:
        emitter.emit("info", "lands", "m")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        db.mkdir()  # the path can no longer hold a database (root ignores permissions: not chmod)
        emitter.emit("warning", "cannot land", "m")
        status = emitter.stats()["sinks"]["state"]
    assert status["written"] == 1
    assert status["failed"] == 1
    assert status["last_error"]
