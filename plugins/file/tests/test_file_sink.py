from __future__ import annotations

import json
import multiprocessing
import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin import Config, Emitter
from tocsin._alert import make_alert
from tocsin_sink_file import FileSink, format_text
from tocsin_sink_file._format import CONTEXT_JSON_LIMIT, escape_line

LINE = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] \[(INFO|WARNING|CRITICAL)\] .*$")


def emitter_for(path: Path, **table: Any) -> Emitter:
    config = Config(environ={}, sinks={"file": {"path": str(path), **table}})
    return Emitter(config, sinks={"file": FileSink}, discover=False)


def test_line_in_the_seed_format(tmp_path: Path) -> None:
    log = tmp_path / "a" / "alerts.log"
    with emitter_for(log) as emitter:
        alert = emitter.emit("warning", "Disk", "91% full", {"mount": "/var"})
        emitter.emit("info", "No context", "m")
    first, second = log.read_text().splitlines()
    assert first == f'[{alert.timestamp_text}] [WARNING] Disk: 91% full {{"mount": "/var"}}'
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] \[INFO\] No context: m", second)


@pytest.mark.parametrize("evil", ["a\nb", "a\r\nb", "a\rb", "a\x1b[31mb", "a\u2028b", "a\u2029b", "a\x85b",
                                  "a\x00b", "a\tb", "a\x7fb"])
def test_no_alert_can_forge_a_line(tmp_path: Path, evil: str) -> None:
    log = tmp_path / "alerts.log"
    forged = f"{evil}\n[2026-01-01T00:00:00Z] [CRITICAL] forged: yes"
    with emitter_for(log) as emitter:
        emitter.emit("info", forged, forged, {forged: forged})
    text = log.read_text()
    assert text.count("\n") == 1
    assert len(text.splitlines()) == 1  # also by Python's wider idea of a line break
    assert LINE.match(text.rstrip("\n"))
    assert "\\n[2026-01-01T00:00:00Z]" in text


def test_escape_line() -> None:
    assert escape_line("a\nb\rc\td\x1be\u2028") == "a\\nb\\rc\\td\\x1be\\u2028"
    assert escape_line("plain ünïcødé") == "plain ünïcødé"


def test_long_context_stays_valid_json_within_the_seed_bound() -> None:
    alert = make_alert("info", "t", "m", {f"key{i}": "v" * 300 for i in range(40)})
    tail = format_text(alert).rstrip("\n").split("m ", 1)[1]
    data = json.loads(tail)
    assert len(tail) <= CONTEXT_JSON_LIMIT
    assert "key0" in data
    assert data["…"].endswith("more keys cut")


def test_jsonl_format(tmp_path: Path) -> None:
    log = tmp_path / "alerts.jsonl"
    with emitter_for(log, format="jsonl") as emitter:
        alert = emitter.emit("critical", "t\u2028", "m", {"k": [1, 2]})
    [line] = log.read_text().splitlines()
    assert line.isascii()
    data = json.loads(line)
    assert data["id"] == alert.id
    assert data["title"] == "t\u2028"
    assert data["context"] == {"k": [1, 2]}


def test_bad_format_is_a_config_problem(tmp_path: Path) -> None:
    with emitter_for(tmp_path / "x.log", format="xml") as emitter:
        assert [p.key for p in emitter.config.errors] == ["sinks.file.format"]
        assert emitter.sink("file").format == "text"  # type: ignore[union-attr]


def test_survives_rotation_by_rename_and_by_removal(tmp_path: Path) -> None:
    log = tmp_path / "alerts.log"
    with emitter_for(log) as emitter:
        emitter.emit("info", "one", "m")
        log.rename(tmp_path / "alerts.log.1")  # logrotate's default
        emitter.emit("info", "two", "m")
        log.unlink()
        emitter.emit("info", "three", "m")
    assert "one" in (tmp_path / "alerts.log.1").read_text()
    assert "two" not in (tmp_path / "alerts.log.1").read_text()
    assert log.read_text().count("\n") == 1
    assert "three" in log.read_text()


def test_unwritable_path_raises_for_tocsin_to_count(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with emitter_for(tmp_path / "file" / "alerts.log") as emitter:
        emitter.emit("info", "t", "m")
        status = emitter.stats()["sinks"]["file"]
    assert status["failures"] == 1
    assert str(tmp_path / "file") in status["last_error"]  # FileExistsError or NotADirectoryError


def _writer(path: str, proc: int, threads: int, per_thread: int) -> None:
    with emitter_for(Path(path)) as emitter:

        def work(t: int) -> None:
            for i in range(per_thread):
                emitter.emit("info", f"p{proc}-t{t}-{i}", "x" * (i % 300), {"i": i})

        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()


def test_4_processes_x_4_threads_x_500_alerts_give_8000_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "alerts.log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(log), p, 4, 500)) for p in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 8000
    titles = set()
    for line in lines:
        assert LINE.match(line), line[:200]
        titles.add(line.split("] ", 2)[2].split(":", 1)[0])
    assert len(titles) == 8000  # every alert exactly once


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.text(), message=st.text(), context=st.dictionaries(st.text(), st.text() | st.integers()))
def test_hostile_text_one_line_per_alert(tmp_path: Path, title: str, message: str, context: dict[str, Any]) -> None:
    log = tmp_path / f"h{os.getpid()}.log"
    log.unlink(missing_ok=True)
    with emitter_for(log) as emitter:
        emitter.emit("warning", title, message, context)
    data = log.read_bytes()
    assert data.count(b"\n") == 1
    text = data.decode("utf-8")  # always valid UTF-8
    assert len(text.splitlines()) == 1


# -- issue 9 item 5: no alert line glued to a partial one -----------------------------------


def test_file_left_mid_line_gets_the_next_alert_on_a_fresh_line(tmp_path: Path) -> None:
    log = tmp_path / "alerts.log"
    log.write_bytes(b"[2026-01-01T00:00:00Z] [WARNING] cut short by a full disk: mmm")  # no newline
    with emitter_for(log) as emitter:
        emitter.emit("warning", "next", "m")
        emitter.emit("warning", "then", "m")
    lines = log.read_text().splitlines()
    assert lines[0].endswith("mmm")
    assert [line.split("] ", 2)[2] for line in lines[1:]] == ["next: m", "then: m"]
    assert all(LINE.match(line) for line in lines[1:])


def test_dev_full_counts_each_alert_failed_and_never_raises(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this platform")
    with emitter_for(Path("/dev/full")) as emitter:
        for i in range(3):
            emitter.emit("warning", f"fill {i}", "m")  # ENOSPC with nothing written, every time
        stats = emitter.stats()["sinks"]["file"]
    assert stats["failures"] == 3
    assert stats["written"] == 0
    assert "No space left" in stats["last_error"]
