"""tocsin installed for real: wheels in a fresh virtualenv, discovery through entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tocsin depends on tomli there
    import tomli as tomllib

pytestmark = pytest.mark.slow


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("TOCSIN_", "ATOCORE_", "VIRTUAL_ENV", "PYTHON"))}
    return {**base, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"), **extra}


def run(bindir: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bindir / "tocsin"), *args], cwd=tmp_path, env=clean_env(tmp_path, **env),
                          capture_output=True, text=True, timeout=120)


def sinks(bindir: Path, tmp_path: Path, **env: str) -> dict[str, dict]:  # type: ignore[type-arg]
    result = run(bindir, tmp_path, "sinks", "--json", **env)
    # 1 when an enabled sink failed to load (the "broken" one, unless disabled)
    assert result.returncode in (0, 1), result.stderr
    return {s["name"]: s for s in json.loads(result.stdout)}


def test_discovery_lists_every_sink_and_reports_the_broken_one(fresh_venv: Path, tmp_path: Path) -> None:
    found = sinks(fresh_venv, tmp_path)
    assert {"file", "state", "acme", "broken", "raising"} <= set(found)
    assert found["file"]["distribution"] == "tocsin-sink-file"
    assert found["acme"]["distribution"] == "tocsin-sink-acme"
    assert found["acme"]["version"] == "1.0.0"
    assert all(found[n]["loaded"] for n in ("file", "state", "acme", "raising"))
    assert found["broken"]["loaded"] is False
    assert "ModuleNotFoundError" in found["broken"]["error"]
    human = run(fresh_venv, tmp_path, "sinks")
    assert human.returncode == 1  # an enabled sink failed to load
    assert "broken" in human.stdout
    assert "FAILED: ModuleNotFoundError" in human.stdout


def test_command_plugins_add_commands_and_a_broken_one_stops_nothing(fresh_venv: Path, tmp_path: Path) -> None:
    """tocsin.commands: `hello` comes from a plugin (global options before or after it); the
    broken plugin, which calls sys.exit() on import, is reported and every command still works."""
    help_text = run(fresh_venv, tmp_path, "--help")
    assert help_text.returncode == 0
    assert "hello" in help_text.stdout
    assert "last" in help_text.stdout
    assert "command plugin 'broken-cmd' (tocsin-cmd-broken) failed to load: SystemExit: 3" in help_text.stderr
    hello = run(fresh_venv, tmp_path, "hello", "world", "--config", "x.toml", "-q")
    assert hello.returncode == 7, hello.stderr
    assert hello.stdout == "hello world (config=x.toml, quiet=True)\n"
    assert run(fresh_venv, tmp_path, "--config", "y.toml", "hello", "you").stdout.startswith("hello you (config=y.toml")
    emit = run(fresh_venv, tmp_path, "emit", "warning", "still works", "m")
    assert emit.returncode == 0, emit.stderr
    assert "still works" in (tmp_path / "state" / "tocsin" / "alerts.log").read_text()
    assert "broken-cmd" in emit.stderr
    assert run(fresh_venv, tmp_path, "sinks", "--json").returncode == 1  # the broken *sink*, not the command
    assert run(fresh_venv, tmp_path, "sinks", TOCSIN_DISABLE="broken").returncode == 0


def test_third_party_sink_receives_alerts_and_raising_sink_stops_nothing(fresh_venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "acme.txt"
    (tmp_path / "tocsin.toml").write_text(f'[sinks.acme]\npath = "{out}"\n')
    result = run(fresh_venv, tmp_path, "emit", "critical", "Replica lag", "42 s behind")
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("critical|Replica lag|")
    assert "Replica lag" in (tmp_path / "state" / "tocsin" / "alerts.log").read_text()
    assert "raising sink always fails" in result.stderr
    assert "sink=raising" in result.stderr


def test_disable_by_config_blocks_before_import(fresh_venv: Path, tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "tocsin.toml").write_text('[tocsin]\ndisable = ["acme"]\n')
    found = sinks(fresh_venv, tmp_path, ACME_IMPORT_MARKER=str(marker))
    assert found["acme"]["enabled"] is False
    assert found["acme"]["reason"] == "disabled by config"
    assert not marker.exists()
    # and enabled, the same module is imported
    (tmp_path / "tocsin.toml").write_text("")
    sinks(fresh_venv, tmp_path, ACME_IMPORT_MARKER=str(marker))
    assert marker.read_text() == "imported\n"


def test_enable_and_disable_by_environment(fresh_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "tocsin.toml").write_text('[tocsin]\nenable = ["file"]\n')
    found = sinks(fresh_venv, tmp_path, TOCSIN_ENABLE="acme,state")
    loaded = {n for n, s in found.items() if s["loaded"]}
    assert loaded == {"acme", "state"}
    found = sinks(fresh_venv, tmp_path, TOCSIN_DISABLE="file,broken")
    assert found["file"]["enabled"] is False
    assert found["broken"]["enabled"] is False
    assert found["broken"]["error"] is None  # disabled, so never even tried


def test_every_distribution_ships_py_typed(fresh_venv: Path) -> None:
    plugins = Path(__file__).resolve().parent.parent / "plugins"
    # Each distribution's import package, from its own wheel settings (not every one is a sink).
    wheel = [tomllib.loads((d / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
             for d in plugins.iterdir() if (d / "pyproject.toml").exists()]
    packages = ["tocsin", *sorted(Path(w["packages"][0]).name for w in wheel)]
    assert len(packages) >= 6
    code = ("import importlib, importlib.resources as r, sys;"
            "print([m for m in sys.argv[1:]"
            " if not r.files(importlib.import_module(m)).joinpath('py.typed').is_file()])")
    result = subprocess.run([str(fresh_venv / "python"), "-c", code, *packages], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_seed_style_caller_with_atocore_alert_log(fresh_venv: Path, tmp_path: Path) -> None:
    log = tmp_path / "seed-logs" / "alerts.log"
    code = ("import tocsin; a = tocsin.emit_alert('WARNING', 'Queue', 'pile-up', {'depth': 312});"
            "print(a.severity, a.title)")
    result = subprocess.run([str(fresh_venv / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env=clean_env(tmp_path, ATOCORE_ALERT_LOG=str(log)), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("warning Queue")
    assert log.read_text().rstrip("\n").endswith('[WARNING] Queue: pile-up {"depth": 312}')
