"""``tocsin last``: the last alert of each severity, contributed to the ``tocsin`` command.

Registered through the ``tocsin.commands`` entry-point group. It only reads: a store that does
not exist is reported, never created. Test alerts (context ``{"tocsin_test": true}``, sent by
``tocsin test``) are left out unless ``--include-test``: for a severity whose last alert was a
test, the newest real alert of that severity in the history is shown instead.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

import tocsin
from tocsin.cli import command_config

from ._sink import store_path
from ._store import MESSAGE_LIMIT

__all__ = ["read_last", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tocsin last`` (the ``tocsin.commands`` entry point of this distribution)."""
    last = subparsers.add_parser("last", help="the last alert of each severity, from the state store")
    last.add_argument("--json", action="store_true", help="an object keyed by severity")
    last.add_argument("--include-test", action="store_true",
                      help="show test alerts too (sent by `tocsin test`; left out by default)")
    last.set_defaults(func=_last)


def read_last(path: Path, project: str, *, include_test: bool = True) -> dict[str, dict[str, Any]]:
    """The last alert of each severity of ``project`` in the store at ``path``, read-only.

    With ``include_test=False`` a test alert (:func:`tocsin.is_test_context`) is replaced by the
    newest other alert of its severity in the history, or left out when there is none.
    Raises ``FileNotFoundError`` when there is no store there, ``sqlite3.Error`` when the file
    is not a readable store.
    """
    if not path.is_file():
        raise FileNotFoundError(str(path))
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT severity, value FROM state WHERE project = ?", (project,)).fetchall()
        last = {severity: json.loads(value) for severity, value in rows}
        if not include_test:
            for severity in [s for s, a in last.items() if tocsin.is_test_context(a.get("context"))]:
                replacement = _newest_real(db, project, severity)
                if replacement is None:
                    del last[severity]
                else:
                    last[severity] = replacement
    finally:
        db.close()
    return last


def _newest_real(db: sqlite3.Connection, project: str, severity: str) -> dict[str, Any] | None:
    """The newest alert of ``severity`` in the history that is not a test, in the state row's shape."""
    row = db.execute(
        "SELECT title, message, timestamp, id, context FROM history WHERE project = ? AND severity = ?"
        " AND json_extract(context, ?) IS NOT 1 ORDER BY seq DESC LIMIT 1",
        (project, severity, f"$.{tocsin.TEST_ALERT_KEY}"),
    ).fetchone()
    if row is None:
        return None
    title, message, timestamp, alert_id, context = row
    # The history keeps ISO 8601 with microseconds; the state row the seed's seconds.
    return {"title": title, "message": message[:MESSAGE_LIMIT], "timestamp": timestamp[:19] + "Z",
            "id": alert_id, "context": json.loads(context)}


def _projects(path: Path) -> list[str]:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT DISTINCT project FROM state ORDER BY project")]
    finally:
        db.close()


def _last(args: argparse.Namespace) -> int:
    config = command_config(args)
    name = (config.instances_of("state") or ["state"])[0]  # an instance may run it under another name
    enabled, reason = config.sink_enabled(name, "state")
    if not enabled:
        args.err.write(f"tocsin: note: the state sink is {reason}; showing what its store holds\n")
    path = store_path(config.settings_for(name))
    try:
        last = read_last(path, config.project, include_test=args.include_test)
    except FileNotFoundError:
        args.err.write(f"tocsin: no state store at {path}: no alert has been recorded there yet\n")
        return 1
    except sqlite3.Error as exc:
        args.err.write(f"tocsin: {path} is not a readable state store: {exc}\n")
        return 1
    if args.json:
        args.out.write(json.dumps(last, indent=2, ensure_ascii=False) + "\n")
        return 0
    if not last:
        others = [p for p in _projects(path) if p != config.project]
        hint = f"; it holds alerts of project {', '.join(others)}" if others else ""
        if not args.include_test and read_last(path, config.project):
            hint += "; only test alerts (--include-test shows them)"
        args.out.write(f"no alerts recorded yet for project {config.project!r} in {path}{hint}\n")
        return 0
    for severity in ("critical", "warning", "info"):
        if severity in last:
            a = last[severity]
            resolved = "RESOLVED " if a.get("status") == "resolved" else ""
            args.out.write(f"{severity:<9} {a['timestamp']}  {resolved}{a['title']}: {a['message']}\n")
    return 0
