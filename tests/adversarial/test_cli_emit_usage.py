"""``tocsin emit`` never loses its alert to a usage error (issue 9, item 10): the real CLI in a
subprocess. Found by the adversarial run after the round."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("bad", [["--timeout", "-1"], ["--timeout", "soon"], ["--timeout", "1e999"],
                                 ["--since-v2-option"], ["--quiet=yes"]])
def test_a_usage_error_in_an_option_still_emits_then_exits_2(
        tmp_path: Path, scenario_env: Callable[..., dict[str, str]], bad: list[str]) -> None:
    """BUG (fixed): the README and issue 9 promise that ``tocsin emit`` emits the alert it was given even on
    a usage error, then exits 2; only a malformed ``--context`` pair did. A negative or unparsable
    ``--timeout``, or an option that this version does not know (a cron line written for a newer
    tocsin), made argparse exit 2 before anything was emitted: the cron job's alert was lost."""
    run = subprocess.run([sys.executable, "-m", "tocsin", "emit", *bad, "critical", "backup failed", "exit 3",
                          "-c", "job=nightly"], cwd=tmp_path, env=scenario_env(TOCSIN_ENABLE="file"),
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2, run.stderr
    log = tmp_path / "state" / "tocsin" / "alerts.log"
    assert log.exists(), run.stderr
    assert '[CRITICAL] backup failed: exit 3 {"job": "nightly"}' in log.read_text()
