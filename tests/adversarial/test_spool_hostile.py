"""The spool (issue 8) in a hostile environment: deleted, corrupt, unwritable, raced.

Real processes and a real loopback receiver; every run bounded.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.testing import Received, Receiver, Reply

pytestmark = [pytest.mark.timeout(60)]
RunPy = Callable[..., subprocess.CompletedProcess[str]]


class Switch:
    """503 until ``healthy`` is set, then 204: one URL for the emitting and the draining process."""

    def __init__(self) -> None:
        self.healthy = False
        self.ids: list[str] = []

    def __call__(self, request: Received) -> Reply:
        if not self.healthy:
            return Reply(503)
        self.ids.append(str(request.json().get("id")))
        return Reply(204)


def _config(tmp_path: Path, url: str, *, durable: bool, spool: str | None = None) -> Path:
    path = tmp_path / "tocsin.toml"
    head = "[tocsin]\nenable = [\"webhook\"]\n" + (f"spool = \"{spool}\"\n" if spool else "")
    path.write_text(f"{head}\n[sinks.webhook]\nurl = \"{url}\"\ndurable = {'true' if durable else 'false'}\n")
    return path


def _spool_deliver(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", "spool", "deliver", "--timeout", "15"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=40)


DURABLE_DELETE = """
import os, sys, time
from pathlib import Path
import tocsin
for i in range(5):
    tocsin.emit_alert("critical", f"before{i}", "m")
spool = Path(os.environ["XDG_STATE_HOME"]) / "tocsin" / "spool.db"
assert spool.exists(), "durable alerts are in the spool"
# a tmp cleaner, or an operator removing ~/.local/state/tocsin, while the process runs
for suffix in (("", "-wal", "-shm") if "delete" in sys.argv else ()):
    Path(str(spool) + suffix).unlink(missing_ok=True)
for i in range(5):
    tocsin.emit_alert("critical", f"after{i}", "m")
os._exit(0)  # as SIGKILL or the OOM killer: durable alerts must survive it
"""


def test_durable_alerts_survive_the_spool_file_being_deleted_mid_run(
        tmp_path: Path, run_py: RunPy, scenario_env: Callable[..., dict[str, str]]) -> None:
    """BUG (fixed): the spool kept its SQLite connection open on the deleted inode: every later durable write
    'succeeds' into a file no other process can see, and ``os._exit`` loses them without a word
    (the state sink was fixed for the same fault in issue 9, item 4)."""
    switch = Switch()
    with Receiver(switch) as receiver:
        _config(tmp_path, receiver.url_for("/hook"), durable=True)
        run = run_py(DURABLE_DELETE, "delete")
        assert run.returncode == 0, run.stderr
        switch.healthy = True
        _spool_deliver(tmp_path, scenario_env())
    # The spool notices the deletion and carries its rows over to a fresh file: all ten arrive.
    assert len(set(switch.ids)) == 10, f"delivered: {len(set(switch.ids))} of 10"


def test_durable_alerts_survive_os_exit(tmp_path: Path, run_py: RunPy,
                                        scenario_env: Callable[..., dict[str, str]]) -> None:
    """The control for the test above: no deletion, all ten delivered by ``tocsin spool deliver``."""
    switch = Switch()
    with Receiver(switch) as receiver:
        _config(tmp_path, receiver.url_for("/hook"), durable=True)
        run = run_py(DURABLE_DELETE)
        assert run.returncode == 0, run.stderr
        switch.healthy = True
        deliver = _spool_deliver(tmp_path, scenario_env())
    assert deliver.returncode == 0, deliver.stdout + deliver.stderr
    assert len(set(switch.ids)) == 10


EMIT_20 = """
import tocsin
for i in range(20):
    tocsin.emit_alert("warning", f"t{i}", "m")
"""


def test_a_corrupt_spool_file_is_set_aside_not_fatal(
        tmp_path: Path, run_py: RunPy, scenario_env: Callable[..., dict[str, str]]) -> None:
    """BUG (fixed): a spool file that is not a database (a torn copy, a disk error, a wrong path) made every
    later exit lose what it had to spool (``tocsin.delivery_abandoned ... note='no spool configured'``),
    and ``tocsin spool`` / ``tocsin spool deliver`` die with a ``sqlite3.DatabaseError`` traceback."""
    spool = tmp_path / "state" / "tocsin" / "spool.db"
    spool.parent.mkdir(parents=True)
    spool.write_bytes(b"not a database " * 500)
    switch = Switch()
    with Receiver(switch) as receiver:
        config = _config(tmp_path, receiver.url_for("/hook"), durable=False)
        config.write_text(config.read_text().replace("[tocsin]\n", "[tocsin]\nflush_timeout = 0.5\n"))
        run = run_py(EMIT_20)
        assert run.returncode == 0, run.stderr
        listing = subprocess.run([sys.executable, "-m", "tocsin", "spool"], cwd=tmp_path, env=scenario_env(),
                                 capture_output=True, text=True, timeout=30)
        assert "Traceback" not in listing.stderr, listing.stderr
        switch.healthy = True
        deliver = _spool_deliver(tmp_path, scenario_env())
        assert "Traceback" not in deliver.stderr, deliver.stderr
    assert len(set(switch.ids)) == 20, f"delivered {len(set(switch.ids))} of 20"
    assert list(spool.parent.glob("spool.db.corrupt*")), "the corrupt file is kept for a post-mortem"
