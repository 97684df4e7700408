"""Hostile matchers and a hostile repeats store (issue 10): found by the adversarial run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(30)
RunPy = Callable[..., subprocess.CompletedProcess[str]]


def test_a_catastrophic_matcher_regex_does_not_block_the_caller(tmp_path: Path, run_py: RunPy) -> None:
    """BUG (fixed): matchers ran with Python's backtracking ``re`` on the caller's thread, where
    ``title=~(a+)+b`` against a 26-character title cost ``emit_alert`` 2 s, doubling with each
    further character (40 characters: hours). They are RE2 now, as Alertmanager's are: linear time."""
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


# Patterns RE2 refuses (Python's re refused the first two with OverflowError and RecursionError,
# which escaped; RE2 reads the first as literal text and nests the second fine).
@pytest.mark.parametrize("regex", ["(?<=a)b", "[z-a]", "a{1001}"])
def test_a_regex_that_re_cannot_compile_costs_only_its_own_instance(
        tmp_path: Path, run_py: RunPy, scenario_env: Callable[..., dict[str, str]], regex: str) -> None:
    """BUG (fixed): ``parse_matcher`` caught ``re.error`` only; ``re.compile`` raises ``OverflowError`` for a
    repetition count over 4 G and ``RecursionError`` for deep nesting. The exception escaped sink
    discovery (``tocsin.discovery_failed``): every instance after the bad one (here ``good``, a
    valid webhook) was silently not loaded, ``tocsin sinks`` did not list it and exited 0, and
    ``tocsin config --check`` said "problems: none"."""
    from tocsin.testing import Receiver

    with Receiver() as bad_rx, Receiver() as good_rx:
        (tmp_path / "tocsin.toml").write_text(
            '[tocsin]\nenable = ["bad", "good"]\n'
            f'[sinks.bad]\ntype = "webhook"\nurl = "{bad_rx.url_for("/b")}"\nmatchers = ["title=~{regex}"]\n'
            f'[sinks.good]\ntype = "webhook"\nurl = "{good_rx.url_for("/g")}"\n')
        run = run_py("""
            import tocsin
            tocsin.emit_alert("critical", "db down", "m")
        """)
        assert run.returncode == 0, run.stderr
        assert len(good_rx.requests) == 1, "the valid instance got nothing"
        assert bad_rx.requests == [], "an instance with a bad matcher receives nothing, not everything"
    check = subprocess.run([sys.executable, "-m", "tocsin", "config", "--check"], cwd=tmp_path, env=scenario_env(),
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 1, check.stdout
    assert "bad" in check.stdout + check.stderr
