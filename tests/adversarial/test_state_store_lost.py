"""Item 4 of issue 9: the state database deleted or replaced while a process runs.

The sink must notice, recreate the store at its path, write there, and never count as written
an alert that is not in the file at the path."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(20)
RunPy = Callable[..., subprocess.CompletedProcess[str]]

SCRIPT = """
import json, os, shutil, sqlite3, sys
from pathlib import Path
import tocsin

how = sys.argv[1]
db = Path(os.environ["XDG_STATE_HOME"]) / "tocsin" / "state.db"
for i in range(5):
    tocsin.emit_alert("warning", f"before {i}", "m")
assert tocsin.flush(5)
if how == "delete":
    for suffix in ("", "-wal", "-shm"):  # what `rm state.db*` does
        Path(f"{db}{suffix}").unlink(missing_ok=True)
elif how == "delete-main-only":
    db.unlink()
elif how == "replace":
    # A restored backup (or another tool) put a different database at the path.
    fresh = db.with_name("other.db")
    sqlite3.connect(fresh).execute("CREATE TABLE unrelated (x)").connection.commit()
    os.replace(fresh, db)
for i in range(7):
    tocsin.emit_alert("critical", f"after {i}", "m")
tocsin.flush(5)
status = tocsin.get_default_emitter().stats()["sinks"]["state"]
print(json.dumps({"written": status["written"], "failed": status["failed"]}))
"""


def _titles(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [t for (t,) in conn.execute("SELECT title FROM history ORDER BY seq")]


@pytest.mark.parametrize("how", ["delete", "delete-main-only", "replace"])
def test_state_db_removed_while_running_is_recreated_and_counts_are_true(run_py: RunPy, tmp_path: Path,
                                                                         how: str) -> None:
    run = run_py(SCRIPT, how, env={"TOCSIN_ENABLE": "state"})
    assert run.returncode == 0, run.stderr
    counts = json.loads(run.stdout)
    db = tmp_path / "state" / "tocsin" / "state.db"
    titles = _titles(db)
    after = [t for t in titles if t.startswith("after")]
    assert after == [f"after {i}" for i in range(7)]  # the later alerts are in the file at the path
    # Nothing counted written that is not there: 5 went to the old file, 7 to the new one.
    assert counts == {"written": 12, "failed": 0}
    assert "tocsin.state_store_recreated" in run.stderr  # and it was said
