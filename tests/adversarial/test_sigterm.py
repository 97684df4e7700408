"""Item 13 of issue 9: what SIGTERM keeps, with and without ``install_sigterm_flush``.

Real processes, real signals: 50 alerts to the state sink's background writer, then SIGTERM.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(20),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]
RunPy = Callable[..., subprocess.CompletedProcess[str]]

EMIT_50 = """
import os, signal, sys, time
import tocsin
if "helper" in sys.argv:
    from tocsin import install_sigterm_flush
    install_sigterm_flush()
if "app-handler" in sys.argv:
    def app_handler(signum, frame):
        print("app handler ran", flush=True)
        raise SystemExit(7)
    signal.signal(signal.SIGTERM, app_handler)
    from tocsin import install_sigterm_flush
    install_sigterm_flush()
for i in range(50):
    tocsin.emit_alert("warning", f"a{i}", "m")
if "self" in sys.argv:
    os.kill(os.getpid(), signal.SIGTERM)  # right after emitting, as a supervisor may
    time.sleep(10)
print("ready", flush=True)
time.sleep(10)
"""


def _stored(tmp_path: Path) -> int:
    db = tmp_path / "state" / "tocsin" / "state.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM history").fetchone()[0])


def _terminate_when_ready(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    script = tmp_path / "emit50.py"
    script.write_text(EMIT_50)
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "ready\n", line
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out


def test_sigterm_with_the_helper_keeps_all_50(tmp_path: Path, scenario_env: Callable[..., dict[str, str]]) -> None:
    code, _ = _terminate_when_ready(tmp_path, scenario_env(TOCSIN_ENABLE="state"), "helper")
    assert code == 143  # exits as a shell reports SIGTERM
    assert _stored(tmp_path) == 50


def test_sigterm_right_after_emitting_with_the_helper_keeps_all_50(tmp_path: Path, run_py: RunPy) -> None:
    run = run_py(EMIT_50, "helper", "self", env={"TOCSIN_ENABLE": "state"})
    assert run.returncode == 143
    assert _stored(tmp_path) == 50


def test_sigterm_right_after_emitting_without_the_helper_loses_the_queue(tmp_path: Path, run_py: RunPy) -> None:
    """The documented default (docs/exit-paths.md): SIGTERM kills at once, no exit flush."""
    run = run_py(EMIT_50, "self", env={"TOCSIN_ENABLE": "state"})
    assert run.returncode == -signal.SIGTERM
    assert _stored(tmp_path) < 50  # the background writer's queue died with the process


def test_an_application_sigterm_handler_is_chained_after_the_flush(tmp_path: Path,
                                                                   scenario_env: Callable[..., dict[str, str]]) -> None:
    code, out = _terminate_when_ready(tmp_path, scenario_env(TOCSIN_ENABLE="state"), "app-handler")
    assert "app handler ran" in out
    assert code == 7  # the application's handler decided
    assert _stored(tmp_path) == 50


EXIT_PATHS = """
import os, sys
import tocsin
for i in range(50):
    tocsin.emit_alert("warning", f"a{i}", "m")
how = sys.argv[1]
if how == "sys.exit":
    sys.exit(3)
if how == "raise":
    raise RuntimeError("crash")
if how == "os._exit":
    os._exit(4)
"""


@pytest.mark.parametrize(("how", "code", "state_keeps_all"), [
    ("normal", 0, True), ("sys.exit", 3, True), ("raise", 1, True), ("os._exit", 4, False)])
def test_what_each_exit_path_keeps(tmp_path: Path, run_py: RunPy, how: str, code: int, state_keeps_all: bool) -> None:
    """The table of docs/exit-paths.md: the file sink writes before emit_alert returns, so it
    keeps every alert on every path; the state sink's writer is flushed by the exit flush only."""
    run = run_py(EXIT_PATHS, how, env={"TOCSIN_ENABLE": "file,state"})
    assert run.returncode == code
    log = tmp_path / "state" / "tocsin" / "alerts.log"
    assert len(log.read_text().splitlines()) == 50
    assert (_stored(tmp_path) == 50) is state_keeps_all
