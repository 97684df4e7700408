"""Repeat suppression: the bookkeeping store shared by processes (real SQLite files, real
processes), and the filter a destination or the registry applies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tocsin import Config, Emitter
from tocsin._alert import Alert, make_alert
from tocsin._repeat import RepeatFilter, RepeatStore, last_fired_severity, repeat_store_path
from tocsin.testing import RecordingSink


def at(alert: Alert, seconds: float) -> Alert:
    """``alert`` as if raised ``seconds`` after 2026-01-01T00:00:00Z."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return dataclasses.replace(alert, timestamp=base + dt.timedelta(seconds=seconds))


def flt(tmp_path: Path, interval: float = 3600, group_by: tuple[str, ...] = ("severity", "title"),
        instance: str = "oncall") -> RepeatFilter:
    return RepeatFilter(instance, interval, group_by, tmp_path / "repeats.db", "atocore")


def test_repeats_within_the_interval_are_held_back_and_counted_then_reported(tmp_path: Path) -> None:
    f = flt(tmp_path)
    a = make_alert("critical", "disk full", "m")
    [first] = f.filter([at(a, 0)])
    assert first.repeats == 0
    assert first.id == a.id
    assert f.filter([at(a, 60), at(a, 120)]) == []
    assert f.filter([at(a, 3599)]) == []
    [sent] = f.filter([at(a, 3600)])
    assert sent.repeats == 3
    assert sent.repeats_since == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert sent.repeats_text() == "repeated 3 times since 2026-01-01T00:00:00Z"
    [again] = f.filter([at(a, 7200)])
    assert again.repeats == 0
    assert again.repeats_since is None


def test_the_first_of_a_batch_goes_and_the_rest_are_counted(tmp_path: Path) -> None:
    f = flt(tmp_path)
    a = make_alert("warning", "t", "m")
    sent = f.filter([at(a, i) for i in range(5)])
    assert len(sent) == 1
    assert RepeatStore(tmp_path / "repeats.db").counts("oncall") == {('["t"]', "warning"): 4}


def test_groups_are_separate_by_group_by_labels_and_by_instance(tmp_path: Path) -> None:
    f = flt(tmp_path, group_by=("title", "queue"))
    alerts = [make_alert("warning", "backlog", "m", {"queue": q}) for q in ("a", "b", "a")]
    assert [x.context["queue"] for x in f.filter(alerts)] == ["a", "b"]
    # severity is not in group_by: a critical of the same title and queue is a repeat
    assert f.filter([make_alert("critical", "backlog", "m", {"queue": "a"})]) == []
    other = flt(tmp_path, group_by=("title", "queue"), instance="team")
    assert len(other.filter(alerts)) == 2


def test_a_resolve_passes_reports_the_count_and_resets_the_group(tmp_path: Path) -> None:
    f = flt(tmp_path)
    fire = make_alert("critical", "db down", "m")
    f.filter([at(fire, 0), at(fire, 60), at(fire, 120)])
    # resolve_alert may not know the severity: a resolve ends the group at every severity
    resolve = make_alert("info", "db down", "back", status="resolved")
    [passed] = f.filter([at(resolve, 130)])
    assert passed.status == "resolved"
    assert passed.repeats == 2
    [again] = f.filter([at(resolve, 131)])  # nothing left to reset: passes as it is
    assert again.repeats == 0
    [refired] = f.filter([at(fire, 140)])  # the next firing goes at once, with no count
    assert refired.repeats == 0


def test_off_when_the_interval_is_zero_and_test_alerts_always_pass(tmp_path: Path) -> None:
    a = make_alert("info", "t", "m")
    assert len(flt(tmp_path, interval=0).filter([a, a, a])) == 3
    assert not (tmp_path / "repeats.db").exists()
    probe = make_alert("info", "tocsin test alert", "m", {"test": True})
    f = flt(tmp_path)
    assert len(f.filter([probe, probe, a, a])) == 3  # both probes (`tocsin test`) and the first a


def test_an_unusable_store_sends_everything(tmp_path: Path) -> None:
    (tmp_path / "repeats.db").mkdir()  # a directory where the file should be
    a = make_alert("info", "t", "m")
    assert len(flt(tmp_path).filter([a, a])) == 2


def test_the_severity_a_title_last_fired_with_is_remembered(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "a dir?with#odd chars")}
    assert repeat_store_path(env) == tmp_path / "a dir?with#odd chars" / "tocsin" / "repeats.db"
    assert last_fired_severity(env, "atocore", "db down") is None
    f = RepeatFilter("oncall", 60, ("severity", "title"), repeat_store_path(env), "atocore")
    f.filter([at(make_alert("warning", "db down", "m"), 0), at(make_alert("critical", "db down", "m"), 10)])
    found = last_fired_severity(env, "atocore", "db down")
    assert found is not None
    assert found.value == "critical"
    assert last_fired_severity(env, "other-project", "db down") is None


def _hammer(path: str, rounds: int, instance: str, ready: Any, go: Any) -> None:
    f = RepeatFilter(instance, 3600, ("severity", "title"), Path(path), "atocore")
    a = make_alert("critical", "same", "m")
    ready.release()
    go.wait(60)  # every process starts at once: they really contend for the store
    for _ in range(rounds):
        f.filter([a])


def test_concurrent_processes_lose_no_count(tmp_path: Path) -> None:
    """8 processes x 40 filters of one group, all at once, on one file: one goes, 319 counted."""
    ctx = multiprocessing.get_context("spawn")  # separate interpreters, as cron jobs are
    ready, go = ctx.Semaphore(0), ctx.Event()
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path / "repeats.db"), 40, "oncall", ready, go))
             for _ in range(8)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=60)
    go.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert RepeatStore(tmp_path / "repeats.db").counts("oncall") == {('["same"]', "critical"): 8 * 40 - 1}


def test_expire_lets_the_next_one_through_with_its_count(tmp_path: Path) -> None:
    f = flt(tmp_path)
    a = make_alert("critical", "t", "m")
    f.filter([a, a, a])
    store = RepeatStore(tmp_path / "repeats.db")
    assert store.expire("oncall") == 1
    [sent] = f.filter([a])
    assert sent.repeats == 2


def test_a_local_sink_with_a_repeat_interval_is_filtered_by_the_registry(tmp_path: Path) -> None:
    config = Config(environ={"XDG_STATE_HOME": str(tmp_path)},
                    sinks={"rec": {"repeat_interval": "1h"}, "all": {"type": "rec"}})
    with Emitter(config, sinks={"rec": RecordingSink}, discover=False) as emitter:
        for _ in range(3):
            emitter.emit("warning", "same", "m")
        emitter.emit("warning", "same", "m", status="resolved")
        emitter.emit("warning", "same", "m")
        rec, every = emitter.sink("rec"), emitter.sink("all")
        assert isinstance(rec, RecordingSink)
        assert isinstance(every, RecordingSink)
        assert [(a.status, a.repeats) for a in rec.alerts] == [("firing", 0), ("resolved", 2), ("firing", 0)]
        assert len(every.alerts) == 5
    assert (tmp_path / "tocsin" / "repeats.db").is_file()


def test_the_store_is_plain_sqlite_in_wal_mode(tmp_path: Path) -> None:
    flt(tmp_path).filter([make_alert("info", "t", "m")])
    db = sqlite3.connect(tmp_path / "repeats.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT instance, key, severity, suppressed FROM repeats").fetchall() == [
        ("oncall", '["t"]', "info", 0)]


@pytest.mark.parametrize("group_by", [(), ("title",), ("severity",), ("host", "project", "queue")])
def test_any_group_by_gives_a_stable_key(tmp_path: Path, group_by: tuple[str, ...]) -> None:
    f = flt(tmp_path, group_by=group_by)
    a, b = make_alert("info", "t", "m", {"queue": 1}), make_alert("info", "t", "m", {"queue": 1})
    assert f.key(a) == f.key(b)
    assert len(f.filter([a, b])) == 1


def test_a_resolve_inside_a_batch_sees_the_counts_before_it_and_resets_for_those_after(tmp_path: Path) -> None:
    f = flt(tmp_path)
    fire = make_alert("critical", "db down", "m")
    resolve = make_alert("critical", "db down", "back", status="resolved")
    sent = f.filter([at(fire, 0), at(fire, 1), at(fire, 2), at(resolve, 3), at(fire, 4), at(fire, 5)])
    assert [(a.status, a.repeats) for a in sent] == [("firing", 0), ("resolved", 2), ("firing", 0)]
    assert RepeatStore(tmp_path / "repeats.db").counts("oncall") == {('["db down"]', "critical"): 1}
