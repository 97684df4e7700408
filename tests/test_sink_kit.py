"""The kit for third-party sinks: `tocsin new-sink`, installed for real, and a contract with teeth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tocsin.cli._scaffold import new_sink

pytestmark = pytest.mark.slow


def run_pytest(python: str, project: Path, *args: str, installed: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_", "PYTEST_"))}
    if not installed:
        env["PYTHONPATH"] = str(project / "src")
    return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def kit_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A fresh virtualenv with tocsin's wheels, pytest, and two generated sinks installed as generated."""
    base = tmp_path_factory.mktemp("kit")
    generated = {
        "pager": new_sink("pager", base / "tocsin-sink-pager"),
        "hook_two": new_sink("hook_two", base / "tocsin-sink-hook-two", network=True),
    }
    root = base / "venv"
    venv.EnvBuilder(with_pip=True).create(root)
    bindir = root / "bin"
    wheels = [str(w) for w in wheelhouse.glob("tocsin-*.whl")]
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--find-links", str(wheelhouse), *wheels, "pytest", *map(str, generated.values())],
                   check=True, timeout=600)
    return bindir, generated


def test_generated_sinks_are_discovered_once_installed(kit_venv: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    bindir, _ = kit_venv
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "s"),
           "XDG_CONFIG_HOME": str(tmp_path / "c")}
    run = subprocess.run([str(bindir / "tocsin"), "sinks", "--json"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=60, check=True)
    sinks = {s["name"]: s for s in json.loads(run.stdout)}
    assert sinks["pager"]["loaded"] is True
    assert sinks["pager"]["distribution"] == "tocsin-sink-pager"
    assert sinks["hook_two"]["loaded"] is True
    assert sinks["hook_two"]["status"] == {"configured": False}


@pytest.mark.parametrize("name", ["pager", "hook_two"])
def test_generated_sink_tests_pass_unchanged(kit_venv: tuple[Path, dict[str, Path]], name: str) -> None:
    bindir, generated = kit_venv
    result = run_pytest(str(bindir / "python"), generated[name])
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout
    assert "skipped" not in result.stdout  # the entry-point check ran too


def test_new_sink_refuses_bad_names_and_full_directories(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "tocsin", "new-sink"]
    assert subprocess.run([*cli, "Bad-Name", "--dir", str(tmp_path / "x")], capture_output=True).returncode == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    run = subprocess.run([*cli, "ok", "--dir", str(tmp_path / "full")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "not empty" in run.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


# Each breakage is a few lines put into a freshly generated sink; the contract test named must
# catch it. The same test passes on the sink as generated (the baseline below).
LOCAL_HOOK = "        line = json.dumps(alert.to_dict(), ensure_ascii=True) + \"\\n\"\n"
BREAKAGES = {
    "raises": (False, LOCAL_HOOK, "        raise RuntimeError('broken sink')\n" + LOCAL_HOOK,
               "test_hostile_alerts_never_raise"),
    "blocks": (False, LOCAL_HOOK, "        __import__('time').sleep(1.0)\n" + LOCAL_HOOK,
               "test_alert_emitted_returns_quickly"),
    "mutates": (False, LOCAL_HOOK, "        object.__setattr__(alert, 'title', alert.title + '!')\n" + LOCAL_HOOK,
                "test_alert_is_not_mutated"),
    "sends inline": (True, "    def render(", """    @tocsin.hookimpl
    def alert_emitted(self, alert: tocsin.Alert) -> None:  # posts on the caller's thread
        import urllib.request
        urllib.request.urlopen(urllib.request.Request(self.url, data=b"{}"), timeout=2)

    def render(""", "test_alert_emitted_returns_quickly"),
    "logs its url": (True, "        return [\n", """        import structlog
        structlog.get_logger().warning("posting", url=self.url)
        return [
""", "test_no_secret_in_logs_or_status"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_contract_catches_a_broken_sink(tmp_path: Path, breakage: str) -> None:
    network, anchor, replacement, contract_test = BREAKAGES[breakage]
    project = new_sink("victim", tmp_path / "victim", network=network)
    args = ["tests/test_contract.py", "-k", contract_test]

    baseline = run_pytest(sys.executable, project, *args, installed=False)
    assert baseline.returncode == 0, baseline.stdout[-3000:]

    module = project / "src" / "tocsin_sink_victim" / "__init__.py"
    source = module.read_text()
    assert anchor in source
    module.write_text(source.replace(anchor, replacement, 1))
    broken = run_pytest(sys.executable, project, *args, installed=False)
    assert broken.returncode == 1, broken.stdout[-3000:]
    assert f"FAILED tests/test_contract.py::TestVictimSinkContract::{contract_test}" in broken.stdout
