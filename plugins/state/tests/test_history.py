"""History read back from a real SQLite store: the Python function and ``tocsin history``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin import Config
from tocsin._alert import make_alert
from tocsin_sink_state import (
    StateStore,
    StoreError,
    count_history,
    history,
    last,
    parse_since,
    severity_counts,
    store_location,
)

NOW = dt.datetime.now(dt.timezone.utc)


def write(path: Path, *alerts: tuple[str, str, str, dict[str, object] | None, float], project: str = "atocore") -> None:
    """Record alerts (severity, title, message, context, seconds ago) in the order given."""
    store = StateStore(path)
    batch = []
    now = dt.datetime.now(dt.timezone.utc)  # not at import: a full run reaches this minutes later
    for severity, title, message, context, ago in alerts:
        alert = make_alert(severity, title, message, context)
        batch.append(dataclasses.replace(alert, timestamp=now - dt.timedelta(seconds=ago)))
    store.write(project, batch)
    store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    write(
        path,
        ("info", "deploy started", "v1.2", {"env": "prod"}, 7000),
        ("warning", "disk at 91%", "on /srv", {"mount": "/srv"}, 1700),
        ("critical", "Backup FAILED", "exit 3\nstderr: disk full", {"job": "nightly"}, 300),
        ("info", "100% done_ok", "literal wildcards", None, 60),
        ("critical", "replica lag", "412 s", {"replica": "db2"}, 10),
    )
    write(path, ("critical", "other project", "m", None, 5), project="beta")
    return path


def test_newest_first_with_every_field(db: Path) -> None:
    entries = history(db, project="atocore")
    assert [e["title"] for e in entries] == ["replica lag", "100% done_ok", "Backup FAILED", "disk at 91%",
                                              "deploy started"]
    first = entries[0]
    assert set(first) >= {"id", "severity", "status", "title", "message", "context", "timestamp", "host"}
    assert first["severity"] == "critical"
    assert first["status"] == "firing"
    assert first["context"] == {"replica": "db2"}
    assert first["timestamp"].endswith("Z")
    assert first["host"]
    assert len(first["id"]) == 32


def test_filters(db: Path) -> None:
    titles = lambda **kw: [e["title"] for e in history(db, project="atocore", **kw)]  # noqa: E731 - a local shorthand
    assert titles(severity="critical") == ["replica lag", "Backup FAILED"]
    assert titles(severity="warning,critical") == ["replica lag", "Backup FAILED", "disk at 91%"]
    assert titles(severity=["info"]) == ["100% done_ok", "deploy started"]
    assert titles(since="1h") == ["replica lag", "100% done_ok", "Backup FAILED", "disk at 91%"]
    assert titles(since=dt.timedelta(minutes=2)) == ["replica lag", "100% done_ok"]
    assert titles(grep="backup") == ["Backup FAILED"]  # case-insensitive
    assert titles(grep="disk full") == ["Backup FAILED"]  # in the message
    assert titles(grep="db2") == ["replica lag"]  # in the context
    assert titles(grep="%") == ["100% done_ok", "disk at 91%"]  # a literal %, not a wildcard
    assert titles(grep="e_o") == ["100% done_ok"]  # a literal _, not a wildcard
    assert titles(limit=2) == ["replica lag", "100% done_ok"]
    assert titles(limit=2, offset=2) == ["Backup FAILED", "disk at 91%"]
    assert count_history(db, project="atocore", severity="critical") == 2
    assert [e["title"] for e in history(db, project="beta")] == ["other project"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"since": "nonsense"}, "since: 'nonsense' is neither a duration"),
    ({"limit": -1}, "limit: must be between 1 and 10000, got -1"),
    ({"limit": "ten"}, "limit: expected a whole number, got 'ten'"),
    ({"limit": 0}, "limit: must be between 1"),
    ({"offset": -5}, "offset: must be between 0"),
    ({"severity": "loud"}, "severity: 'loud' is not one of info, warning, critical"),
])
def test_bad_filters_say_what_is_wrong(db: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        history(db, project="atocore", **kwargs)  # type: ignore[arg-type]  # wrong on purpose


def test_a_missing_store_is_reported_and_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "state.db"
    with pytest.raises(StoreError, match=r"no state store at .*nowhere"):
        history(missing, project="p")
    with pytest.raises(StoreError):
        last(missing, project="p")
    assert not missing.parent.exists()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_a_corrupt_store_is_a_store_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="state store"):
        history(path, project="p")


def test_a_database_of_something_else_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="is not a tocsin state store"):
        history(path, project="p")


def test_reading_never_writes(db: Path) -> None:
    before = db.stat().st_mtime_ns, db.read_bytes()
    history(db, project="atocore")
    last(db, project="atocore")
    severity_counts(db, project="atocore")
    assert (db.stat().st_mtime_ns, db.read_bytes()) == before
    # A reader of a WAL database needs its shared-memory index: SQLite may add the store's own
    # -wal and -shm companions, and nothing else.
    assert {p.name for p in db.parent.iterdir()} <= {"state.db", "state.db-wal", "state.db-shm"}


def test_reads_beside_an_open_writer(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    store.write("p", [make_alert("warning", "while open", "m")])
    try:
        assert [e["title"] for e in history(path, project="p")] == ["while open"]
    finally:
        store.close()


def test_an_older_store_gains_the_host_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE state (key TEXT PRIMARY KEY, project TEXT NOT NULL, severity TEXT NOT NULL,
                            value TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, project TEXT NOT NULL,
                              severity TEXT NOT NULL, title TEXT NOT NULL, message TEXT NOT NULL,
                              timestamp TEXT NOT NULL, context TEXT NOT NULL);
        INSERT INTO history (id, project, severity, title, message, timestamp, context)
        VALUES ('a' , 'p', 'info', 'from 0.1', 'm', '2026-01-01T00:00:00+00:00', '{}');
    """)
    old.commit()
    old.close()
    # Read before any migration: no host column, the entry still has one.
    assert history(path, project="p")[0]["host"] == ""
    store = StateStore(path)  # a new writer migrates
    store.write("p", [make_alert("info", "from 0.2", "m")])
    store.close()
    entries = history(path, project="p")
    assert [(e["title"], bool(e["host"])) for e in entries] == [("from 0.2", True), ("from 0.1", False)]


def test_defaults_come_from_the_configuration(db: Path) -> None:
    config = Config(environ={}, project="beta", sinks={"state": {"path": str(db)}})
    assert [e["title"] for e in history(config=config)] == ["other project"]
    assert last(config=config)["critical"]["title"] == "other project"


def test_a_renamed_state_instance_is_read_where_it_writes(db: Path) -> None:
    # [sinks.audit] type = "state": history, the dashboard and `tocsin last` read its store, as
    # `tocsin last` already did; before, history read the default path of an instance "state".
    config = Config(environ={}, project="beta", sinks={"audit": {"type": "state", "path": str(db)}})
    assert store_location(config) == (db, "beta")
    assert [e["title"] for e in history(config=config)] == ["other project"]


def test_last_without_test_alerts_shows_the_newest_real_one(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    write(path, ("warning", "real", "m", None, 60), ("warning", "a test", "m", {"tocsin_test": True}, 0))
    assert last(path, project="atocore")["warning"]["title"] == "a test"
    assert last(path, project="atocore", include_test=False)["warning"]["title"] == "real"


def test_severity_counts_per_bucket(db: Path) -> None:
    counts = severity_counts(db, project="atocore", since="3h", buckets=6)
    assert counts["bucket_seconds"] == 1800
    assert counts["series"] == {
        "critical": [0, 0, 0, 0, 0, 2],
        "warning": [0, 0, 0, 0, 0, 1],
        "info": [0, 0, 1, 0, 0, 1],
    }


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172800), ("1w", 604800), ("1h30m", 5400),
    ("90", 90), (" 5 minutes ", 300), ("1.5h", 5400), ("0s", 0),
])
def test_parse_since_durations(text: str, seconds: int) -> None:
    assert parse_since(text, NOW) == NOW - dt.timedelta(seconds=seconds)


def test_parse_since_times() -> None:
    assert parse_since("2026-11-29T10:00:00Z", NOW) == dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)
    assert parse_since("2026-11-29T10:00", NOW) == dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_parse_since_rejects_nonsense_with_a_value_error_only(text: str) -> None:
    try:
        parse_since(text, NOW)
    except ValueError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("since: ")


# -- the command, in a real process ---------------------------------------------------------

def run_history(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'[tocsin]\nproject = "atocore"\n[sinks.state]\npath = {json.dumps(str(db))}\n')
    # The real command: tocsin's CLI finds "history" through the tocsin.commands entry point.
    return subprocess.run([sys.executable, "-m", "tocsin", "--config", str(config), "history", *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)


def test_command_json_and_text(tmp_path: Path, db: Path) -> None:
    done = run_history(tmp_path, db, "--json", "--severity", "critical")
    assert done.returncode == 0, done.stderr
    assert [e["title"] for e in json.loads(done.stdout)] == ["replica lag", "Backup FAILED"]
    done = run_history(tmp_path, db, "--since", "1h", "--grep", "disk", "--limit", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert "critical  Backup FAILED: exit 3" in lines[0]
    assert "warning" in lines[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "nonsense"], "since: 'nonsense' is neither a duration"),
    (["--limit", "-1"], "limit: must be between 1 and 10000, got -1"),
])
def test_command_bad_options_exit_2_with_a_clear_message(
    tmp_path: Path, db: Path, args: list[str], message: str
) -> None:
    done = run_history(tmp_path, db, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_command_missing_store_exits_1_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "state.db"
    done = run_history(tmp_path, missing, "--json")
    assert done.returncode == 1
    assert "no state store at" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.parent.exists()


def test_command_escapes_terminal_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    write(path, ("critical", "evil \x1b[2J\x1b]0;pwned\x07 title", "m", None, 1))
    done = run_history(tmp_path, path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    assert "\\x1b[2J" in done.stdout


def test_history_leaves_out_test_alerts_unless_asked(tmp_path: Path) -> None:
    """`tocsin test`'s alert (marked with TEST_ALERT_KEY) is not an alert that fired."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"), HOME=str(tmp_path),
               TOCSIN_ENABLE="state")

    def tocsin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tocsin", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)

    assert tocsin("emit", "warning", "real one", "m").returncode == 0
    assert tocsin("test").returncode == 0
    default = json.loads(tocsin("history", "--json").stdout)
    assert [e["title"] for e in default] == ["real one"]
    everything = json.loads(tocsin("history", "--json", "--include-test").stdout)
    assert [e["title"] for e in everything] == ["tocsin test alert", "real one"]


def test_a_resolve_is_marked_in_last_and_history(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"), HOME=str(tmp_path),
               TOCSIN_ENABLE="state")

    def tocsin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tocsin", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)

    assert tocsin("emit", "critical", "Backup failed", "rsync 23").returncode == 0
    assert tocsin("resolve", "Backup failed", "rsync ok now", "--severity", "critical").returncode == 0
    assert "RESOLVED Backup failed: rsync ok now" in tocsin("last").stdout
    lines = tocsin("history").stdout.splitlines()
    assert "RESOLVED Backup failed: rsync ok now" in lines[0]
    assert "RESOLVED" not in lines[1]
