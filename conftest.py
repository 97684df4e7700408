"""Every test runs with its own state directory, so that no test writes the user's spool."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    # Config(environ={}) falls back to Path.home(), which reads HOME; subprocesses inherit both.
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("HOME", str(home))
