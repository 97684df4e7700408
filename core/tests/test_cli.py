"""The tocsin command, run for real in subprocesses against the installed sinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    return {**base, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "HOME": str(tmp_path)}


def tocsin(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_emit_then_last(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, env, "emit", "CRITICAL", "Backup failed", "rsync exit 23",
                 "--context", "job=nightly", "-c", "attempt=3", "-c", 'tags=["a","b"]')
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # stdout stays clean for scripts; the event goes to stderr
    assert "Backup failed" in run.stderr
    log = (tmp_path / "state" / "tocsin" / "alerts.log").read_text()
    expected = '[CRITICAL] Backup failed: rsync exit 23 {"job": "nightly", "attempt": 3, "tags": ["a", "b"]}\n'
    assert log.endswith(expected)
    last = tocsin(tmp_path, env, "last", "--json")
    assert last.returncode == 0, last.stderr
    data = json.loads(last.stdout)
    assert set(data) == {"critical"}
    assert data["critical"]["title"] == "Backup failed"
    assert data["critical"]["context"] == {"job": "nightly", "attempt": 3, "tags": ["a", "b"]}
    human = tocsin(tmp_path, env, "last")
    assert "critical" in human.stdout
    assert "Backup failed: rsync exit 23" in human.stdout


def test_sinks_lists_each_with_reason(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "tocsin.toml").write_text('[tocsin]\ndisable = ["state"]\n')
    run = tocsin(tmp_path, env, "sinks", "--json")
    assert run.returncode == 0, run.stderr
    sinks = {s["name"]: s for s in json.loads(run.stdout)}
    assert sinks["file"]["loaded"] is True
    assert sinks["file"]["distribution"] == "tocsin-sink-file"
    assert sinks["file"]["status"]["target"].endswith("alerts.log")
    assert sinks["state"]["enabled"] is False
    assert sinks["state"]["reason"] == "disabled by config"
    human = tocsin(tmp_path, env, "sinks")
    assert "disabled: disabled by config" in human.stdout


def test_env_enable_overrides(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, {**env, "TOCSIN_ENABLE": "state"}, "sinks", "--json")
    sinks = {s["name"]: s for s in json.loads(run.stdout)}
    assert sinks["file"]["enabled"] is False
    assert sinks["state"]["loaded"] is True


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[tocsin\n", "invalid TOML"),
        ('[sinks.file]\nmin_severity = "loud"\n', "sinks.file.min_severity: unknown severity 'loud'"),
        ("[sinks.state]\nhistory = \"many\"\n", "sinks.state.history: expected an integer"),
    ],
)
def test_config_error_exit_2_with_file_key_problem(tmp_path: Path, env: dict[str, str], toml: str,
                                                   expected: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    run = tocsin(tmp_path, env, "--config", str(config), "sinks")
    assert run.returncode == 2
    assert str(config) in run.stderr
    assert expected in run.stderr
    # emit still delivers with defaults, then reports the error
    emit = tocsin(tmp_path, env, "--config", str(config), "emit", "warning", "still sent", "m")
    assert emit.returncode == 2
    assert "still sent" in (tmp_path / "state" / "tocsin" / "alerts.log").read_text()


def test_unknown_key_warns_but_succeeds(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "tocsin.toml").write_text('[sinks.file]\ncolour = "red"\n')
    run = tocsin(tmp_path, env, "sinks")
    assert run.returncode == 0
    assert "sinks.file.colour: unknown key" in run.stderr


def test_test_command_reports_each_sink(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, env, "test", "--json")
    assert run.returncode == 0, run.stderr
    checks = {c["name"]: c for c in json.loads(run.stdout)}
    assert checks["file"]["ok"] is True
    assert checks["state"]["ok"] is True
    # a file sink that cannot write fails the test, and says why
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    (tmp_path / "tocsin.toml").write_text(f'[sinks.file]\npath = "{blocker}/sub/alerts.log"\n')
    run = tocsin(tmp_path, env, "test")
    assert run.returncode == 1
    assert "file       FAILED" in run.stdout


def test_usage_errors(tmp_path: Path, env: dict[str, str]) -> None:
    assert tocsin(tmp_path, env).returncode == 2
    version = tocsin(tmp_path, env, "--version")
    assert version.stdout.startswith("tocsin ")
    assert tocsin(tmp_path, env, "emit", "info", "t", "m", "--timeout", "-1").returncode == 2


@pytest.mark.parametrize("pair", ["novalue", "=v"])
def test_a_malformed_context_pair_still_emits_then_exits_2(tmp_path: Path, env: dict[str, str], pair: str) -> None:
    run = tocsin(tmp_path, env, "emit", "warning", "cron failed", "exit 1", "-c", "job=nightly", "-c", pair)
    assert run.returncode == 2
    assert "expected KEY=VALUE" in run.stderr
    log = (tmp_path / "state" / "tocsin" / "alerts.log").read_text()
    assert '[WARNING] cron failed: exit 1 {"job": "nightly", "unparsed_context": ["' + pair + '"]}' in log


def test_global_options_before_or_after_the_command(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "elsewhere.toml").write_text('[tocsin]\nenable = ["file"]\n')
    before = tocsin(tmp_path, env, "--config", "elsewhere.toml", "sinks", "--json")
    after = tocsin(tmp_path, env, "sinks", "--json", "--config", "elsewhere.toml")
    for run in (before, after):
        assert run.returncode == 0, run.stderr
        enabled = {row["name"] for row in json.loads(run.stdout) if row["enabled"]}
        assert enabled == {"file"}


def test_quiet_emit_prints_nothing_when_all_is_well(tmp_path: Path, env: dict[str, str]) -> None:
    for args, extra in ((["-q"], {}), (["--quiet"], {}), ([], {"TOCSIN_QUIET": "1"})):
        run = tocsin(tmp_path, {**env, **extra}, "emit", "info", "nightly ok", "m", *args)
        assert run.returncode == 0
        assert (run.stdout, run.stderr) == ("", "")
    assert (tmp_path / "state" / "tocsin" / "alerts.log").read_text().count("nightly ok") == 3


def test_last_reads_only_and_says_what_it_looked_at(tmp_path: Path, env: dict[str, str]) -> None:
    """``tocsin last`` comes from the state plugin: with no store it creates nothing and says
    where it looked, even with the state sink disabled."""
    for extra in ({}, {"TOCSIN_DISABLE": "state"}):
        run = tocsin(tmp_path, {**env, **extra}, "last")
        assert run.returncode == 1
        assert f"no state store at {tmp_path / 'state' / 'tocsin' / 'state.db'}" in run.stderr
        assert "pip install" not in run.stderr
        assert not (tmp_path / "state").exists()


def test_last_names_the_project_it_looked_for(tmp_path: Path, env: dict[str, str]) -> None:
    assert tocsin(tmp_path, env, "emit", "info", "t", "m").returncode == 0
    (tmp_path / "tocsin.toml").write_text('[tocsin]\nproject = "other"\n')
    run = tocsin(tmp_path, env, "last")
    assert run.returncode == 0, run.stderr
    assert "no alerts recorded yet for project 'other'" in run.stdout
    assert "it holds alerts of project atocore" in run.stdout
