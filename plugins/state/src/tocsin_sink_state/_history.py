"""Reading the state store: history, counts and the last alerts, read-only.

Every function opens the SQLite file with ``mode=ro``: reading never creates a store, never
takes the write lock, and works beside a running writer (WAL mode). Each call opens and closes
its own connection, so any thread may call them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from tocsin import TEST_ALERT_KEY, Config, Severity, TocsinError, is_test_context, load_config

from ._duration import parse_since
from ._store import MESSAGE_LIMIT

__all__ = ["MAX_LIMIT", "StoreError", "count_history", "history", "last", "severity_counts", "store_location"]

MAX_LIMIT: Final = 10_000
"""The most entries one :func:`history` call returns."""

_SEVERITIES: Final = tuple(s.value for s in Severity)


class StoreError(TocsinError):
    """The state store cannot be read: missing (nothing recorded yet, or the state sink is not
    enabled), not a tocsin store, or corrupt. The message says which, and where."""


def store_location(config: Config | None = None) -> tuple[Path, str]:
    """Where the state sink of ``config`` (default: :func:`tocsin.load_config`) keeps its store,
    and its project: what the other functions read when not given a path."""
    from ._sink import store_path

    config = load_config() if config is None else config
    # An instance may run the state sink under another name ([sinks.audit] type = "state").
    name = (config.instances_of("state") or ["state"])[0]
    return store_path(config.settings_for(name)), config.project


@contextlib.contextmanager
def _connect(path: Path | str | None, config: Config | None) -> Iterator[sqlite3.Connection]:
    where = Path(path) if path is not None else store_location(config)[0]
    if not where.is_file():
        raise StoreError(f"no state store at {where} (no alert recorded yet, or the state sink is not enabled)")
    uri = f"file:{urllib.parse.quote(str(where.resolve()))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5.0, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the state store {where}: {exc}") from None
    try:
        try:
            columns = {row[1] for row in db.execute("PRAGMA table_info(history)")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{where} is not a readable tocsin state store: {exc}") from None
        if not {"id", "severity", "title", "timestamp"} <= columns:
            raise StoreError(f"{where} is not a tocsin state store (it has no alert history table)")
        db.row_factory = sqlite3.Row
        yield db
    except sqlite3.DatabaseError as exc:  # corruption found past the schema, mid-query
        raise StoreError(f"the state store {where} could not be read: {exc}") from None
    finally:
        db.close()


def _severities(severity: str | Iterable[str] | None) -> list[str]:
    if severity is None:
        return []
    names = severity.split(",") if isinstance(severity, str) else list(severity)
    out = []
    for name in names:
        name = str(name).strip().lower()
        if not name:
            continue
        if name not in _SEVERITIES:
            raise ValueError(f"severity: {name[:40]!r} is not one of {', '.join(_SEVERITIES)}")
        out.append(name)
    return out


def _where(
    project: str, severity: str | Iterable[str] | None, since: object, grep: str | None, include_test: bool = False
) -> tuple[str, list[object]]:
    clauses: list[str] = ["project = ?"]
    params: list[object] = [project]
    if not include_test:
        # `tocsin test`'s alerts carry {TEST_ALERT_KEY: true}; the context is stored as json.dumps wrote it
        clauses.append("context NOT LIKE ?")
        params.append(f'%"{TEST_ALERT_KEY}": true%')
    names = _severities(severity)
    if names:
        clauses.append(f"severity IN ({', '.join('?' * len(names))})")
        params.extend(names)
    if since is not None and since != "":
        cutoff = parse_since(since)  # type: ignore[arg-type]  # parse_since says what it accepts
        clauses.append("timestamp >= ?")
        params.append(cutoff.astimezone(_dt.timezone.utc).isoformat())
    if grep:
        pattern = "%" + grep.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(title LIKE ? ESCAPE '\\' OR message LIKE ? ESCAPE '\\' OR context LIKE ? ESCAPE '\\')")
        params.extend([pattern, pattern, pattern])
    return " AND ".join(clauses), params


def _whole(value: object, name: str, minimum: int, maximum: int) -> int:
    """``value`` as an int within bounds, or a ValueError that says what was expected."""
    text = str(value).strip()
    if isinstance(value, bool) or not (isinstance(value, int) or text.isdigit() or
                                       (text.startswith("-") and text[1:].isdigit())):
        raise ValueError(f"{name}: expected a whole number, got {text[:40]!r}")
    number = int(text)
    if not minimum <= number <= maximum:
        raise ValueError(f"{name}: must be between {minimum} and {maximum}, got {number}")
    return number


def _timestamp(text: str) -> str:
    return text.replace("+00:00", "Z")


def _project(project: str | None, config: Config | None) -> str:
    return project if project is not None else (load_config() if config is None else config).project


def history(
    path: Path | str | None = None,
    *,
    severity: str | Sequence[str] | None = None,
    since: str | _dt.timedelta | _dt.datetime | None = None,
    grep: str | None = None,
    limit: int = 50,
    offset: int = 0,
    project: str | None = None,
    config: Config | None = None,
    include_test: bool = False,
) -> list[dict[str, Any]]:
    """The alerts of the state store's history, newest first.

    :param path: the store (default: the state sink's ``path`` in ``config``).
    :param severity: only these: "critical", a comma-separated "warning,critical", or a list.
    :param since: only alerts at or after this: a duration ago ("30s", "10m", "1h", "2d"), a
        ``timedelta``, or a time (ISO 8601 text or an aware ``datetime``).
    :param grep: only alerts whose title, message or context contains this text (case-insensitive
        for ASCII letters).
    :param limit: at most this many (1 … :data:`MAX_LIMIT`); ``offset`` skips the newest ones first.
    :param project: the project whose alerts to read (default: ``config``'s ``project``).
    :param config: where the defaults come from (default: :func:`tocsin.load_config`).
    :param include_test: also the test alerts of ``tocsin test`` (left out by default).

    Each entry: ``id``, ``seq`` (the row's order of arrival), ``severity``, ``status``
    ("firing", or "resolved" for tocsin.resolve_alert), ``title``, ``message``, ``context`` (a dict),
    ``timestamp`` (ISO 8601, UTC, ``Z``), ``host`` ("" for alerts recorded before 0.2) and
    ``project``.

    :raises ValueError: a filter is invalid (the message says which and why).
    :raises StoreError: the store is missing, not a tocsin store, or unreadable.
    """
    limit = _whole(limit, "limit", 1, MAX_LIMIT)
    offset = _whole(offset, "offset", 0, 2**62)
    project = _project(project, config)
    where, params = _where(project, severity, since, grep, include_test)
    with _connect(path, config) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(history)")}
        host = "host" if "host" in columns else "''"
        status = "status" if "status" in columns else "'firing'"
        rows = db.execute(
            f"SELECT seq, id, severity, {status} AS status, title, message, context, timestamp,"  # noqa: S608 - column names from PRAGMA, values bound
            f" {host} AS host, project FROM history WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    try:
        context = json.loads(row["context"])
    except (TypeError, ValueError):
        context = {"_unreadable_context": str(row["context"])[:200]}
    return {
        "id": row["id"],
        "seq": row["seq"],
        "severity": row["severity"],
        "status": row["status"] or "firing",
        "title": row["title"],
        "message": row["message"],
        "context": context,
        "timestamp": _timestamp(row["timestamp"]),
        "host": row["host"] or "",
        "project": row["project"],
    }


def count_history(
    path: Path | str | None = None,
    *,
    severity: str | Sequence[str] | None = None,
    since: str | _dt.timedelta | _dt.datetime | None = None,
    grep: str | None = None,
    project: str | None = None,
    config: Config | None = None,
    include_test: bool = False,
) -> int:
    """How many alerts :func:`history` would find with these filters, without a limit."""
    project = _project(project, config)
    where, params = _where(project, severity, since, grep, include_test)
    with _connect(path, config) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM history WHERE {where}", params).fetchone()[0])  # noqa: S608 - values bound


def severity_counts(
    path: Path | str | None = None,
    *,
    since: str | _dt.timedelta | _dt.datetime = "24h",
    buckets: int = 24,
    project: str | None = None,
    config: Config | None = None,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """Alerts per severity over time: ``buckets`` equal slices from ``since`` to ``now``.

    Returns ``{"start": ISO, "end": ISO, "bucket_seconds": float, "series": {"critical": [n, …],
    "warning": […], "info": […]}}``, each list ``buckets`` long, oldest slice first.
    """
    buckets = _whole(buckets, "buckets", 1, 500)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    start = parse_since(since, now)
    span = max((now - start).total_seconds(), 1.0)
    width = span / buckets
    series = {name: [0] * buckets for name in reversed(_SEVERITIES)}
    project = _project(project, config)
    with _connect(path, config) as db:
        rows = db.execute(
            "SELECT severity, timestamp FROM history WHERE project = ? AND timestamp >= ?",
            (project, start.astimezone(_dt.timezone.utc).isoformat()),
        ).fetchall()
    for row in rows:
        try:
            when = _dt.datetime.fromisoformat(row["timestamp"])
        except ValueError:
            continue
        index = int((when - start).total_seconds() // width)
        if row["severity"] in series and 0 <= index < buckets:
            series[row["severity"]][index] += 1
        elif row["severity"] in series and index == buckets:  # exactly at "now"
            series[row["severity"]][-1] += 1
    return {"start": _timestamp(start.isoformat()), "end": _timestamp(now.isoformat()),
            "bucket_seconds": width, "series": series}


def last(
    path: Path | str | None = None,
    *,
    project: str | None = None,
    config: Config | None = None,
    include_test: bool = True,
) -> dict[str, dict[str, Any]]:
    """The last alert of each severity (title, message, timestamp, id, context), keyed by
    severity: what ``tocsin last`` shows, read-only.

    With ``include_test=False`` a test alert (:func:`tocsin.is_test_context`) is replaced by the
    newest other alert of its severity in the history, or left out when there is none.
    """
    project = _project(project, config)
    with _connect(path, config) as db:
        rows = db.execute("SELECT severity, value FROM state WHERE project = ?", (project,)).fetchall()
        out = {}
        for row in rows:
            try:
                out[row["severity"]] = json.loads(row["value"])
            except ValueError:
                continue
        if not include_test:
            for severity in [s for s, a in out.items() if is_test_context(a.get("context"))]:
                replacement = _newest_real(db, project, severity)
                if replacement is None:
                    del out[severity]
                else:
                    out[severity] = replacement
    return out


def _stored_projects(path: Path | str | None = None, *, config: Config | None = None) -> list[str]:
    """The projects that have a last alert in the store, sorted, read-only."""
    with _connect(path, config) as db:
        return [row[0] for row in db.execute("SELECT DISTINCT project FROM state ORDER BY project")]


def _newest_real(db: sqlite3.Connection, project: str, severity: str) -> dict[str, Any] | None:
    """The newest alert of ``severity`` in the history that is not a test, in the state row's shape."""
    row = db.execute(
        "SELECT title, message, timestamp, id, context FROM history WHERE project = ? AND severity = ?"
        " AND json_extract(context, ?) IS NOT 1 ORDER BY seq DESC LIMIT 1",
        (project, severity, f"$.{TEST_ALERT_KEY}"),
    ).fetchone()
    if row is None:
        return None
    title, message, timestamp, alert_id, context = row
    # The history keeps ISO 8601 with microseconds; the state row the seed's seconds.
    return {"title": title, "message": message[:MESSAGE_LIMIT], "timestamp": timestamp[:19] + "Z",
            "id": alert_id, "context": json.loads(context)}
