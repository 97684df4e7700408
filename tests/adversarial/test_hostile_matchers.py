"""Hostile matchers and a hostile repeats store (issue 10): found by the adversarial run."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(30)
RunPy = Callable[..., subprocess.CompletedProcess[str]]


@pytest.mark.xfail(strict=True, raises=subprocess.TimeoutExpired,
                   reason="BUG (not fixed): a backtracking matcher regex blocks emit_alert for minutes")
def test_a_catastrophic_matcher_regex_does_not_block_the_caller(tmp_path: Path, run_py: RunPy) -> None:
    """BUG: matchers run with Python's backtracking ``re`` on the caller's thread. Alertmanager's
    matchers are RE2 (linear time), so a regex copied from an Alertmanager config such as
    ``title=~(a+)+b`` is harmless there; here a 26-character title costs ``emit_alert`` 2 s, and each
    further character doubles it (40 characters: hours). ``emit_alert`` must never block."""
    (tmp_path / "tocsin.toml").write_text(
        '[tocsin]\nenable = ["file", "hookx"]\n[sinks.hookx]\ntype = "webhook"\nurl = "http://127.0.0.1:9/h"\n'
        'matchers = ["title=~(a+)+b"]\n')
    run = run_py("""
        import tocsin
        tocsin.emit_alert("warning", "a" * 40 + "c", "m")
        print("returned", flush=True)
        import os; os._exit(0)
    """, timeout=8)
    assert "returned" in run.stdout
