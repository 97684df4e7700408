"""The state store records resolves and counts, and a store from before gains the columns."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

from tocsin._alert import make_alert
from tocsin_sink_state._store import StateStore

OLD_SCHEMA = """
CREATE TABLE state (key TEXT PRIMARY KEY, project TEXT NOT NULL, severity TEXT NOT NULL, value TEXT NOT NULL,
                    updated_at TEXT NOT NULL);
CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, project TEXT NOT NULL,
                      severity TEXT NOT NULL, title TEXT NOT NULL, message TEXT NOT NULL, timestamp TEXT NOT NULL,
                      context TEXT NOT NULL);
INSERT INTO history (id, project, severity, title, message, timestamp, context)
VALUES ('old', 'atocore', 'warning', 'before', 'm', '2026-01-01T00:00:00+00:00', '{}');
"""


def test_a_store_from_before_gains_status_and_repeats_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    store = StateStore(path)
    store.write("atocore", [dataclasses.replace(make_alert("critical", "db down", "back", status="resolved"),
                                                repeats=2)])
    rows = store.recent("atocore")
    assert [(r["title"], r["status"], r["repeats"]) for r in rows] == [("db down", "resolved", 2),
                                                                         ("before", "firing", 0)]
    last = store.last("atocore")["critical"]
    assert (last["status"], last["repeats"]) == ("resolved", 2)
    store.close()
    StateStore(path).close()  # migrating twice is a no-op


def test_a_firing_alert_keeps_the_seed_value(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.write("atocore", [make_alert("warning", "t", "m")])
    value = json.loads(sqlite3.connect(tmp_path / "state.db").execute("SELECT value FROM state").fetchone()[0])
    assert sorted(value) == ["context", "id", "message", "timestamp", "title"]
    store.close()
