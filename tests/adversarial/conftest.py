"""The adversarial suite: faults and hostile environments, each in a real process.

Every scenario runs tocsin in a fresh interpreter (``run_py``) with a private HOME, state and
config directory, so that nothing of the developer's machine leaks in and nothing leaks out.
Each test is bounded (``pytest.mark.timeout`` in every module, subprocess timeouts here).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

RunPy = Callable[..., subprocess.CompletedProcess[str]]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a scenario: no TOCSIN_/ATOCORE_ variable of the developer's, a private home."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    return {**base, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture
def run_py(tmp_path: Path) -> RunPy:
    """Run a Python script (dedented) in a fresh interpreter in ``tmp_path``; returns the
    completed process (stdout and stderr as text). ``env`` adds variables; ``timeout`` (s)
    bounds it; ``args`` are passed to the script."""

    def run(code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 15.0,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        script = tmp_path / "scenario.py"
        script.write_text(textwrap.dedent(code))
        return subprocess.run(
            [sys.executable, str(script), *args], cwd=tmp_path, env=clean_env(tmp_path, **(env or {})),
            capture_output=True, text=True, timeout=timeout, check=check,
        )

    return run


@pytest.fixture
def scenario_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Build the environment a scenario's process runs with (for Popen-based scenarios)."""
    return lambda **extra: clean_env(tmp_path, **extra)
